"""Telemetry entries waiting to ride along with the next request to the edge."""

from __future__ import annotations

import collections
from typing import Any

__all__ = ["TelemetryStore"]

# Telemetry is best effort: past this many unsent entries the oldest are dropped, so a
# client that never talks to the edge cannot grow without bound.
MAX_PENDING_ENTRIES = 1000


class TelemetryStore:
    """A bounded FIFO of telemetry entries (camelCase `TelemetryEntry` dicts)."""

    def __init__(self, *, enabled: bool, max_entries: int = MAX_PENDING_ENTRIES) -> None:
        self.enabled = enabled
        self._entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=max_entries)
        self.dropped = 0

    def add(self, entry: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if len(self._entries) == self._entries.maxlen:
            self.dropped += 1
        self._entries.append(entry)

    def __len__(self) -> int:
        return len(self._entries)

    def drain(self) -> list[dict[str, Any]]:
        """Take every pending entry (the caller sends them or puts them back)."""
        entries = list(self._entries)
        self._entries.clear()
        return entries

    def attach(self, body: dict[str, Any]) -> None:
        """Move the pending entries into a request body's `telemetry.entries`."""
        if not self._entries:
            return
        telemetry = dict(body.get("telemetry") or {})
        telemetry["entries"] = list(telemetry.get("entries") or []) + self.drain()
        body["telemetry"] = telemetry
