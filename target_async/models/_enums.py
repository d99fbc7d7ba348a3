"""String enums of the Delivery API (one per enum schema component)."""

from __future__ import annotations

from enum import Enum

__all__ = [
    "AuthenticatedState",
    "ChannelType",
    "DecisioningMethod",
    "DeviceType",
    "ExecutionMode",
    "LoggingType",
    "MetricType",
    "MobilePlatformType",
    "OptionType",
    "ScreenOrientationType",
]


class _WireEnum(str, Enum):
    """A `str` enum whose members compare, print and serialise as their wire value."""

    # The official SDK's enums are plain string constants; printing the value keeps
    # `str(ChannelType.WEB) == "web"` for code written against it.
    def __str__(self) -> str:
        return str.__str__(self)


class AuthenticatedState(_WireEnum):
    """Authentication state of a customer id."""

    UNKNOWN = "unknown"
    AUTHENTICATED = "authenticated"
    LOGGED_OUT = "logged_out"


class ChannelType(_WireEnum):
    """Channel of the request; only activities of the matching channel are evaluated."""

    MOBILE = "mobile"
    WEB = "web"


class DecisioningMethod(_WireEnum):
    """How a decision was made (telemetry)."""

    SERVER_SIDE = "server-side"
    ON_DEVICE = "on-device"
    HYBRID = "hybrid"


class DeviceType(_WireEnum):
    """Device type; mandatory when a mobile platform is given."""

    PHONE = "phone"
    TABLET = "tablet"


class ExecutionMode(_WireEnum):
    """Where a request was executed (telemetry): on the edge or locally."""

    EDGE = "edge"
    LOCAL = "local"


class LoggingType(_WireEnum):
    """Whether the Analytics (A4T) integration logs server side or client side."""

    SERVER_SIDE = "server_side"
    CLIENT_SIDE = "client_side"


class MetricType(_WireEnum):
    """Notification / metric type."""

    CLICK = "click"
    DISPLAY = "display"


class MobilePlatformType(_WireEnum):
    """Mobile platform; only activities of the matching platform are evaluated."""

    ANDROID = "android"
    IOS = "ios"


class OptionType(_WireEnum):
    """Kind of content an option carries."""

    HTML = "html"
    JSON = "json"
    REDIRECT = "redirect"
    DYNAMIC = "dynamic"
    ACTIONS = "actions"


class ScreenOrientationType(_WireEnum):
    """Screen orientation; only activities of the matching orientation are evaluated."""

    PORTRAIT = "portrait"
    LANDSCAPE = "landscape"
