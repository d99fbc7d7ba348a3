"""On-device decisioning: the pure engine, and the client's on-device `get_offers`.

Uses the small AB_SIMPLE conformance artifact and the ~750 KB real-world `artifact.json`
from the shared conformance data. Skipped (with a log line) when the engine or the data
is not there.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from benchmarks._harness import Edge, Row, Settings, median, row
from benchmarks.edge_server import CLIENT, ORGANIZATION_ID
from target_async import AsyncTargetClient

__all__ = ["ARTIFACTS", "run"]

CONFORMANCE = Path("/work/shared/conformance")
ARTIFACTS = {
    "AB_SIMPLE": CONFORMANCE / "artifacts" / "TEST_ARTIFACT_AB_SIMPLE.json",
    "750 KB artifact.json": CONFORMANCE / "artifact.json",
}
MBOX = "mbox-magician"  # in both artifacts
_CONTEXT: dict[str, Any] = {
    "channel": "web",
    "address": {"url": "https://shop.example.com/products/42"},
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    # Both artifacts target geo: a known location means no lookup.
    "geo": {
        "city": "SAN FRANCISCO",
        "countryCode": "US",
        "stateCode": "CA",
        "latitude": 37.75,
        "longitude": -122.4,
    },
}
# One returning visitor: its display notifications coalesce in the background pipeline,
# so thousands of decisions a second do not outrun it (distinct visitors would). No
# location hint in the id (".28_0"): the notifications must go to `server_domain`, the
# local edge, never to a real edge cluster.
VISITOR = {"tntId": "338e3c1e51f7416a8e1ccba4f81acea0"}
EXECUTE_MBOX: dict[str, Any] = {
    "id": VISITOR,
    "context": _CONTEXT,
    "execute": {"mboxes": [{"name": MBOX, "index": 1}]},
}
EXECUTE_PAGE_LOAD: dict[str, Any] = {**EXECUTE_MBOX, "execute": {"pageLoad": {}}}


def _per_call_us(action: Callable[[], object], settings: Settings) -> float:
    samples = []
    for _ in range(max(settings.runs, 3)):
        started = time.perf_counter()
        for _ in range(settings.micro_repeat):
            action()
        samples.append((time.perf_counter() - started) / settings.micro_repeat * 1e6)
    return median(samples)


async def _per_call_us_async(
    action: Callable[[], Awaitable[object]],
    settings: Settings,
    between_samples: Callable[[], Awaitable[object]] | None = None,
) -> float:
    samples = []
    for _ in range(max(settings.runs, 3)):
        if between_samples is not None:
            await between_samples()  # not timed
        started = time.perf_counter()
        for _ in range(settings.micro_repeat):
            await action()
        samples.append((time.perf_counter() - started) / settings.micro_repeat * 1e6)
    return median(samples)


def _engine_rows(name: str, content: bytes, settings: Settings, decisioning: Any) -> list[Row]:
    raw = json.loads(content)
    artifact = decisioning.compile_artifact(raw)
    request = {"requestId": "r-1", **EXECUTE_MBOX}
    page_load = {"requestId": "r-1", **EXECUTE_PAGE_LOAD}

    def decide(body: dict[str, Any]) -> Callable[[], object]:
        return lambda: decisioning.decide(artifact, body, client=CLIENT, session_id="s-1")

    return [
        row(
            f"engine: load (JSON) + compile_artifact, {name}",
            _per_call_us(
                lambda: decisioning.compile_artifact(json.loads(content)),
                settings.scaled(micro_repeat=max(1, settings.micro_repeat // 50)),
            )
            / 1000,
            "ms",
            group="on-device",
        ),
        row(
            f"engine: decide one mbox, {name}",
            _per_call_us(decide(request), settings),
            "µs/call",
            group="on-device",
        ),
        row(
            f"engine: decide pageLoad, {name}",
            _per_call_us(decide(page_load), settings),
            "µs/call",
            group="on-device",
        ),
    ]


async def _client_rows(name: str, raw: dict[str, Any], settings: Settings, edge: Edge) -> list[Row]:
    options = {
        "client": CLIENT,
        "organization_id": ORGANIZATION_ID,
        "server_domain": edge.server_domain,
        "secure": False,
        "decisioning_method": "on-device",
        "artifact_payload": raw,
    }
    started = time.perf_counter()
    async with AsyncTargetClient.create(options) as client:
        ready_ms = (time.perf_counter() - started) * 1000

        def get_offers(body: dict[str, Any]) -> Callable[[], Awaitable[object]]:
            return lambda: client.get_offers({"request": body, "session_id": "s-1"})

        async def get_offers_and_read_response() -> object:
            # A local decision's `response` models are built on first access: this shows
            # what reading them adds.
            result = await client.get_offers({"request": EXECUTE_MBOX, "session_id": "s-1"})
            return result.response

        # Each call queues a display notification: stay well under the pipeline's queue
        # (10,000), which thousands of decisions a second would otherwise fill.
        fewer = settings.scaled(micro_repeat=max(1, settings.micro_repeat // 4))
        # The calls of a sample never yield, so the pipeline sends nothing meanwhile; between
        # samples it sends what they queued, so each sample starts from an empty queue.
        mbox_us = await _per_call_us_async(get_offers(EXECUTE_MBOX), fewer, client.flush)
        mbox_read_us = await _per_call_us_async(get_offers_and_read_response, fewer, client.flush)
        page_load_us = await _per_call_us_async(get_offers(EXECUTE_PAGE_LOAD), fewer, client.flush)
    return [
        row(f"client: create → ready, {name}", ready_ms, "ms", group="on-device"),
        row(
            f"client: on-device get_offers one mbox, {name}", mbox_us, "µs/call", group="on-device"
        ),
        row(
            f"client: on-device get_offers one mbox + read result.response, {name}",
            mbox_read_us,
            "µs/call",
            group="on-device",
        ),
        row(
            f"client: on-device get_offers pageLoad, {name}",
            page_load_us,
            "µs/call",
            group="on-device",
        ),
    ]


def run(settings: Settings, edge: Edge, log: list[str]) -> list[Row]:
    try:
        decisioning = importlib.import_module("target_async.decisioning")
    except ImportError as error:
        log.append(f"on-device: skipped, the engine does not import ({error})")
        return []
    rows: list[Row] = []
    for name, path in ARTIFACTS.items():
        if not path.exists():
            log.append(f"on-device: skipped {name}, {path} is missing")
            continue
        content = path.read_bytes()
        rows += _engine_rows(name, content, settings, decisioning)
        rows += anyio.run(_client_rows, name, json.loads(content), settings, edge)
    return rows + _goal_rows(rows)


# Issue #4's targets: (row, goal) with the goal in the row's unit, at most.
GOALS = (
    ("client: on-device get_offers one mbox, AB_SIMPLE", 50.0),
    ("client: on-device get_offers one mbox, 750 KB artifact.json", 300.0),
    ("client: on-device get_offers pageLoad, 750 KB artifact.json", 300.0),
    ("engine: load (JSON) + compile_artifact, 750 KB artifact.json", 15.0),
)


def _goal_rows(rows: list[Row]) -> list[Row]:
    measured = {r["scenario"]: r for r in rows}
    goals = []
    for scenario, goal in GOALS:
        found = measured.get(scenario)
        if found is not None:
            goals.append(
                row(
                    scenario,
                    found["value"],
                    found["unit"].removesuffix("/call"),
                    group="goal",
                    goal=f"≤ {goal:g} {found['unit'].removesuffix('/call')}",
                    met=found["value"] <= goal,
                )
            )
    return goals
