"""The cross-SDK conformance suites, run against the pure decisioning engine.

One test per case (`SUITE::case`). The suites live in `$TARGET_CONFORMANCE_DIR`
(default: `<repo>/../shared/conformance`); see the README there for the matching rules.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from typing import Any

import pytest

from target_async.decisioning import (
    CompiledArtifact,
    artifact_telemetry_entry,
    compile_artifact,
    decide,
    geo_from_lookup,
    needs_geo_lookup,
    notification_request,
    telemetry_entry,
    with_geo,
)
from tests.conformance.schema import CONFORMANCE_DIR, cases, mismatches, mock_epoch_seconds


@functools.cache
def _artifact(name: str) -> tuple[CompiledArtifact, float]:
    """The compiled artifact and the time it took to read and compile it (ms)."""
    started = time.perf_counter()
    raw = json.loads((CONFORMANCE_DIR / "artifacts" / f"{name}.json").read_text(encoding="utf-8"))
    compiled = compile_artifact(raw)
    return compiled, (time.perf_counter() - started) * 1000


def _now_ms(mock_date: dict[str, int] | None) -> int | None:
    return None if mock_date is None else int(mock_epoch_seconds(mock_date) * 1000)


def test_the_suites_are_there() -> None:
    assert len(cases()) == 51


@pytest.mark.parametrize(("suite", "case"), cases())
def test_conformance(suite: dict[str, Any], case: dict[str, Any]) -> None:
    artifact, artifact_ms = _artifact(case.get("artifact") or suite["artifact"])
    conf: dict[str, Any] = case.get("conf") or suite["conf"]
    now_ms = _now_ms(case.get("mockDate"))
    options = case["input"]

    started = time.perf_counter()
    request = options["request"]
    if "mockGeo" in case and needs_geo_lookup(artifact, request):
        request = with_geo(request, geo_from_lookup(case["mockGeo"]))
    prepared = time.perf_counter()
    decision = decide(
        artifact,
        request,
        client=conf["client"],
        session_id=options.get("sessionId") or str(uuid.uuid4()),
        location_hint=options.get("locationHint"),
        now_ms=now_ms,
        property_token=conf.get("propertyToken"),
    )
    decided = time.perf_counter()

    if "output" in case:
        problems = list(mismatches(case["output"], decision.response))
        assert not problems, "\n".join(problems)

    if "notificationOutput" in case:
        entries = []
        if conf.get("telemetryEnabled", True):
            timestamp = now_ms if now_ms is not None else int(time.time() * 1000)
            entries = [
                artifact_telemetry_entry(execution_ms=artifact_ms, timestamp_ms=timestamp),
                telemetry_entry(
                    request,
                    decision.response,
                    decisioning_method="on-device",
                    execution_ms=(decided - prepared) * 1000,
                    parsing_ms=(prepared - started) * 1000,
                    timestamp_ms=timestamp,
                ),
            ]
        payload = notification_request(request, decision, telemetry_entries=entries)
        expected = case["notificationOutput"]
        if expected is None:
            assert payload is None
        else:
            assert payload is not None
            problems = list(mismatches(expected, payload))
            assert not problems, "\n".join(problems)
