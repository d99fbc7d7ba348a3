"""Models of what the SDK sends: the Delivery request and everything inside it."""

from __future__ import annotations

import attrs

from ._base import Model
from ._common import Order, Parameters, Preview, Product, QAMode, VisitorId
from ._enums import (
    ChannelType,
    DecisioningMethod,
    DeviceType,
    ExecutionMode,
    LoggingType,
    MetricType,
    MobilePlatformType,
    ScreenOrientationType,
)

__all__ = [
    "Address",
    "AnalyticsRequest",
    "Application",
    "AudienceManager",
    "Browser",
    "ClientHints",
    "Context",
    "DeliveryRequest",
    "ExecuteRequest",
    "ExperienceCloud",
    "Geo",
    "MboxRequest",
    "MobilePlatform",
    "Notification",
    "NotificationMbox",
    "NotificationPageLoad",
    "NotificationView",
    "PrefetchRequest",
    "Property",
    "RequestDetails",
    "Screen",
    "Telemetry",
    "TelemetryEntry",
    "TelemetryFeatures",
    "TelemetryRequest",
    "Trace",
    "ViewRequest",
    "Window",
]

# The spec composes MboxRequest, ViewRequest and Notification from RequestDetails with
# `allOf`; their fields are written out flat (as in the official SDK) rather than
# inherited, so an instance of one is never mistaken for a RequestDetails.


@attrs.define(kw_only=True, repr=False, eq=False)
class Address(Model):
    """The current URL and the referring URL."""

    url: str | None = None
    referring_url: str | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class Application(Model):
    """Application identifiers; when given, only matching activities are evaluated."""

    id: str | None = None
    name: str | None = None
    version: str | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class Browser(Model):
    """Browser details, for the web channel only."""

    host: str | None = None
    language: str | None = None
    """In Accept-Language header format."""
    web_gl_renderer: str | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class ClientHints(Model):
    """User-Agent client hints, used in place of `user_agent` when given."""

    mobile: bool | None = None
    model: str | None = None
    platform: str | None = None
    platform_version: str | None = None
    browser_ua_with_major_version: str | None = None
    """Sec-CH-UA."""
    browser_ua_with_full_version: str | None = None
    """Sec-CH-UA-Full-Version-List."""
    architecture: str | None = None
    bitness: str | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class Geo(Model):
    """Geo data; when absent and geo is enabled, the edge resolves it from the IP."""

    ip_address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    country_code: str | None = None
    """ISO 3166-1 alpha-2."""
    state_code: str | None = None
    """Subdivision part of ISO 3166-2."""
    city: str | None = None
    zip: str | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class MobilePlatform(Model):
    """Mobile platform, for the mobile channel (`device_type` and `platform_type` required)."""

    device_name: str | None = None
    device_type: DeviceType | None = None
    platform_type: MobilePlatformType | None = None
    version: str | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class Screen(Model):
    """Screen properties."""

    width: float | None = None
    height: float | None = None
    color_depth: float | None = None
    pixel_ratio: float | None = None
    orientation: ScreenOrientationType | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class Window(Model):
    """Window dimensions."""

    width: float | None = None
    height: float | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class Context(Model):
    """Context of the request (`channel` is required on the wire)."""

    channel: ChannelType | None = None
    mobile_platform: MobilePlatform | None = None
    application: Application | None = None
    screen: Screen | None = None
    window: Window | None = None
    browser: Browser | None = None
    address: Address | None = None
    geo: Geo | None = None
    time_offset_in_minutes: float | None = None
    """Minutes from UTC of the client."""
    user_agent: str | None = None
    """The User-Agent is only read from here, never from the HTTP header."""
    client_hints: ClientHints | None = None
    beacon: bool | None = None
    """When true the edge answers 204 with no body."""


@attrs.define(kw_only=True, repr=False, eq=False)
class AudienceManager(Model):
    """Audience Manager (AAM) integration."""

    location_hint: int | None = None
    """DCS location hint."""
    blob: str | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class AnalyticsRequest(Model):
    """Analytics for Target (A4T) integration."""

    supplemental_data_id: str | None = None
    logging: LoggingType | None = None
    tracking_server: str | None = None
    tracking_server_secure: str | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class ExperienceCloud(Model):
    """Audience Manager and Analytics integrations."""

    audience_manager: AudienceManager | None = None
    analytics: AnalyticsRequest | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class Property(Model):
    """The at_property token scoping the delivery."""

    token: str | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class Trace(Model):
    """Enables the trace of the request (`authorization_token` is required)."""

    authorization_token: str | None = None
    usage: dict[str, str] | None = None
    """SDK usage and diagnostics metadata."""


@attrs.define(kw_only=True, repr=False, eq=False)
class RequestDetails(Model):
    """Details common to page-load, mbox, view and notification requests."""

    address: Address | None = None
    parameters: Parameters | None = None
    profile_parameters: Parameters | None = None
    order: Order | None = None
    product: Product | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class MboxRequest(Model):
    """A regional mbox request (`index` and `name` are required on the wire)."""

    index: int | None = None
    """Unique in the mbox list; correlates the request with its response."""
    name: str | None = None
    address: Address | None = None
    parameters: Parameters | None = None
    profile_parameters: Parameters | None = None
    order: Order | None = None
    product: Product | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class ViewRequest(Model):
    """A view request."""

    name: str | None = None
    key: str | None = None
    address: Address | None = None
    parameters: Parameters | None = None
    profile_parameters: Parameters | None = None
    order: Order | None = None
    product: Product | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class ExecuteRequest(Model):
    """Content evaluated now; impressions are counted."""

    page_load: RequestDetails | None = None
    mboxes: list[MboxRequest] | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class PrefetchRequest(Model):
    """Content prefetched for views, the page load and/or mboxes; no impressions counted."""

    views: list[ViewRequest] | None = None
    page_load: RequestDetails | None = None
    mboxes: list[MboxRequest] | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class NotificationMbox(Model):
    """The mbox a notification is about."""

    name: str | None = None
    state: str | None = None
    """The mbox state token of the prefetch response."""


@attrs.define(kw_only=True, repr=False, eq=False)
class NotificationView(Model):
    """The view a notification is about."""

    name: str | None = None
    key: str | None = None
    state: str | None = None
    """The view state token of the prefetch response."""


@attrs.define(kw_only=True, repr=False, eq=False)
class NotificationPageLoad(Model):
    """Display notification for prefetched page-load content."""

    state: str | None = None
    """The page-load state token of the prefetch response."""


@attrs.define(kw_only=True, repr=False, eq=False)
class Notification(Model):
    """A display or click notification (`id`, `type` and `timestamp` are required)."""

    id: str | None = None
    impression_id: str | None = None
    type: MetricType | None = None
    timestamp: int | None = None
    """Milliseconds since the UNIX epoch."""
    tokens: list[str] | None = None
    """Event tokens of the displayed content or clicked selectors."""
    mbox: NotificationMbox | None = None
    view: NotificationView | None = None
    page_load: NotificationPageLoad | None = None
    address: Address | None = None
    parameters: Parameters | None = None
    profile_parameters: Parameters | None = None
    order: Order | None = None
    product: Product | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class TelemetryFeatures(Model):
    """Features an SDK call used."""

    decisioning_method: DecisioningMethod | None = None
    execute_mbox_count: int | None = None
    execute_page_load: bool | None = None
    prefetch_mbox_count: int | None = None
    prefetch_page_load: bool | None = None
    prefetch_view_count: int | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class TelemetryRequest(Model):
    """Timings of the HTTP request to Target or the CDN, in milliseconds."""

    dns: float | None = None
    tls: float | None = None
    time_to_first_byte: float | None = None
    download: float | None = None
    response_size: int | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class TelemetryEntry(Model):
    """Telemetry of one earlier SDK call."""

    request_id: str | None = None
    timestamp: int | None = None
    """Milliseconds since the UNIX epoch."""
    mode: ExecutionMode | None = None
    execution: float | None = None
    """Execution time in milliseconds."""
    parsing: float | None = None
    """Response parsing time in milliseconds."""
    features: TelemetryFeatures | None = None
    request: TelemetryRequest | None = None
    telemetry_server_token: str | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class Telemetry(Model):
    """Telemetry entries attached to a request."""

    entries: list[TelemetryEntry] | None = None


@attrs.define(kw_only=True, repr=False, eq=False)
class DeliveryRequest(Model):
    """A Delivery API request (`context` is required on the wire; the SDK fills it in)."""

    request_id: str | None = None
    impression_id: str | None = None
    id: VisitorId | None = None
    environment_id: int | None = None
    property: Property | None = None
    trace: Trace | None = None
    context: Context | None = None
    experience_cloud: ExperienceCloud | None = None
    execute: ExecuteRequest | None = None
    prefetch: PrefetchRequest | None = None
    telemetry: Telemetry | None = None
    notifications: list[Notification] | None = None
    qa_mode: QAMode | None = None
    preview: Preview | None = None
