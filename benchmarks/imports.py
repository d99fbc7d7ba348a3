"""Import time of `target_async` next to `httpx` alone, each in fresh interpreters.

The time is measured inside the child around the `import` statement, so interpreter
start-up is not counted. `-X importtime` of one more child names what dominates.
"""

from __future__ import annotations

import subprocess
import sys

from benchmarks._harness import ROOT, Row, Settings, median, row

__all__ = ["dominant_imports", "import_ms", "run"]

_PROBE = "import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
# `target_async` loads its names on first use: this is what a server-side app really pays.
FIRST_USE = "from target_async import AsyncTargetClient, DeliveryRequest"


def import_ms(module: str, statement: str | None = None) -> float:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE.format(statement=statement or f"import {module}")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(completed.stdout.strip()) * 1000


def dominant_imports(module: str, top: int = 12) -> list[tuple[str, float, float]]:
    """(module, self ms, cumulative ms) of the slowest imports under `module`, by self time."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    entries = []
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "self [us]" in line:
            continue
        self_us, cumulative_us, name = (
            part.strip() for part in line[len("import time:") :].split("|")
        )
        entries.append((name, int(self_us) / 1000, int(cumulative_us) / 1000))
    entries.sort(key=lambda entry: entry[1], reverse=True)
    return entries[:top]


def run(settings: Settings, log: list[str]) -> list[Row]:
    ours: list[float] = []
    first_use: list[float] = []
    httpx: list[float] = []
    ratios: list[float] = []
    first_use_ratios: list[float] = []
    for _ in range(settings.import_runs):
        # Alternate so both see the same machine state (page cache, load).
        ours.append(import_ms("target_async"))
        first_use.append(import_ms("target_async", FIRST_USE))
        httpx.append(import_ms("httpx"))
        ratios.append(ours[-1] / httpx[-1])
        first_use_ratios.append(first_use[-1] / httpx[-1])
    ratio = median(ratios)
    log.append(
        "slowest imports under target_async (self ms / cumulative ms): "
        + ", ".join(
            f"{name} {own:.1f}/{total:.1f}" for name, own, total in dominant_imports("target_async")
        )
    )
    return [
        row("import target_async", median(ours), "ms", ratio, "import httpx", group="import"),
        row(
            "first use: " + FIRST_USE,
            median(first_use),
            "ms",
            median(first_use_ratios),
            "import httpx",
            group="import",
        ),
        row("import httpx", median(httpx), "ms", group="import"),
        # The goal is judged on first use: lazy names make a bare `import target_async` cheap
        # without making an app start any faster.
        row(
            "import time ÷ httpx (first use)",
            median(first_use_ratios),
            "x",
            group="goal",
            goal="≤ 1.2",
            met=median(first_use_ratios) <= 1.2,
        ),
    ]
