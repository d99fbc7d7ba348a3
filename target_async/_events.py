"""SDK events (`client_ready`, `artifact_download_succeeded`, ...) delivered to the `events` handlers."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = ["EventEmitter", "TargetEvent"]


@attrs.frozen
class TargetEvent:
    """An event: `event.type` plus its payload, readable as attributes or items.

    The official Python SDK documents attribute access (`event.artifact_location`) but
    passes a dict; both work here.
    """

    type: str
    payload: Mapping[str, Any] = attrs.field(factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.payload[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key: str) -> Any:
        return self.type if key == "type" else self.payload[key]


class EventEmitter:
    """Calls the user's handler for an event; a failing handler is logged, never raised."""

    def __init__(self, handlers: Mapping[str, Callable[..., Any]], logger: logging.Logger) -> None:
        self._handlers = handlers
        self._logger = logger

    def has(self, name: str) -> bool:
        return name in self._handlers

    async def emit(self, name: str, **payload: Any) -> None:
        handler = self._handlers.get(name)
        if handler is None:
            return
        try:
            result = handler(TargetEvent(type=name, payload=payload))
            if inspect.isawaitable(result):
                await result
        except Exception:
            self._logger.exception("The %r event handler raised", name)
