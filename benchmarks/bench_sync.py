"""The sync shim: `TargetClient` throughput as a ratio of `AsyncTargetClient`'s in the same run,
and the threads and open files of a process before and after many `callback=` calls.

The edge is `benchmarks.edge_server` in its own process, so it does not compete with the
clients for the interpreter. Both clients send the same request with the same concurrency:
`CONCURRENCY` tasks on one event loop, against `CONCURRENCY` threads sharing one
`TargetClient`. Runs alternate between the two and the best of `REPEATS` counts.

Run: `python benchmarks/bench_sync.py [callback_calls]` (prints a markdown table); `run()`
returns the rows as dicts {scenario, value, unit, ratio?}.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

import anyio

from benchmarks._harness import Edge
from benchmarks.edge_server import TYPICAL_REQUEST
from target_async import AsyncTargetClient
from target_async._sync import CALLBACK_WORKERS, TargetClient
from target_async.testing import DEFAULT_CLIENT, DEFAULT_ORGANIZATION_ID, EdgeTransport

RATIO_GOAL = 0.7
CONCURRENCY = 16
CALLS = 2_000
REPEATS = 3
CALLBACK_CALLS = 10_000
CALLBACK_WAVE = 100
WARM_UP_WAVES = 5


def _options(port: int) -> dict[str, Any]:
    return {
        "client": DEFAULT_CLIENT,
        "organization_id": DEFAULT_ORGANIZATION_ID,
        "transport": EdgeTransport("127.0.0.1", port),
    }


async def _async_throughput(port: int) -> float:
    request = TYPICAL_REQUEST
    async with AsyncTargetClient.create(_options(port)) as client:
        for _ in range(200):  # connections, converter hooks, first-use imports
            await client.get_offers(request=request)

        async def worker() -> None:
            for _ in range(CALLS // CONCURRENCY):
                await client.get_offers(request=request)

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(CONCURRENCY):
                tg.start_soon(worker)
        return CALLS / (time.perf_counter() - started)


def _sync_throughput(port: int) -> float:
    request = TYPICAL_REQUEST
    with TargetClient.create(_options(port)) as client:
        for _ in range(200):
            client.get_offers(request=request)

        def worker() -> None:
            for _ in range(CALLS // CONCURRENCY):
                client.get_offers(request=request)

        threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return CALLS / (time.perf_counter() - started)


def _threads_and_fds() -> tuple[int, int]:
    return threading.active_count(), len(os.listdir("/proc/self/fd"))


def _settled(expected: tuple[int, int], seconds: float = 5.0) -> tuple[int, int]:
    """The counts once they equal `expected`, or after `seconds` (sockets close asynchronously)."""
    deadline = time.monotonic() + seconds
    counts = _threads_and_fds()
    while counts != expected and time.monotonic() < deadline:
        time.sleep(0.05)
        counts = _threads_and_fds()
    return counts


def _callback_calls(port: int, calls: int) -> dict[str, tuple[int, int]]:
    """Threads and fds: process baseline, client warmed up, after `calls` callback calls, after close."""
    request = TYPICAL_REQUEST
    completed = 0

    def on_offers(response: Any) -> None:
        nonlocal completed
        completed += 1

    def wave(client: TargetClient, size: int) -> None:
        for future in [client.get_offers(request=request, callback=on_offers) for _ in range(size)]:
            future.get(timeout=30)

    baseline = _threads_and_fds()
    with TargetClient.create(_options(port)) as client:
        for _ in range(WARM_UP_WAVES):  # fill the connection pool and the callback pool
            wave(client, CALLBACK_WAVE)
        warm = _threads_and_fds()
        for done in range(0, calls, CALLBACK_WAVE):
            wave(client, min(CALLBACK_WAVE, calls - done))
        after = _settled(warm)
    assert completed == calls + WARM_UP_WAVES * CALLBACK_WAVE, "every callback must run once"
    return {"baseline": baseline, "warm": warm, "after": after, "closed": _settled(baseline)}


def run(callback_calls: int = CALLBACK_CALLS) -> list[dict[str, Any]]:
    """Measure every scenario in one run, against one edge process."""
    with Edge.start() as edge:
        port = edge.port
        async_best = sync_best = 0.0
        for _ in range(REPEATS):
            async_best = max(async_best, anyio.run(_async_throughput, port))
            sync_best = max(sync_best, _sync_throughput(port))
        counts = _callback_calls(port, callback_calls)
    calls = f"{callback_calls:,} callback calls"
    return [
        {
            "scenario": f"AsyncTargetClient, {CONCURRENCY} tasks",
            "value": async_best,
            "unit": "requests/s",
            "ratio": 1.0,
        },
        {
            "scenario": f"TargetClient, {CONCURRENCY} threads",
            "value": sync_best,
            "unit": "requests/s",
            "ratio": sync_best / async_best,
        },
        {
            "scenario": "threads: process before the client",
            "value": counts["baseline"][0],
            "unit": "threads",
        },
        {
            "scenario": "threads: client open, warmed up",
            "value": counts["warm"][0],
            "unit": "threads",
        },
        {"scenario": f"threads: after {calls}", "value": counts["after"][0], "unit": "threads"},
        {"scenario": "threads: after close", "value": counts["closed"][0], "unit": "threads"},
        {
            "scenario": "open fds: process before the client",
            "value": counts["baseline"][1],
            "unit": "fds",
        },
        {"scenario": "open fds: client open, warmed up", "value": counts["warm"][1], "unit": "fds"},
        {"scenario": f"open fds: after {calls}", "value": counts["after"][1], "unit": "fds"},
        {"scenario": "open fds: after close", "value": counts["closed"][1], "unit": "fds"},
    ]


def _table(rows: list[dict[str, Any]]) -> str:
    lines = ["| scenario | value | unit | ratio |", "|---|---:|---|---:|"]
    for row in rows:
        ratio = f"{row['ratio']:.2f}" if "ratio" in row else ""
        value = f"{row['value']:,.0f}"
        lines.append(f"| {row['scenario']} | {value} | {row['unit']} | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    results = run(int(sys.argv[1]) if len(sys.argv) > 1 else CALLBACK_CALLS)
    print(_table(results))
    print(
        f"\nGoal: TargetClient throughput >= {RATIO_GOAL}x AsyncTargetClient's. A client adds at most "
        f"1 + {CALLBACK_WORKERS} threads (its loop, its callback pool) and its pooled connections, "
        "whatever the number of calls, and nothing once closed."
    )
