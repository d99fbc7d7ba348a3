"""What the local edge records for assertions."""

from __future__ import annotations

from typing import Any

import attrs

from target_async.testing._faults import Fault

__all__ = ["RecordedNotification", "RecordedRequest"]


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request the edge received, whatever it answered."""

    method: str
    path: str
    """The path without the query string, e.g. "/rest/v1/delivery"."""
    route: str | None
    """The route that served it ("delivery", "artifact", "geo", "info"), None for no route."""
    query: dict[str, str]
    """Query parameters (the first value of a repeated one)."""
    headers: dict[str, str]
    """Headers with lower-cased names."""
    host: str
    """The `Host` header: where the client aimed (e.g. "mboxedge28.tt.omtrdc.net")."""
    body: bytes
    json: Any
    """The parsed JSON body, or None when the body is empty or not JSON."""
    time: float
    """When it arrived (`time.time()`)."""
    status: int | None
    """The status answered, or None when the connection was reset instead."""
    fault: Fault | None
    """The fault rule applied to it, if any."""


@attrs.frozen(kw_only=True)
class RecordedNotification:
    """One notification the edge accepted, with the visitor it came with."""

    data: dict[str, Any]
    """The notification object as sent."""
    session_id: str
    tnt_id: str | None
    """The request's `id.tntId`, or None when the request carried none."""
    host: str
    time: float

    @property
    def id(self) -> str:
        notification_id: str = self.data["id"]
        return notification_id

    @property
    def type(self) -> str:
        notification_type: str = self.data["type"]
        return notification_type

    @property
    def tokens(self) -> list[str]:
        tokens: list[str] = self.data.get("tokens") or []
        return tokens

    @property
    def mbox_name(self) -> str | None:
        mbox = self.data.get("mbox")
        return mbox.get("name") if isinstance(mbox, dict) else None
