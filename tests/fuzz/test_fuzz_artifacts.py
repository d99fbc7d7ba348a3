"""The cross-SDK conformance artifacts, mutated at random and given as `artifact_payload`: the
client either uses the artifact (decisions succeed, or fail with a `TargetError`) or refuses
it (on-device calls raise `ArtifactNotReadyError`); it never fails to open or close, and its
notifications go to the configured host or an Adobe edge cluster only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fuzzing import FUZZ, assert_edge_host, hostile_values, mutated, paths_of
from hypothesis import given
from hypothesis import strategies as st

from target_async import ArtifactNotReadyError, AsyncTargetClient, TargetError, TargetEvent
from tests.conformance.schema import CONFORMANCE_DIR

CONFIGURED_HOST = "demo.tt.omtrdc.net"
# The artifacts of the suites (the 750 KB one is left to the conformance runs).
ARTIFACTS = {
    path.stem: json.loads(path.read_text(encoding="utf-8"))
    for path in sorted((CONFORMANCE_DIR / "artifacts").glob("*.json"))
}


def _request(artifact: Any) -> dict[str, Any]:
    """A request for some of what the artifact decides: its first mboxes, its views, a pageLoad."""
    names = artifact.get("localMboxes") if isinstance(artifact, dict) else None
    mboxes = [name for name in names if isinstance(name, str) and name][:3] if isinstance(names, list) else []
    return {
        "id": {"tntId": "338e3c1e51f7416a8e1ccba4f81acea0.28_0"},
        "context": {
            "channel": "web",
            "address": {"url": "https://shop.example/products?x=1"},
            "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15",
            "geo": {"countryCode": "US", "stateCode": "CA", "city": "SAN JOSE", "latitude": 37.3, "longitude": -121.9},
        },
        "execute": {"pageLoad": {}, "mboxes": [{"name": name, "index": i} for i, name in enumerate(mboxes, 1)] or None},
        "prefetch": {"views": [{}]},
    }


@pytest.fixture(scope="module")
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal("asyncio") as portal:
        yield portal


async def _use(artifact: Any) -> None:
    hosts: list[str] = []
    events: list[TargetEvent] = []

    def edge(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return httpx.Response(200, json={"status": 200})

    options = {
        "client": "demo",
        "organization_id": "DEMO@AdobeOrg",
        "decisioning_method": "on-device",
        "artifact_payload": artifact,
        "polling_interval": 0,
        "transport": httpx.MockTransport(edge),
        "events": {"client_ready": events.append},
    }
    async with AsyncTargetClient.create(options) as client:
        for method in ("on-device", "hybrid"):
            try:
                result = await client.get_offers(request=_request(artifact), decisioning_method=method)
            except ArtifactNotReadyError:
                assert not events, "a client that announced it is ready must decide"
            except TargetError:
                pass
            else:
                assert result.response.status in (200, 206)
        assert await client.flush(5000)
    for host in hosts:
        assert_edge_host(host, CONFIGURED_HOST)


@FUZZ
@given(name=st.sampled_from(sorted(ARTIFACTS)), data=st.data())
def test_a_mutated_artifact_is_used_or_refused(portal: BlockingPortal, name: str, data: st.DataObject) -> None:
    artifact: Any = ARTIFACTS[name]
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        path = data.draw(st.sampled_from([path for path in paths_of(artifact) if path]), label="path")
        artifact = mutated(artifact, path, data.draw(hostile_values(), label="value"))
    portal.call(_use, artifact)


@pytest.mark.parametrize(
    "path",
    [
        ("rules", "mboxes", "target-global-mbox", 3, "consequence", "options", 0, "type"),
        ("rules", "mboxes", "target-global-mbox", 0, "consequence", "options", 0, "type"),
    ],
)
def test_an_artifact_whose_option_type_is_not_a_string_is_refused(portal: BlockingPortal, path: tuple[Any, ...]) -> None:
    # Found by the soak profile: it compiled, and reading a decision's `response` raised TypeError.
    artifact = mutated(ARTIFACTS["TEST_ARTIFACT_PROPERTIES"], path, True)
    events: list[TargetEvent] = []

    async def decide() -> None:
        options = {
            "client": "demo",
            "organization_id": "DEMO@AdobeOrg",
            "decisioning_method": "on-device",
            "artifact_payload": artifact,
            "polling_interval": 0,
            "events": {"client_ready": events.append},
        }
        async with AsyncTargetClient.create(options) as client:
            with pytest.raises(ArtifactNotReadyError, match=r"consequence\.options"):
                await client.get_offers(request=_request(artifact))

    portal.call(decide)
    assert not events
