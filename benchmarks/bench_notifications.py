"""Background notifications: what `enqueue_notifications` costs the caller, and how many
notifications per second the pipeline delivers, next to sequential `send_notifications`.

The edge is `benchmarks.edge_server` in its own process, so it does not compete with the
client for the interpreter; its CPU time is reported to show it was not the bottleneck.

Run: `python benchmarks/bench_notifications.py` (prints a markdown table); `run()` returns
the rows as dicts {scenario, value, unit, ratio?}.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from benchmarks._harness import Edge
from target_async import AsyncTargetClient
from target_async._delivery import validate_request
from target_async._options import CallOptions
from target_async.testing import DEFAULT_CLIENT, DEFAULT_ORGANIZATION_ID, EdgeTransport

ENQUEUE_GOAL_US = 5.0
ENQUEUE_CALLS = 5_000
SEQUENTIAL_SENDS = 1_000
COALESCED_NOTIFICATIONS = 10_000
DISTINCT_NOTIFICATIONS = 2_000
VISITORS = 1_000
REPEATS = 3


def _call(visitor: int, first_id: int, count: int = 1) -> dict[str, Any]:
    """The options of one call: a visitor (tntId and session, as from its mbox cookie) and its notifications."""
    request = {
        "id": {"tntId": f"{visitor:032x}.35_0"},
        "notifications": [
            {
                "id": str(first_id + k),
                "type": "display",
                "timestamp": 1_700_000_000_000,
                "mbox": {"name": "home"},
            }
            for k in range(count)
        ],
    }
    return {"request": request, "session_id": f"session-{visitor}"}


def _edge_cpu_seconds(port: int) -> float:
    stats = json.loads(httpx.get(f"http://127.0.0.1:{port}/__stats").content)
    return float(stats["cpu_seconds"])


async def _timed(action: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


async def _measure(port: int) -> list[dict[str, Any]]:
    options = {
        "client": DEFAULT_CLIENT,
        "organization_id": DEFAULT_ORGANIZATION_ID,
        "transport": EdgeTransport("127.0.0.1", port),
        "notification_queue_size": 100_000,
        "shutdown_timeout": 60_000,
    }
    rows: list[dict[str, Any]] = []
    async with AsyncTargetClient.create(options) as client:
        # Warm-up: connections, converter hooks, first-use imports.
        for i in range(200):
            await client.send_notifications(_call(i, i))
            client.enqueue_notifications(_call(i, i))
        await client.flush()

        # The caller's cost. The loop never awaits, so the worker sends nothing meanwhile.
        async def enqueue_cost(per_call: int) -> float:
            best = float("inf")
            for _ in range(REPEATS):
                calls = [_call(i % VISITORS, i * per_call, per_call) for i in range(ENQUEUE_CALLS)]
                started = time.perf_counter()
                for call in calls:
                    client.enqueue_notifications(call)
                best = min(best, (time.perf_counter() - started) / (ENQUEUE_CALLS * per_call))
                assert await client.flush()
            return best * 1e6

        async def submit_cost() -> float:
            best = float("inf")
            for _ in range(REPEATS):
                validated = [
                    validate_request(
                        client.config,
                        CallOptions(**_call(i % VISITORS, i)),
                        notifications_required=True,
                    )
                    for i in range(ENQUEUE_CALLS)
                ]
                started = time.perf_counter()
                for body, session_id in validated:
                    client._notifications.submit(body, session_id)
                best = min(best, (time.perf_counter() - started) / ENQUEUE_CALLS)
                assert await client.flush()
            return best * 1e6

        single = await enqueue_cost(1)
        tenfold = await enqueue_cost(10)
        pipeline_only = await submit_cost()

        # Delivered notifications per second, each path against the same edge.
        async def sequential() -> None:
            for i in range(SEQUENTIAL_SENDS):
                await client.send_notifications(_call(i % VISITORS, i))

        def background(notifications: int, visitors: int) -> Callable[[], Awaitable[None]]:
            async def action() -> None:
                for i in range(notifications):
                    client.enqueue_notifications(_call(i % visitors, i))
                assert await client.flush(), "every notification must be delivered"

            return action

        edge_cpu = _edge_cpu_seconds(port)
        sequential_elapsed = await _timed(sequential)
        sequential_rate = SEQUENTIAL_SENDS / sequential_elapsed
        coalesced_elapsed = await _timed(background(COALESCED_NOTIFICATIONS, VISITORS))
        coalesced_rate = COALESCED_NOTIFICATIONS / coalesced_elapsed
        distinct_elapsed = await _timed(background(DISTINCT_NOTIFICATIONS, DISTINCT_NOTIFICATIONS))
        distinct_rate = DISTINCT_NOTIFICATIONS / distinct_elapsed
        edge_share = (_edge_cpu_seconds(port) - edge_cpu) / (
            sequential_elapsed + coalesced_elapsed + distinct_elapsed
        )
        stats = client.notification_stats
        assert stats.failed == stats.dropped == 0 and stats.pending == 0

    send_cost = 1e6 / sequential_rate
    rows += [
        {
            "scenario": "send_notifications, awaited (caller cost)",
            "value": send_cost,
            "unit": "µs/notification",
            "ratio": 1.0,
        },
        {
            "scenario": "enqueue_notifications, 1 per call",
            "value": single,
            "unit": "µs/notification",
            "ratio": single / send_cost,
        },
        {
            "scenario": "enqueue_notifications, 10 per call",
            "value": tenfold,
            "unit": "µs/notification",
            "ratio": tenfold / send_cost,
        },
        {
            "scenario": "pipeline only (submit, validated before)",
            "value": pipeline_only,
            "unit": "µs/notification",
            "ratio": pipeline_only / send_cost,
        },
        {
            "scenario": "enqueue_notifications, 1 per call",
            "value": single,
            "unit": "µs",
            "group": "goal",
            "goal": f"≤ {ENQUEUE_GOAL_US:g} µs",
            "met": single <= ENQUEUE_GOAL_US,
        },
        {
            "scenario": "sequential send_notifications",
            "value": sequential_rate,
            "unit": "notifications/s",
            "ratio": 1.0,
        },
        {
            "scenario": f"enqueue + flush, {VISITORS:,} visitors",
            "value": coalesced_rate,
            "unit": "notifications/s",
            "ratio": coalesced_rate / sequential_rate,
        },
        {
            "scenario": "enqueue + flush, every notification a new visitor",
            "value": distinct_rate,
            "unit": "notifications/s",
            "ratio": distinct_rate / sequential_rate,
        },
        {
            "scenario": "edge process CPU while delivering (not the bottleneck below 1.0)",
            "value": edge_share,
            "unit": "CPU s / wall s",
        },
    ]
    return rows


def run() -> list[dict[str, Any]]:
    """Measure every scenario in one run, against one edge process."""
    with Edge.start() as edge:
        port = edge.port
        return anyio.run(_measure, port)


def _table(rows: list[dict[str, Any]]) -> str:
    lines = ["| scenario | value | unit | ratio |", "|---|---:|---|---:|"]
    for row in rows:
        ratio = f"{row['ratio']:.3f}" if "ratio" in row else ""
        lines.append(f"| {row['scenario']} | {row['value']:,.2f} | {row['unit']} | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    results = run()
    print(_table(results))
    print(
        f"\nEnqueue goal: <= {ENQUEUE_GOAL_US:g} µs/notification. Ratios: cost rows against the awaited "
        "send_notifications call, throughput rows against sequential send_notifications."
    )
