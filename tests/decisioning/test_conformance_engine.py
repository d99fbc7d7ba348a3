"""The cross-SDK conformance suites, run against the pure decisioning engine.

One test per case (`SUITE::case`). The suites live in `$TARGET_CONFORMANCE_DIR`
(default: `<repo>/../shared/conformance`); see the README there for the matching rules.
"""

from __future__ import annotations

import functools
import json
import os
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
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

CONFORMANCE_DIR = Path(
    os.environ.get(
        "TARGET_CONFORMANCE_DIR",
        Path(__file__).resolve().parents[2].parent / "shared" / "conformance",
    )
)

_ANY = {
    "expect.any(Object)": lambda value: isinstance(value, (dict, list)),
    "expect.any(String)": lambda value: isinstance(value, str),
    "expect.any(Number)": lambda value: (
        isinstance(value, (int, float)) and not isinstance(value, bool)
    ),
}


def mismatches(expected: Any, actual: Any, path: str = "$") -> Iterator[str]:
    """Where `actual` does not match `expected` (objects: subset; arrays: same length; expect.any)."""
    if isinstance(expected, str) and expected in _ANY:
        if not _ANY[expected](actual):
            yield f"{path}: {actual!r} is not {expected}"
    elif isinstance(expected, dict):
        if not isinstance(actual, dict):
            yield f"{path}: expected an object, got {actual!r}"
            return
        for key, value in expected.items():
            if key not in actual:
                yield f"{path}.{key}: missing"
            else:
                yield from mismatches(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            yield f"{path}: expected an array of {len(expected)}, got {actual!r}"
            return
        for position, (item, actual_item) in enumerate(zip(expected, actual, strict=True)):
            yield from mismatches(item, actual_item, f"{path}[{position}]")
    elif expected != actual or _is_bool(expected) != _is_bool(actual):
        yield f"{path}: expected {expected!r}, got {actual!r}"


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _cases() -> Iterator[Any]:
    for suite_path in sorted((CONFORMANCE_DIR / "models").glob("*.json")):
        suite = json.loads(suite_path.read_text(encoding="utf-8"))
        for name, case in suite["test"].items():
            yield pytest.param(suite, case, id=f"{suite_path.stem}::{name}")


@functools.cache
def _artifact(name: str) -> tuple[CompiledArtifact, float]:
    """The compiled artifact and the time it took to read and compile it (ms)."""
    started = time.perf_counter()
    raw = json.loads((CONFORMANCE_DIR / "artifacts" / f"{name}.json").read_text(encoding="utf-8"))
    compiled = compile_artifact(raw)
    return compiled, (time.perf_counter() - started) * 1000


def _now_ms(mock_date: dict[str, int] | None) -> int | None:
    if mock_date is None:
        return None
    moment = datetime(
        mock_date["year"],
        mock_date["month"] + 1,  # JavaScript months are 0-based
        mock_date["date"],
        mock_date.get("hours", 0),
        mock_date.get("minutes", 0),
        mock_date.get("seconds", 0),
        tzinfo=timezone.utc,
    )
    return int(moment.timestamp() * 1000)


def test_the_suites_are_there() -> None:
    assert len(list(_cases())) == 51


@pytest.mark.parametrize(("suite", "case"), list(_cases()))
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
