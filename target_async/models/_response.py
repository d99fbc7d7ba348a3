"""Models of what the edge answers: the Delivery response and everything inside it.

Enum fields are typed `SomeEnum | str`: a value this SDK does not know yet is kept as
the plain string received.
"""

from __future__ import annotations

from typing import Any

import attrs

from ._base import Model
from ._common import ResponseTokens, VisitorId
from ._enums import MetricType, OptionType

__all__ = [
    "AnalyticsPayload",
    "AnalyticsResponse",
    "DeliveryResponse",
    "ExecuteResponse",
    "MboxResponse",
    "Metric",
    "NotificationResponse",
    "Option",
    "PageLoadResponse",
    "PrefetchMboxResponse",
    "PrefetchResponse",
    "TraceResponse",
    "View",
]

TraceResponse = dict[str, Any]
"""Trace data of a request, only present when a trace token was sent: free-form JSON."""


@attrs.define(kw_only=True, repr=False, eq=False)
class AnalyticsPayload(Model):
    """The keys of an `AnalyticsResponse.payload` (client-side A4T), for building or reading one."""

    pe: str | None = None
    tnta: str | None = None
    """Target activity and experience metadata."""


@attrs.define(kw_only=True, repr=False, eq=False)
class AnalyticsResponse(Model):
    """Analytics payload metadata."""

    payload: dict[str, Any] | None = None
    """Forwarded to Analytics verbatim, so kept exactly as received (see `AnalyticsPayload`)."""


@attrs.define(kw_only=True, repr=False, eq=False)
class Option(Model):
    """One piece of content of an activity."""

    type: OptionType | str | None = None
    content: str | dict[str, Any] | list[Any] | None = None
    """HTML, a redirect or dynamic link, JSON, or a list of actions: kept as received."""
    event_token: str | None = None
    """Prefetch only: send it in a display notification once the content is shown."""
    response_tokens: ResponseTokens | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class Metric(Model):
    """A click (or display) metric with the event token to send when it happens."""

    type: MetricType | str | None = None
    selector: str | None = None
    event_token: str | None = None
    analytics: AnalyticsResponse | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class MboxResponse(Model):
    """Result for the mbox request of the same `index`."""

    index: int | None = None
    name: str | None = None
    options: list[Option] | None = None
    metrics: list[Metric] | None = None
    analytics: AnalyticsResponse | None = None
    trace: TraceResponse | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class PrefetchMboxResponse(Model):
    """A prefetched mbox: an `MboxResponse` plus the state token for its notification."""

    index: int | None = None
    name: str | None = None
    options: list[Option] | None = None
    metrics: list[Metric] | None = None
    analytics: AnalyticsResponse | None = None
    trace: TraceResponse | None = None
    state: str | None = None
    """Mbox state token to send back with the display notification."""


@attrs.define(kw_only=True, repr=False, eq=False)
class PageLoadResponse(Model):
    """Content for the selectors not assigned to a view."""

    options: list[Option] | None = None
    metrics: list[Metric] | None = None
    analytics: AnalyticsResponse | None = None
    state: str | None = None
    """Prefetch only: page-load state token for the display notification."""
    trace: TraceResponse | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class View(Model):
    """Prefetched content of one view."""

    name: str | None = None
    key: str | None = None
    options: list[Option] | None = None
    metrics: list[Metric] | None = None
    analytics: AnalyticsResponse | None = None
    state: str | None = None
    """View state token for the display notification."""
    trace: TraceResponse | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class ExecuteResponse(Model):
    """Results of the execute page load and mboxes."""

    page_load: PageLoadResponse | None = None
    mboxes: list[MboxResponse] | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class PrefetchResponse(Model):
    """Prefetched views, page load and mboxes."""

    views: list[View] | None = None
    page_load: PageLoadResponse | None = None
    mboxes: list[PrefetchMboxResponse] | None = None
    metrics: list[Metric] | None = None
    """Click metrics of activities with views that are not tied to a view."""


@attrs.define(kw_only=True, repr=False, eq=False)
class NotificationResponse(Model):
    """Acknowledges one processed notification."""

    id: str | None = None
    trace: TraceResponse | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class DeliveryResponse(Model):
    """A Delivery API response."""

    status: int | None = None
    request_id: str | None = None
    id: VisitorId | None = None
    client: str | None = None
    edge_host: str | None = None
    """Edge cluster host that served the request; later requests should go there."""
    execute: ExecuteResponse | None = None
    prefetch: PrefetchResponse | None = None
    notifications: list[NotificationResponse] | None = None
    telemetry_server_token: str | None = None
