"""Rows → the markdown summary and the PNG chart (only when matplotlib is importable)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

from benchmarks._harness import Row

__all__ = ["chart", "markdown"]

IMPLS = ("target-async", "bare httpx", "official SDK")
_TIMES = "\N{MULTIPLICATION SIGN}"
_GROUP_TITLES = {
    "transport options": "Transport options (through target-async's get_offers; ratio: ÷ bare httpx in the same run)",
    "converter": "Converter and JSON",
    "import": "Import time",
    "on-device": "On-device decisioning",
    "soak": "Long run: memory, threads, file descriptors",
    "notifications, one at a time": "send_notifications, one at a time (ratio: ÷ the official SDK, lower is better)",
    "sync": "Sync shim (benchmarks/bench_sync.py)",
    "notifications": "Notifications pipeline (benchmarks/bench_notifications.py)",
}


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def _ratio(value: Any) -> str:
    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        # Two significant digits below 0.1 (an enqueue is ~0.004x an awaited send).
        else f"{value:.2g}{_TIMES}" if 0 < abs(value) < 0.1 else f"{value:.2f}{_TIMES}"
    )


def _server_side_table(rows: list[Row]) -> list[str]:
    by_key = {(r["impl"], r["in_flight"]): r for r in rows if r.get("group") == "server-side"}
    levels = sorted({level for _, level in by_key})
    if not levels:
        return []
    lines = [
        "| in flight | target-async (calls/s) | bare httpx | official SDK 1.1.0 | ÷ bare httpx | ÷ official "
        "| CPU µs/call: target-async / httpx / official |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level in levels:
        cells = [by_key.get((impl, level), {}) for impl in IMPLS]
        ours = cells[0]
        cpu = " / ".join(_number(cell.get("cpu_us")) for cell in cells)
        lines.append(
            f"| {level} | {_number(ours.get('value'))} | {_number(cells[1].get('value'))} "
            f"| {_number(cells[2].get('value'))} | {_ratio(ours.get('vs_httpx'))} "
            f"| {_ratio(ours.get('vs_official'))} | {cpu} |"
        )
    latency = [r for r in rows if r.get("group") == "latency"]
    if latency:
        lines += [
            "",
            "One call at a time (wall µs per call): "
            + ", ".join(f"{r['impl']} {_number(r['value'])}" for r in latency)
            + ".",
        ]
    errors = sum(r.get("errors", 0) for r in rows if r.get("group") == "server-side")
    if errors:
        lines += ["", f"**{errors} calls failed during these samples** (counted as not done)."]
    return lines


def _goals_table(rows: list[Row]) -> list[str]:
    goals = [r for r in rows if r.get("group") == "goal"]
    if not goals:
        return []
    lines = ["| goal | measured | target | met |", "|---|---:|---:|---|"]
    for goal in goals:
        unit = goal["unit"]
        measured = _ratio(goal["value"]) if unit == "x" else f"{_number(goal['value'])} {unit}"
        lines.append(
            f"| {goal['scenario']} | {measured} | {goal['goal']} | {_number(goal['met'])} |"
        )
    return lines


def _generic_table(rows: list[Row]) -> list[str]:
    lines = ["| scenario | value | unit | ratio |", "|---|---:|---|---|"]
    for r in rows:
        ratio = f"{_ratio(r.get('ratio'))} {r.get('vs') or ''}".strip() if "ratio" in r else ""
        extra = []
        if "cpu_us" in r:
            extra.append(f"CPU {_number(r['cpu_us'])} µs/call")
        if "before" in r:
            extra.append(f"before: {_number(r['before'])}")
        if r.get("errors"):
            extra.append(f"{r['errors']} failed")
        value = _number(r["value"]) + (f" ({'; '.join(extra)})" if extra else "")
        lines.append(f"| {r['scenario']} | {value} | {r['unit']} | {ratio} |")
    return lines


def markdown(rows: list[Row], meta: dict[str, Any], notes: list[str], *, image: str | None) -> str:
    """The whole summary page."""
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` (`python -m benchmarks`, preset `{meta['preset']}`) on {meta['date']}: "
        f"{meta['machine']}. Each figure is the median of {meta['runs']} runs; a ratio compares samples "
        "taken in the same run, so trust ratios more than absolute numbers on a shared machine. "
        "The edge is a separate, cheap process (`benchmarks/edge_server.py`); its capacity is checked below.",
        "",
        f"Versions: {meta['versions']}.",
        "",
    ]
    goals = _goals_table(rows)
    if goals:
        lines += ["## Goals", "", *goals, ""]
    server_side = _server_side_table(rows)
    if server_side:
        lines += [
            "## Server-side get_offers",
            "",
            "The same typical request (two mboxes) from each client: target-async's `AsyncTargetClient`, "
            "a bare `httpx.AsyncClient` with its defaults posting the same JSON (the floor an httpx-based "
            "SDK starts from), and the official `target-python-sdk` 1.1.0 calling its blocking "
            "`get_offers` from as many threads as there are calls in flight.",
            "",
            *server_side,
            "",
        ]
    if image:
        lines += [f"![Server-side throughput and CPU per call]({image})", ""]
    known = {"server-side", "latency", "goal"}
    groups: dict[str, list[Row]] = {}
    for r in rows:
        if r.get("group") not in known:
            groups.setdefault(str(r.get("group") or "other"), []).append(r)
    for group, group_rows in groups.items():
        lines += [f"## {_GROUP_TITLES.get(group, group)}", "", *_generic_table(group_rows), ""]
    if notes:
        lines += ["## Notes", "", *[f"- {note}" for note in notes], ""]
    return "\n".join(lines)


def chart(rows: list[Row], path: Path) -> bool:
    """Write the server-side chart; False when matplotlib is not installed."""
    if importlib.util.find_spec("matplotlib") is None:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_key = {(r["impl"], r["in_flight"]): r for r in rows if r.get("group") == "server-side"}
    levels = sorted({level for _, level in by_key})
    figure, (throughput, cpu) = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.27
    for index, impl in enumerate(IMPLS):
        positions = [x + (index - 1) * width for x in range(len(levels))]
        values = [by_key.get((impl, level), {}).get("value", math.nan) for level in levels]
        costs = [by_key.get((impl, level), {}).get("cpu_us", math.nan) for level in levels]
        throughput.bar(positions, [0 if math.isnan(v) else v for v in values], width, label=impl)
        cpu.bar(positions, [0 if math.isnan(c) else c for c in costs], width, label=impl)
    for axes, title, label in (
        (throughput, "Server-side get_offers throughput", "calls per second (higher is better)"),
        (cpu, "Client CPU per call", "µs of CPU per call (lower is better)"),
    ):
        axes.set_title(title)
        axes.set_ylabel(label)
        axes.set_xticks(range(len(levels)), [f"{level} in flight" for level in levels])
        axes.grid(axis="y", alpha=0.3)
    top = max((r["value"] for r in by_key.values() if not math.isnan(r["value"])), default=1.0)
    throughput.set_ylim(0, top * 1.25)  # room for the legend above the bars
    throughput.legend(loc="upper center", ncol=3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
