"""Delivery API models: attrs classes (snake_case fields) and string enums.

Every schema component of the Delivery API spec has a counterpart here under the
same name. Objects are mutable `attrs` classes whose fields are all keyword-only and
default to `None` (absent); required wire fields such as `context` and the mbox
`index` are filled in by the SDK, which copies a request with `attrs.evolve` and
never mutates yours. Free-form maps are plain dict aliases:

* `Parameters`: `dict[str, str]` (mbox and profile parameters),
* `ResponseTokens`: `dict[str, Any]`,
* `TraceResponse`: `dict[str, Any]`.

`Option.content` (a string, object or list) and `AnalyticsResponse.payload` (forwarded
to Analytics as is; `AnalyticsPayload` names its keys) are kept as received too.

The client converts them to and from the wire's camelCase JSON itself: pass models to the
calls and read models from `result.response`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

# The public names, by the module defining each: the one list. `__all__` and the lazy
# `__getattr__` are made from it, and tests/test_public_api.py checks that the imports
# type checkers read below name the same.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "._common": (
        "ABTOrder",
        "CustomerId",
        "Order",
        "Parameters",
        "Preview",
        "Product",
        "QAMode",
        "QAModePreviewIndex",
        "ResponseTokens",
        "UnexpectedError",
        "VisitorId",
    ),
    "._enums": (
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
    ),
    "._request": (
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
    ),
    "._response": (
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
    ),
}

if TYPE_CHECKING:
    from ._common import ABTOrder as ABTOrder
    from ._common import CustomerId as CustomerId
    from ._common import Order as Order
    from ._common import Parameters as Parameters
    from ._common import Preview as Preview
    from ._common import Product as Product
    from ._common import QAMode as QAMode
    from ._common import QAModePreviewIndex as QAModePreviewIndex
    from ._common import ResponseTokens as ResponseTokens
    from ._common import UnexpectedError as UnexpectedError
    from ._common import VisitorId as VisitorId
    from ._enums import AuthenticatedState as AuthenticatedState
    from ._enums import ChannelType as ChannelType
    from ._enums import DecisioningMethod as DecisioningMethod
    from ._enums import DeviceType as DeviceType
    from ._enums import ExecutionMode as ExecutionMode
    from ._enums import LoggingType as LoggingType
    from ._enums import MetricType as MetricType
    from ._enums import MobilePlatformType as MobilePlatformType
    from ._enums import OptionType as OptionType
    from ._enums import ScreenOrientationType as ScreenOrientationType
    from ._request import Address as Address
    from ._request import AnalyticsRequest as AnalyticsRequest
    from ._request import Application as Application
    from ._request import AudienceManager as AudienceManager
    from ._request import Browser as Browser
    from ._request import ClientHints as ClientHints
    from ._request import Context as Context
    from ._request import DeliveryRequest as DeliveryRequest
    from ._request import ExecuteRequest as ExecuteRequest
    from ._request import ExperienceCloud as ExperienceCloud
    from ._request import Geo as Geo
    from ._request import MboxRequest as MboxRequest
    from ._request import MobilePlatform as MobilePlatform
    from ._request import Notification as Notification
    from ._request import NotificationMbox as NotificationMbox
    from ._request import NotificationPageLoad as NotificationPageLoad
    from ._request import NotificationView as NotificationView
    from ._request import PrefetchRequest as PrefetchRequest
    from ._request import Property as Property
    from ._request import RequestDetails as RequestDetails
    from ._request import Screen as Screen
    from ._request import Telemetry as Telemetry
    from ._request import TelemetryEntry as TelemetryEntry
    from ._request import TelemetryFeatures as TelemetryFeatures
    from ._request import TelemetryRequest as TelemetryRequest
    from ._request import Trace as Trace
    from ._request import ViewRequest as ViewRequest
    from ._request import Window as Window
    from ._response import AnalyticsPayload as AnalyticsPayload
    from ._response import AnalyticsResponse as AnalyticsResponse
    from ._response import DeliveryResponse as DeliveryResponse
    from ._response import ExecuteResponse as ExecuteResponse
    from ._response import MboxResponse as MboxResponse
    from ._response import Metric as Metric
    from ._response import NotificationResponse as NotificationResponse
    from ._response import Option as Option
    from ._response import PageLoadResponse as PageLoadResponse
    from ._response import PrefetchMboxResponse as PrefetchMboxResponse
    from ._response import PrefetchResponse as PrefetchResponse
    from ._response import TraceResponse as TraceResponse
    from ._response import View as View

__all__ = sorted(
    (name for names in _EXPORTS.values() for name in names),
    key=lambda name: (0 if name.isupper() else 1 if name[0].isupper() else 2, name),
)

# Hidden from type checkers: a module `__getattr__` would make every misspelt import `Any`.
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        globals(),
        {name: module for module, names in _EXPORTS.items() for name in names},
    )
