"""The cross-SDK conformance suites, run through the real client in on-device mode.

One test per case (`SUITE::case`), from `$TARGET_CONFORMANCE_DIR` (default
`<repo>/../shared/conformance`; its README gives the rules). Every case downloads its
artifact over real HTTP from a local CDN, asks the geo service there when the case mocks
it, and has its notification request checked as the local edge received it.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from target_async import AsyncTargetClient, DecisioningMethod
from target_async._serde import unstructure
from target_async.testing import LocalEdge
from tests.conformance.local_cdn import LocalCdn, routed_transport
from tests.conformance.schema import CONFORMANCE_DIR, cases, mismatches, mock_epoch_seconds

DELIVERY_PATH = "/rest/v1/delivery"
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _client_options(conf: dict[str, Any]) -> dict[str, Any]:
    """The JavaScript SDK's camelCase configuration in this SDK's option names."""
    return {_CAMEL.sub("_", key).lower(): value for key, value in conf.items()}


def test_the_suites_are_there() -> None:
    assert len(cases()) == 51


@pytest.mark.anyio
@pytest.mark.parametrize(("suite", "case"), cases())
async def test_conformance(
    suite: dict[str, Any], case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    artifact_name = case.get("artifact", suite.get("artifact"))
    conf = case.get("conf", suite.get("conf"))
    options = case["input"]

    async with LocalEdge(client=conf["client"]) as edge, LocalCdn() as cdn:
        artifact_path = f"/{conf['client']}/production/v1/rules.json"
        cdn.serve(
            artifact_path, (CONFORMANCE_DIR / "artifacts" / f"{artifact_name}.json").read_bytes()
        )
        cdn.geo = case.get("mockGeo")
        client_options = _client_options(conf) | {
            "decisioning_method": DecisioningMethod.ON_DEVICE,
            "transport": routed_transport(edge, cdn),
        }
        async with AsyncTargetClient.create(client_options) as client:
            if "mockDate" in case:
                # Like Jest's mocked Date: the whole clock, for the call.
                frozen = mock_epoch_seconds(case["mockDate"])
                monkeypatch.setattr(time, "time", lambda: frozen)
            result = await client.get_offers(
                request=options["request"],
                session_id=options.get("sessionId"),
                target_location_hint=options.get("locationHint"),
            )
            monkeypatch.undo()
            assert await client.flush()  # the background notification request is delivered
            deliveries = [request for request in edge.requests if request.path == DELIVERY_PATH]

    assert len(cdn.requests_to(artifact_path)) == 1
    assert result.meta.decisioning_method == "on-device"
    if "output" in case:
        problems = list(mismatches(case["output"], unstructure(result.response)))
        assert not problems, "\n".join(problems)
    if "mockGeo" in case:
        lookups = cdn.requests_to("/v1/geo")
        assert [lookup.headers.get("x-forwarded-for") for lookup in lookups] == [
            options["request"]["context"]["geo"]["ipAddress"]
        ]
    if "notificationOutput" in case:
        expected = case["notificationOutput"]
        if expected is None:
            assert deliveries == []
        else:
            assert len(deliveries) == 1
            problems = list(mismatches(expected, {"request": deliveries[0].json}))
            assert not problems, "\n".join(problems)
