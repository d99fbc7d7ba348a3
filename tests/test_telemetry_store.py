"""The store of telemetry entries waiting for the next request to the edge (pure)."""

from __future__ import annotations

from typing import Any

from target_async._telemetry import TelemetryStore


def test_entries_built_later_are_built_when_drained_and_a_broken_one_is_dropped() -> None:
    store = TelemetryStore(enabled=True)
    built: list[str] = []

    def later() -> dict[str, Any]:
        built.append("later")
        return {"requestId": "b"}

    def broken() -> dict[str, Any]:
        raise KeyError("execute")

    store.add({"requestId": "a"})
    store.add(later)
    store.add(broken)
    assert built == [] and len(store) == 3
    assert store.drain() == [{"requestId": "a"}, {"requestId": "b"}]
    assert built == ["later"] and store.dropped == 1 and len(store) == 0


def test_the_store_is_bounded_and_attach_moves_entries_into_a_body() -> None:
    store = TelemetryStore(enabled=True, max_entries=2)
    for request_id in "abc":
        store.add({"requestId": request_id})
    assert store.dropped == 1
    body: dict[str, Any] = {"telemetry": {"entries": [{"requestId": "x"}]}}
    store.attach(body)
    assert [e["requestId"] for e in body["telemetry"]["entries"]] == ["x", "b", "c"]
    assert len(store) == 0

    disabled = TelemetryStore(enabled=False)
    disabled.add({"requestId": "a"})
    assert len(disabled) == 0
