"""What every scenario shares: settings, rows, the edge process and the load loop.

A scenario is a function returning rows, dicts with `scenario`, `value`, `unit` and
optionally `ratio` (this row's value divided by that of the reference named by `vs`,
measured in the same run) plus free keys the report uses (`group`, `impl`, `in_flight`,
`goal`, `met`, ...).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio

__all__ = [
    "PRESETS",
    "RESULTS_DIR",
    "ROOT",
    "Edge",
    "Row",
    "Sample",
    "Settings",
    "median",
    "process_counts",
    "row",
    "saturate",
]

Row = dict[str, Any]

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"


@dataclass(frozen=True)
class Settings:
    """How much work each scenario does; `smoke` only proves the scenarios run."""

    runs: int = 5  # samples per measurement; the report shows their median
    duration: float = 1.5  # seconds of load per throughput sample
    levels: tuple[int, ...] = (1, 10, 50, 200)  # requests in flight
    option_levels: tuple[int, ...] = (1, 50)  # the same, for the transport options
    soak_calls: int = 100_000  # the long run
    import_runs: int = 9
    micro_repeat: int = 2_000  # operations per micro-benchmark sample
    official: bool = True  # install and drive target-python-sdk 1.1.0

    def scaled(self, **changes: Any) -> Settings:
        return replace(self, **changes)


PRESETS: dict[str, Settings] = {
    "full": Settings(),
    "quick": Settings(runs=3, duration=0.7, soak_calls=5_000, import_runs=5, micro_repeat=500),
    "smoke": Settings(
        runs=1,
        duration=0.05,
        levels=(1, 4),
        option_levels=(4,),
        soak_calls=50,
        import_runs=1,
        micro_repeat=3,
        official=False,
    ),
}


def row(
    scenario: str,
    value: float,
    unit: str,
    ratio: float | None = None,
    vs: str | None = None,
    **extra: Any,
) -> Row:
    result: Row = {"scenario": scenario, "value": value, "unit": unit}
    if ratio is not None:
        result["ratio"] = ratio
        result["vs"] = vs
    result.update(extra)
    return result


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass(frozen=True)
class Sample:
    """One timed stretch of load: completed calls, wall and CPU seconds, failed calls."""

    calls: int
    seconds: float
    cpu_seconds: float
    errors: int = 0

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    @property
    def cpu_us(self) -> float:
        """CPU of this process per completed call, in microseconds."""
        return self.cpu_seconds / self.calls * 1e6 if self.calls else float("nan")

    @property
    def latency_us(self) -> float:
        """Wall time per call of one caller (exact at 1 in flight)."""
        return self.seconds / self.calls * 1e6 if self.calls else float("nan")


async def saturate(
    call: Callable[[], Awaitable[object]],
    in_flight: int,
    *,
    duration: float,
    errors: tuple[type[BaseException], ...] = (),
) -> Sample:
    """Keep `in_flight` calls running for `duration` seconds, after a warm-up round.

    The warm-up opens the connections and builds lazy caches, so the sample measures the
    steady state. A call raising one of `errors` counts as failed, not completed.
    """
    for _ in range(2):
        async with anyio.create_task_group() as group:
            for _ in range(in_flight):
                group.start_soon(call)
    done = 0
    failed = 0
    deadline = time.perf_counter() + duration

    async def caller() -> None:
        nonlocal done, failed
        while time.perf_counter() < deadline:
            try:
                await call()
            except errors:
                failed += 1
            else:
                done += 1

    started, cpu_started = time.perf_counter(), time.process_time()
    async with anyio.create_task_group() as group:
        for _ in range(in_flight):
            group.start_soon(caller)
    return Sample(done, time.perf_counter() - started, time.process_time() - cpu_started, failed)


def process_counts() -> dict[str, int]:
    """RSS (KiB), OS threads and open file descriptors of this process (Linux /proc)."""
    status = Path("/proc/self/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return {
        "rss_kib": rss,
        "threads": len(os.listdir("/proc/self/task")),
        "fds": len(os.listdir("/proc/self/fd")),
    }


class Edge:
    """`benchmarks.edge_server` in a child process; `port` and its served-request stats."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port

    @property
    def server_domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stats(self) -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__stats", timeout=10) as answer:
            stats: dict[str, float] = json.loads(answer.read())
        return stats

    @classmethod
    @contextmanager
    def start(cls) -> Iterator[Edge]:
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.edge_server"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line.strip().isdigit():
                raise RuntimeError(f"benchmarks.edge_server did not start (printed {line!r})")
            yield cls(process, int(line))
        finally:
            assert process.stdin is not None
            process.stdin.close()  # the edge exits when its stdin closes
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()
