"""Telemetry entries waiting to ride along with the next request to the edge."""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from typing import Any, TypeAlias

__all__ = ["Entry", "TelemetryStore"]

Entry: TypeAlias = "dict[str, Any] | Callable[[], dict[str, Any]]"

# Telemetry is best effort: past this many unsent entries the oldest are dropped, so a
# client that never talks to the edge cannot grow without bound.
MAX_PENDING_ENTRIES = 1000


class TelemetryStore:
    """A bounded FIFO of telemetry entries (camelCase `TelemetryEntry` dicts).

    An entry may be added as a function that builds it: it is then built when it is
    sent, off the path of the call it describes.
    """

    def __init__(
        self,
        *,
        enabled: bool,
        max_entries: int = MAX_PENDING_ENTRIES,
        logger: logging.Logger | None = None,
    ) -> None:
        self.enabled = enabled
        self._logger = logger or logging.getLogger("target_async")
        self._entries: collections.deque[Entry] = collections.deque(maxlen=max_entries)
        self.dropped = 0

    def add(self, entry: Entry) -> None:
        if not self.enabled:
            return
        if len(self._entries) == self._entries.maxlen:
            self.dropped += 1
        self._entries.append(entry)

    def __len__(self) -> int:
        return len(self._entries)

    def drain(self) -> list[dict[str, Any]]:
        """Take every pending entry (the caller sends them or puts them back)."""
        entries = []
        for entry in self._entries:
            if not callable(entry):
                entries.append(entry)
                continue
            try:
                entries.append(entry())
            except Exception:
                # Best effort: a broken entry must not hold up the request it rides with.
                self.dropped += 1
                self._logger.debug("Telemetry entry dropped: building it failed", exc_info=True)
        self._entries.clear()
        return entries

    def attach(self, body: dict[str, Any]) -> None:
        """Move the pending entries into a request body's `telemetry.entries`."""
        if not self._entries:
            return
        telemetry = dict(body.get("telemetry") or {})
        telemetry["entries"] = list(telemetry.get("entries") or []) + self.drain()
        body["telemetry"] = telemetry
