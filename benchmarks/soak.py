"""A long run in a fresh process: RSS growth, threads and file descriptors left behind.

`run()` starts `python -m benchmarks.soak --port P --calls N`, which warms a client up,
notes RSS / threads / fds, makes N server-side calls at 50 in flight, collects garbage
and notes them again, then once more after the client is closed.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys

import anyio

from benchmarks._harness import ROOT, Edge, Row, Settings, process_counts, row
from benchmarks.edge_server import CLIENT, ORGANIZATION_ID
from benchmarks.server_side import SESSION_ID, typical_request
from target_async import AsyncTargetClient

__all__ = ["IN_FLIGHT", "main", "run"]

IN_FLIGHT = 50


async def _soak(port: int, calls: int) -> dict[str, dict[str, int]]:
    options = {
        "client": CLIENT,
        "organization_id": ORGANIZATION_ID,
        "server_domain": f"127.0.0.1:{port}",
        "secure": False,
    }
    request = typical_request()
    counts: dict[str, dict[str, int]] = {"start": process_counts()}
    async with AsyncTargetClient.create(options) as client:

        async def calls_of_one_caller(count: int) -> None:
            for _ in range(count):
                await client.get_offers({"request": request, "session_id": SESSION_ID})

        async def load(total: int) -> None:
            async with anyio.create_task_group() as group:
                for index in range(IN_FLIGHT):
                    group.start_soon(
                        calls_of_one_caller, total // IN_FLIGHT + (index < total % IN_FLIGHT)
                    )

        await load(max(calls // 10, IN_FLIGHT))  # warm-up: pool, caches, allocator arenas
        gc.collect()
        counts["warm"] = process_counts()
        await load(calls)
        gc.collect()
        counts["after"] = process_counts()
    gc.collect()
    counts["closed"] = process_counts()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--calls", type=int, required=True)
    args = parser.parse_args()
    print(json.dumps(anyio.run(_soak, args.port, args.calls)))


def run(settings: Settings, edge: Edge) -> list[Row]:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.soak",
            "--port",
            str(edge.port),
            "--calls",
            str(settings.soak_calls),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    counts = json.loads(completed.stdout.strip().splitlines()[-1])
    warm, after, closed, start = counts["warm"], counts["after"], counts["closed"], counts["start"]
    calls = f"{settings.soak_calls:,} calls"
    growth_mib = (after["rss_kib"] - warm["rss_kib"]) / 1024
    leaked = closed["threads"] > start["threads"] or closed["fds"] > start["fds"]
    return [
        row(f"RSS growth over {calls}", growth_mib, "MiB", group="soak"),
        row(
            f"threads: after {calls} (before)",
            after["threads"],
            "threads",
            group="soak",
            before=warm["threads"],
        ),
        row(f"fds: after {calls} (before)", after["fds"], "fds", group="soak", before=warm["fds"]),
        row(
            "fds after the client is closed (at start)",
            closed["fds"],
            "fds",
            group="soak",
            before=start["fds"],
        ),
        row(
            "threads after the client is closed (at start)",
            closed["threads"],
            "threads",
            group="soak",
            before=start["threads"],
        ),
        row(
            f"RSS growth over {calls} < 2 MiB, no thread or fd left after close",
            growth_mib,
            "MiB",
            group="goal",
            goal="< 2 MiB, none left",
            met=growth_mib < 2 and not leaked,
        ),
    ]


if __name__ == "__main__":
    main()
