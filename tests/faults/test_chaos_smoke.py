"""`make soak`'s chaos run works: a short run of every kind of traffic passes its checks and
writes its page (the fault matrix, run by `test_fault_matrix.py`, is left out here)."""

from __future__ import annotations

from pathlib import Path

from benchmarks import chaos


def test_a_short_chaos_run_passes_its_checks_and_writes_its_page(tmp_path: Path) -> None:
    assert chaos.main(["--seconds", "2", "--no-matrix", "--docs", str(tmp_path)]) == 0
    page = (tmp_path / "reliability.md").read_text(encoding="utf-8")
    assert "**every check held**" in page
    for traffic in ("get_offers (on-device)", "get_offers (hybrid)", "TargetClient.get_offers", "enqueue_notifications"):
        assert f"| {traffic} |" in page
