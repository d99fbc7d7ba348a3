"""target-async: the asyncio-native SDK for the Adobe Target Delivery API.

Public names are loaded on first use (PEP 562), so `import target_async` stays cheap and
a server-side user never imports the on-device engine or the sync shim.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from ._version import __version__ as __version__

# The public names, by the module defining each: the one list. `__all__` and the lazy
# `__getattr__` are made from it, and tests/test_public_api.py checks that the imports
# type checkers read below name the same.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "._attributes": ("AttributesProvider",),
    "._client": ("AsyncTargetClient",),
    "._config": (
        "DEFAULT_POLLING_INTERVAL",
        "DEFAULT_TIMEOUT",
        "RetryPolicy",
        "TargetConfig",
    ),
    "._cookies": (
        "LOCATION_HINT_COOKIE",
        "TARGET_COOKIE",
        "Cookie",
        "visitor_cookie_name",
    ),
    "._delivery": (
        "ResponseMeta",
        "TargetDeliveryResponse",
    ),
    "._events": ("TargetEvent",),
    "._exceptions": (
        "ArtifactError",
        "ArtifactNotReadyError",
        "AttributeNotFoundError",
        "AuthenticationError",
        "BadRequestError",
        "ClientStateError",
        "DecisioningError",
        "NotFoundError",
        "RateLimitError",
        "ResponseDecodingError",
        "ServerError",
        "TargetConfigError",
        "TargetConnectionError",
        "TargetError",
        "TargetRequestError",
        "TargetStatusError",
        "TargetTimeoutError",
        "TargetValidationError",
    ),
    "._future": ("TargetFuture",),
    "._notifications": ("NotificationStats",),
    "._option_types": (
        "AttributesCallbackOptions",
        "CallbackOptions",
        "ClientOptions",
        "ErrCallbackOptions",
        "RequestOptions",
    ),
    "._sync": ("TargetClient",),
    "._version": ("__version__",),
    "._visitor": ("Visitor", "VisitorLike"),
    ".models": (
        "ABTOrder",
        "Address",
        "AnalyticsPayload",
        "AnalyticsRequest",
        "AnalyticsResponse",
        "Application",
        "AudienceManager",
        "AuthenticatedState",
        "Browser",
        "ChannelType",
        "ClientHints",
        "Context",
        "CustomerId",
        "DecisioningMethod",
        "DeliveryRequest",
        "DeliveryResponse",
        "DeviceType",
        "ExecuteRequest",
        "ExecuteResponse",
        "ExecutionMode",
        "ExperienceCloud",
        "Geo",
        "LoggingType",
        "MboxRequest",
        "MboxResponse",
        "Metric",
        "MetricType",
        "MobilePlatform",
        "MobilePlatformType",
        "Notification",
        "NotificationMbox",
        "NotificationPageLoad",
        "NotificationResponse",
        "NotificationView",
        "Option",
        "OptionType",
        "Order",
        "PageLoadResponse",
        "Parameters",
        "PrefetchMboxResponse",
        "PrefetchRequest",
        "PrefetchResponse",
        "Preview",
        "Product",
        "Property",
        "QAMode",
        "QAModePreviewIndex",
        "RequestDetails",
        "ResponseTokens",
        "Screen",
        "ScreenOrientationType",
        "Telemetry",
        "TelemetryEntry",
        "TelemetryFeatures",
        "TelemetryRequest",
        "Trace",
        "TraceResponse",
        "UnexpectedError",
        "View",
        "ViewRequest",
        "VisitorId",
        "Window",
    ),
}

if TYPE_CHECKING:
    from ._attributes import AttributesProvider as AttributesProvider
    from ._client import AsyncTargetClient as AsyncTargetClient
    from ._config import DEFAULT_POLLING_INTERVAL as DEFAULT_POLLING_INTERVAL
    from ._config import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
    from ._config import RetryPolicy as RetryPolicy
    from ._config import TargetConfig as TargetConfig
    from ._cookies import LOCATION_HINT_COOKIE as LOCATION_HINT_COOKIE
    from ._cookies import TARGET_COOKIE as TARGET_COOKIE
    from ._cookies import Cookie as Cookie
    from ._cookies import visitor_cookie_name as visitor_cookie_name
    from ._delivery import ResponseMeta as ResponseMeta
    from ._delivery import TargetDeliveryResponse as TargetDeliveryResponse
    from ._events import TargetEvent as TargetEvent
    from ._exceptions import ArtifactError as ArtifactError
    from ._exceptions import ArtifactNotReadyError as ArtifactNotReadyError
    from ._exceptions import AttributeNotFoundError as AttributeNotFoundError
    from ._exceptions import AuthenticationError as AuthenticationError
    from ._exceptions import BadRequestError as BadRequestError
    from ._exceptions import ClientStateError as ClientStateError
    from ._exceptions import DecisioningError as DecisioningError
    from ._exceptions import NotFoundError as NotFoundError
    from ._exceptions import RateLimitError as RateLimitError
    from ._exceptions import ResponseDecodingError as ResponseDecodingError
    from ._exceptions import ServerError as ServerError
    from ._exceptions import TargetConfigError as TargetConfigError
    from ._exceptions import TargetConnectionError as TargetConnectionError
    from ._exceptions import TargetError as TargetError
    from ._exceptions import TargetRequestError as TargetRequestError
    from ._exceptions import TargetStatusError as TargetStatusError
    from ._exceptions import TargetTimeoutError as TargetTimeoutError
    from ._exceptions import TargetValidationError as TargetValidationError
    from ._future import TargetFuture as TargetFuture
    from ._notifications import NotificationStats as NotificationStats
    from ._option_types import AttributesCallbackOptions as AttributesCallbackOptions
    from ._option_types import CallbackOptions as CallbackOptions
    from ._option_types import ClientOptions as ClientOptions
    from ._option_types import ErrCallbackOptions as ErrCallbackOptions
    from ._option_types import RequestOptions as RequestOptions
    from ._sync import TargetClient as TargetClient
    from ._visitor import Visitor as Visitor
    from ._visitor import VisitorLike as VisitorLike
    from .models import ABTOrder as ABTOrder
    from .models import Address as Address
    from .models import AnalyticsPayload as AnalyticsPayload
    from .models import AnalyticsRequest as AnalyticsRequest
    from .models import AnalyticsResponse as AnalyticsResponse
    from .models import Application as Application
    from .models import AudienceManager as AudienceManager
    from .models import AuthenticatedState as AuthenticatedState
    from .models import Browser as Browser
    from .models import ChannelType as ChannelType
    from .models import ClientHints as ClientHints
    from .models import Context as Context
    from .models import CustomerId as CustomerId
    from .models import DecisioningMethod as DecisioningMethod
    from .models import DeliveryRequest as DeliveryRequest
    from .models import DeliveryResponse as DeliveryResponse
    from .models import DeviceType as DeviceType
    from .models import ExecuteRequest as ExecuteRequest
    from .models import ExecuteResponse as ExecuteResponse
    from .models import ExecutionMode as ExecutionMode
    from .models import ExperienceCloud as ExperienceCloud
    from .models import Geo as Geo
    from .models import LoggingType as LoggingType
    from .models import MboxRequest as MboxRequest
    from .models import MboxResponse as MboxResponse
    from .models import Metric as Metric
    from .models import MetricType as MetricType
    from .models import MobilePlatform as MobilePlatform
    from .models import MobilePlatformType as MobilePlatformType
    from .models import Notification as Notification
    from .models import NotificationMbox as NotificationMbox
    from .models import NotificationPageLoad as NotificationPageLoad
    from .models import NotificationResponse as NotificationResponse
    from .models import NotificationView as NotificationView
    from .models import Option as Option
    from .models import OptionType as OptionType
    from .models import Order as Order
    from .models import PageLoadResponse as PageLoadResponse
    from .models import Parameters as Parameters
    from .models import PrefetchMboxResponse as PrefetchMboxResponse
    from .models import PrefetchRequest as PrefetchRequest
    from .models import PrefetchResponse as PrefetchResponse
    from .models import Preview as Preview
    from .models import Product as Product
    from .models import Property as Property
    from .models import QAMode as QAMode
    from .models import QAModePreviewIndex as QAModePreviewIndex
    from .models import RequestDetails as RequestDetails
    from .models import ResponseTokens as ResponseTokens
    from .models import Screen as Screen
    from .models import ScreenOrientationType as ScreenOrientationType
    from .models import Telemetry as Telemetry
    from .models import TelemetryEntry as TelemetryEntry
    from .models import TelemetryFeatures as TelemetryFeatures
    from .models import TelemetryRequest as TelemetryRequest
    from .models import Trace as Trace
    from .models import TraceResponse as TraceResponse
    from .models import UnexpectedError as UnexpectedError
    from .models import View as View
    from .models import ViewRequest as ViewRequest
    from .models import VisitorId as VisitorId
    from .models import Window as Window

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
        public_module=True,
    )
