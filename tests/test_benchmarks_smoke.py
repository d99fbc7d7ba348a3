"""The benchmark suite runs: every scenario with tiny counts, rows well formed, report written.

No timing is asserted: only that the numbers exist, are positive where they must be, and
that the runner, the edge process and the report behave.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks import __main__ as runner
from benchmarks import report
from benchmarks._harness import Edge, row

GROUPS = {
    "server-side",
    "latency",
    "goal",
    "notifications, one at a time",
    "transport options",
    "converter",
    "import",
    "on-device",
    "soak",
}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], Path]:
    base = tmp_path_factory.mktemp("bench")
    code = runner.main(
        ["--preset", "smoke", "--results", str(base / "results"), "--docs", str(base / "docs")]
    )
    (saved,) = (base / "results").glob("results-*.json")
    return code, json.loads(saved.read_text()), base


def test_every_scenario_runs_and_the_run_succeeds(
    smoke_run: tuple[int, dict[str, Any], Path],
) -> None:
    code, results, _ = smoke_run
    assert code == 0, results["notes"]
    assert results["meta"]["failed"] == []
    assert {r["group"] for r in results["rows"]} >= GROUPS


def test_rows_are_well_formed(smoke_run: tuple[int, dict[str, Any], Path]) -> None:
    _, results, _ = smoke_run
    for entry in results["rows"]:
        assert isinstance(entry["scenario"], str) and entry["scenario"], entry
        assert isinstance(entry["unit"], str) and entry["unit"], entry
        assert isinstance(entry["value"], int | float), entry
        if "ratio" in entry:
            assert isinstance(entry["ratio"], float) and entry["ratio"] > 0, entry
            assert isinstance(entry["vs"], str) and entry["vs"], entry


def test_server_side_columns_measured_calls_without_failures(
    smoke_run: tuple[int, dict[str, Any], Path],
) -> None:
    _, results, _ = smoke_run
    measured = {
        (r["impl"], r["in_flight"]): r for r in results["rows"] if r["group"] == "server-side"
    }
    for impl in ("target-async", "bare httpx"):
        for level in (1, 4):
            cell = measured[(impl, level)]
            assert cell["value"] > 0 and cell["cpu_us"] > 0 and cell["errors"] == 0, cell
    # The smoke preset skips the official SDK: its column is there, with no number.
    assert math.isnan(measured[("official SDK", 1)]["value"])
    assert measured[("target-async", 4)]["vs_httpx"] > 0


def test_soak_reports_no_leaked_thread_and_closed_connections(
    smoke_run: tuple[int, dict[str, Any], Path],
) -> None:
    _, results, _ = smoke_run
    soak = {r["scenario"]: r for r in results["rows"] if r["group"] == "soak"}
    closed = soak["fds after the client is closed (at start)"]
    assert closed["value"] <= closed["before"]
    threads = soak["threads after the client is closed (at start)"]
    assert threads["value"] <= threads["before"]
    (goal,) = [
        r
        for r in results["rows"]
        if r["group"] == "goal" and r["scenario"].startswith("RSS growth")
    ]
    assert goal["met"] is True


def test_summary_and_chart_are_written(smoke_run: tuple[int, dict[str, Any], Path]) -> None:
    _, results, base = smoke_run
    summary = (base / "docs" / "benchmarks.md").read_text()
    assert summary == (base / "results" / "latest.md").read_text()
    assert "| in flight | target-async (calls/s) | bare httpx | official SDK 1.1.0 |" in summary
    assert "| 4 |" in summary and "n/a" in summary
    assert "edge:" in results["notes"][0] and "capacity" in results["notes"][0]
    chart = base / "docs" / "img" / "benchmarks.png"
    has_matplotlib = importlib.util.find_spec("matplotlib") is not None
    assert chart.exists() == has_matplotlib
    assert ("![Server-side throughput" in summary) == has_matplotlib


def test_edge_process_answers_delivery_notifications_and_stats() -> None:
    with Edge.start() as edge:
        base = f"http://{edge.server_domain}"
        offers = httpx.post(f"{base}/rest/v1/delivery?imsOrgId=x&sessionId=s", json={"execute": {}})
        notified = httpx.post(
            f"{base}/rest/v1/delivery",
            json={"notifications": [{"id": "n-1"}, {"id": "n-2"}], "id": {"tntId": "t"}},
        )
        missing = httpx.get(f"{base}/nowhere")
        stats = edge.stats()
    assert offers.status_code == 200
    assert [m["name"] for m in offers.json()["execute"]["mboxes"]] == ["home", "feature-flags"]
    assert notified.json()["notifications"] == [{"id": "n-1"}, {"id": "n-2"}]
    assert notified.json()["id"] == {"tntId": "t"}
    assert missing.status_code == 404
    assert stats["requests"] == 2 and stats["cpu_seconds"] > 0
    assert edge.process.returncode == 0  # it exited by itself when its stdin closed


def test_a_failing_scenario_is_reported_and_the_others_still_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> list[dict[str, Any]]:
        raise RuntimeError("scenario broke")

    monkeypatch.setitem(runner.SCENARIOS, "broken", broken)
    code = runner.main(
        ["--preset", "smoke", "--only", "broken,converter", "--results", str(tmp_path)]
    )
    assert code == 1
    (saved,) = tmp_path.glob("results-*.json")
    results = json.loads(saved.read_text())
    assert results["meta"]["failed"] == ["broken"]
    assert any(
        "scenario broken FAILED: RuntimeError: scenario broke" in note for note in results["notes"]
    )
    assert {r["group"] for r in results["rows"]} == {"converter"}
    assert not (tmp_path / "docs").exists()


def test_report_shows_missing_numbers_as_not_available() -> None:
    rows = [
        row(
            "get_offers, 50 in flight: target-async",
            900.0,
            "calls/s",
            2.5,
            "bare httpx",
            group="server-side",
            impl="target-async",
            in_flight=50,
            cpu_us=800.0,
            errors=0,
            vs_httpx=2.5,
        ),
        row(
            "get_offers, 50 in flight: bare httpx",
            360.0,
            "calls/s",
            group="server-side",
            impl="bare httpx",
            in_flight=50,
            cpu_us=2600.0,
            errors=0,
        ),
        row(
            "get_offers, 50 in flight: official SDK",
            float("nan"),
            "calls/s",
            group="server-side",
            impl="official SDK",
            in_flight=50,
        ),
        row(
            "throughput at 50 in flight ÷ official SDK",
            float("nan"),
            "x",
            group="goal",
            goal="≥ 3.0",
            met=None,
        ),
    ]
    meta = {"preset": "full", "date": "today", "machine": "m", "runs": 5, "versions": "v"}
    summary = report.markdown(rows, meta, ["a note"], image=None)
    assert (
        "| 50 | 900 | 360 | n/a | 2.50\N{MULTIPLICATION SIGN} | n/a | 800 / 2,600 / n/a |"
        in summary
    )
    assert "| throughput at 50 in flight ÷ official SDK | n/a | ≥ 3.0 | n/a |" in summary
    assert "- a note" in summary
