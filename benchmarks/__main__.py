"""`python -m benchmarks`: run every scenario, print the summary, save the results.

Options: `--preset full|quick|smoke` (default full), `--only name,...`, `--no-official`,
`--results DIR` (default benchmarks/results), `--docs DIR` (where benchmarks.md and
img/benchmarks.png go; by default docs/ for the full preset and nowhere otherwise).

Scenarios run in order, each a function returning rows; one that raises is reported and
the others still run (the exit status is then 1). Modules other engineers add,
`benchmarks/bench_*.py` exposing `run() -> list[dict]`, are included when present.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import converter, imports, on_device, report, server_side, soak, transport_options
from benchmarks._harness import PRESETS, RESULTS_DIR, ROOT, Edge, Row, Settings

Scenario = Callable[[Settings, Edge, list[str]], list[Row]]

SCENARIOS: dict[str, Scenario] = {
    "server_side": server_side.run,
    "send_notifications": server_side.run_notifications,
    "transport_options": transport_options.run,
    "converter": lambda settings, edge, log: converter.run(settings),
    "imports": lambda settings, edge, log: imports.run(settings, log),
    "on_device": on_device.run,
    "soak": lambda settings, edge, log: soak.run(settings, edge),
}
# Owned by other engineers; `run()` takes no arguments and sizes its own work.
EXTERNAL = ("bench_sync", "bench_notifications")


def _external(name: str) -> Scenario | None:
    if not (ROOT / "benchmarks" / f"{name}.py").exists():
        return None
    module = importlib.import_module(f"benchmarks.{name}")

    def scenario(settings: Settings, edge: Edge, log: list[str]) -> list[Row]:
        rows: list[Row] = module.run()
        for entry in rows:
            entry.setdefault("group", name.removeprefix("bench_"))
        return rows

    return scenario


def _versions() -> str:
    found = []
    for package in ("target-async", "httpx", "httpcore", "aiohttp", "anyio", "cattrs", "orjson"):
        try:
            found.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{package} not installed")
    return ", ".join(found)


def _edge_note(
    before: dict[str, float], after: dict[str, float], wall_seconds: float, rows: list[Row]
) -> str:
    served = after["requests"] - before["requests"]
    if served <= 0:
        return "edge: served no requests"
    cpu_seconds = after["cpu_seconds"] - before["cpu_seconds"]
    cpu_us = cpu_seconds / served * 1e6
    capacity = 1e6 / cpu_us
    peak = max(
        (
            r["value"]
            for r in rows
            if r.get("unit") == "calls/s" and isinstance(r.get("value"), float)
        ),
        default=0.0,
    )
    verdict = (
        "never the bottleneck"
        if peak < capacity / 3
        else "CLOSE TO ITS LIMIT: the figures may be capped"
    )
    return (
        f"edge: {cpu_us:.0f} µs of CPU per request served ({served:,} requests, new "
        f"connections included) → capacity ≈ {capacity:,.0f} requests/s on one core; peak load "
        f"{peak:,.0f} calls/s = {peak / capacity:.0%} of it; busy {cpu_seconds / wall_seconds:.0%} of one "
        f"core over the run: {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="full")
    parser.add_argument(
        "--only", help="comma-separated scenario names: " + ", ".join([*SCENARIOS, *EXTERNAL])
    )
    parser.add_argument("--no-official", action="store_true", help="skip the official SDK column")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    parser.add_argument("--docs", type=Path, help="write benchmarks.md and img/benchmarks.png here")
    args = parser.parse_args(argv)

    settings = PRESETS[args.preset]
    if args.no_official:
        settings = settings.scaled(official=False)
    scenarios: dict[str, Scenario] = dict(SCENARIOS)
    if args.preset != "smoke":  # they size their own work: not for a smoke run
        for name in EXTERNAL:
            found = _external(name)
            if found is not None:
                scenarios[name] = found
    if args.only:
        selected: dict[str, Scenario] = {}
        for name in (part.strip() for part in args.only.split(",")):
            scenario = scenarios.get(name) or (_external(name) if name in EXTERNAL else None)
            if scenario is None:
                parser.error(f"unknown or missing scenario: {name}")
            selected[name] = scenario
        scenarios = selected
    docs = (
        args.docs if args.docs is not None else (ROOT / "docs" if args.preset == "full" else None)
    )

    rows: list[Row] = []
    notes: list[str] = []
    failed: list[str] = []
    with Edge.start() as edge:
        edge_before, run_started = edge.stats(), time.perf_counter()
        for name, scenario in scenarios.items():
            started = time.perf_counter()
            print(f"· {name} ...", file=sys.stderr, flush=True)
            try:
                rows += scenario(settings, edge, notes)
            except Exception:
                failed.append(name)
                notes.append(
                    f"scenario {name} FAILED: {traceback.format_exc(limit=3).strip().splitlines()[-1]}"
                )
                traceback.print_exc()
            print(f"  {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
        notes.insert(
            0, _edge_note(edge_before, edge.stats(), time.perf_counter() - run_started, rows)
        )

    meta: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "preset": args.preset,
        "runs": settings.runs,
        "settings": settings.__dict__,
        "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}",
        "versions": _versions(),
        "failed": failed,
    }
    args.results.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    (args.results / f"results-{stamp}.json").write_text(
        json.dumps(
            {"meta": meta, "rows": rows, "notes": notes}, indent=1, ensure_ascii=False, default=str
        )
    )
    image = None
    if docs is not None:
        if report.chart(rows, docs / "img" / "benchmarks.png"):
            image = "img/benchmarks.png"
        else:
            notes.append(
                "chart: matplotlib is not installed (`pip install -e '.[bench]'`), no PNG written"
            )
    summary = report.markdown(rows, meta, notes, image=image)
    (args.results / "latest.md").write_text(summary)
    if docs is not None:
        docs.mkdir(parents=True, exist_ok=True)
        (docs / "benchmarks.md").write_text(summary)
    print(summary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
