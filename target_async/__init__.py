"""target-async: the asyncio-native SDK for the Adobe Target Delivery API.

Public names are loaded on first use (PEP 562), so `import target_async` stays cheap and
a server-side user never imports the on-device engine or the sync shim.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from ._version import __version__

if TYPE_CHECKING:
    from ._attributes import (
        AttributesProvider as AttributesProvider,
    )
    from ._client import (
        AsyncTargetClient as AsyncTargetClient,
    )
    from ._config import (
        DEFAULT_POLLING_INTERVAL as DEFAULT_POLLING_INTERVAL,
    )
    from ._config import (
        DEFAULT_TIMEOUT as DEFAULT_TIMEOUT,
    )
    from ._config import (
        RetryPolicy as RetryPolicy,
    )
    from ._config import (
        TargetConfig as TargetConfig,
    )
    from ._cookies import (
        LOCATION_HINT_COOKIE as LOCATION_HINT_COOKIE,
    )
    from ._cookies import (
        TARGET_COOKIE as TARGET_COOKIE,
    )
    from ._cookies import (
        Cookie as Cookie,
    )
    from ._cookies import (
        visitor_cookie_name as visitor_cookie_name,
    )
    from ._delivery import (
        ResponseMeta as ResponseMeta,
    )
    from ._delivery import (
        TargetDeliveryResponse as TargetDeliveryResponse,
    )
    from ._events import (
        TargetEvent as TargetEvent,
    )
    from ._exceptions import (
        ArtifactError as ArtifactError,
    )
    from ._exceptions import (
        ArtifactNotReadyError as ArtifactNotReadyError,
    )
    from ._exceptions import (
        AttributeNotFoundError as AttributeNotFoundError,
    )
    from ._exceptions import (
        AuthenticationError as AuthenticationError,
    )
    from ._exceptions import (
        BadRequestError as BadRequestError,
    )
    from ._exceptions import (
        ClientStateError as ClientStateError,
    )
    from ._exceptions import (
        DecisioningError as DecisioningError,
    )
    from ._exceptions import (
        NotFoundError as NotFoundError,
    )
    from ._exceptions import (
        RateLimitError as RateLimitError,
    )
    from ._exceptions import (
        ResponseDecodingError as ResponseDecodingError,
    )
    from ._exceptions import (
        ServerError as ServerError,
    )
    from ._exceptions import (
        TargetConfigError as TargetConfigError,
    )
    from ._exceptions import (
        TargetConnectionError as TargetConnectionError,
    )
    from ._exceptions import (
        TargetError as TargetError,
    )
    from ._exceptions import (
        TargetRequestError as TargetRequestError,
    )
    from ._exceptions import (
        TargetStatusError as TargetStatusError,
    )
    from ._exceptions import (
        TargetTimeoutError as TargetTimeoutError,
    )
    from ._exceptions import (
        TargetValidationError as TargetValidationError,
    )
    from ._future import (
        TargetFuture as TargetFuture,
    )
    from ._notifications import (
        NotificationStats as NotificationStats,
    )
    from ._sync import (
        TargetClient as TargetClient,
    )
    from ._version import (
        __version__ as __version__,
    )
    from .models import (
        ABTOrder as ABTOrder,
    )
    from .models import (
        Address as Address,
    )
    from .models import (
        AnalyticsPayload as AnalyticsPayload,
    )
    from .models import (
        AnalyticsRequest as AnalyticsRequest,
    )
    from .models import (
        AnalyticsResponse as AnalyticsResponse,
    )
    from .models import (
        Application as Application,
    )
    from .models import (
        AudienceManager as AudienceManager,
    )
    from .models import (
        AuthenticatedState as AuthenticatedState,
    )
    from .models import (
        Browser as Browser,
    )
    from .models import (
        ChannelType as ChannelType,
    )
    from .models import (
        ClientHints as ClientHints,
    )
    from .models import (
        Context as Context,
    )
    from .models import (
        CustomerId as CustomerId,
    )
    from .models import (
        DecisioningMethod as DecisioningMethod,
    )
    from .models import (
        DeliveryRequest as DeliveryRequest,
    )
    from .models import (
        DeliveryResponse as DeliveryResponse,
    )
    from .models import (
        DeviceType as DeviceType,
    )
    from .models import (
        ExecuteRequest as ExecuteRequest,
    )
    from .models import (
        ExecuteResponse as ExecuteResponse,
    )
    from .models import (
        ExecutionMode as ExecutionMode,
    )
    from .models import (
        ExperienceCloud as ExperienceCloud,
    )
    from .models import (
        Geo as Geo,
    )
    from .models import (
        LoggingType as LoggingType,
    )
    from .models import (
        MboxRequest as MboxRequest,
    )
    from .models import (
        MboxResponse as MboxResponse,
    )
    from .models import (
        Metric as Metric,
    )
    from .models import (
        MetricType as MetricType,
    )
    from .models import (
        MobilePlatform as MobilePlatform,
    )
    from .models import (
        MobilePlatformType as MobilePlatformType,
    )
    from .models import (
        Notification as Notification,
    )
    from .models import (
        NotificationMbox as NotificationMbox,
    )
    from .models import (
        NotificationPageLoad as NotificationPageLoad,
    )
    from .models import (
        NotificationResponse as NotificationResponse,
    )
    from .models import (
        NotificationView as NotificationView,
    )
    from .models import (
        Option as Option,
    )
    from .models import (
        OptionType as OptionType,
    )
    from .models import (
        Order as Order,
    )
    from .models import (
        PageLoadResponse as PageLoadResponse,
    )
    from .models import (
        Parameters as Parameters,
    )
    from .models import (
        PrefetchMboxResponse as PrefetchMboxResponse,
    )
    from .models import (
        PrefetchRequest as PrefetchRequest,
    )
    from .models import (
        PrefetchResponse as PrefetchResponse,
    )
    from .models import (
        Preview as Preview,
    )
    from .models import (
        Product as Product,
    )
    from .models import (
        Property as Property,
    )
    from .models import (
        QAMode as QAMode,
    )
    from .models import (
        QAModePreviewIndex as QAModePreviewIndex,
    )
    from .models import (
        RequestDetails as RequestDetails,
    )
    from .models import (
        ResponseTokens as ResponseTokens,
    )
    from .models import (
        Screen as Screen,
    )
    from .models import (
        ScreenOrientationType as ScreenOrientationType,
    )
    from .models import (
        Telemetry as Telemetry,
    )
    from .models import (
        TelemetryEntry as TelemetryEntry,
    )
    from .models import (
        TelemetryFeatures as TelemetryFeatures,
    )
    from .models import (
        TelemetryRequest as TelemetryRequest,
    )
    from .models import (
        Trace as Trace,
    )
    from .models import (
        TraceResponse as TraceResponse,
    )
    from .models import (
        UnexpectedError as UnexpectedError,
    )
    from .models import (
        View as View,
    )
    from .models import (
        ViewRequest as ViewRequest,
    )
    from .models import (
        VisitorId as VisitorId,
    )
    from .models import (
        Window as Window,
    )

_EXPORTS: dict[str, str] = {
    "ABTOrder": ".models",
    "Address": ".models",
    "AnalyticsPayload": ".models",
    "AnalyticsRequest": ".models",
    "AnalyticsResponse": ".models",
    "Application": ".models",
    "ArtifactError": "._exceptions",
    "ArtifactNotReadyError": "._exceptions",
    "AsyncTargetClient": "._client",
    "AttributeNotFoundError": "._exceptions",
    "AttributesProvider": "._attributes",
    "AudienceManager": ".models",
    "AuthenticatedState": ".models",
    "AuthenticationError": "._exceptions",
    "BadRequestError": "._exceptions",
    "Browser": ".models",
    "ChannelType": ".models",
    "ClientHints": ".models",
    "ClientStateError": "._exceptions",
    "Context": ".models",
    "Cookie": "._cookies",
    "CustomerId": ".models",
    "DEFAULT_POLLING_INTERVAL": "._config",
    "DEFAULT_TIMEOUT": "._config",
    "DecisioningError": "._exceptions",
    "DecisioningMethod": ".models",
    "DeliveryRequest": ".models",
    "DeliveryResponse": ".models",
    "DeviceType": ".models",
    "ExecuteRequest": ".models",
    "ExecuteResponse": ".models",
    "ExecutionMode": ".models",
    "ExperienceCloud": ".models",
    "Geo": ".models",
    "LOCATION_HINT_COOKIE": "._cookies",
    "LoggingType": ".models",
    "MboxRequest": ".models",
    "MboxResponse": ".models",
    "Metric": ".models",
    "MetricType": ".models",
    "MobilePlatform": ".models",
    "MobilePlatformType": ".models",
    "NotFoundError": "._exceptions",
    "Notification": ".models",
    "NotificationMbox": ".models",
    "NotificationPageLoad": ".models",
    "NotificationResponse": ".models",
    "NotificationStats": "._notifications",
    "NotificationView": ".models",
    "Option": ".models",
    "OptionType": ".models",
    "Order": ".models",
    "PageLoadResponse": ".models",
    "Parameters": ".models",
    "PrefetchMboxResponse": ".models",
    "PrefetchRequest": ".models",
    "PrefetchResponse": ".models",
    "Preview": ".models",
    "Product": ".models",
    "Property": ".models",
    "QAMode": ".models",
    "QAModePreviewIndex": ".models",
    "RateLimitError": "._exceptions",
    "RequestDetails": ".models",
    "ResponseDecodingError": "._exceptions",
    "ResponseMeta": "._delivery",
    "ResponseTokens": ".models",
    "RetryPolicy": "._config",
    "Screen": ".models",
    "ScreenOrientationType": ".models",
    "ServerError": "._exceptions",
    "TARGET_COOKIE": "._cookies",
    "TargetClient": "._sync",
    "TargetConfig": "._config",
    "TargetConfigError": "._exceptions",
    "TargetConnectionError": "._exceptions",
    "TargetDeliveryResponse": "._delivery",
    "TargetError": "._exceptions",
    "TargetEvent": "._events",
    "TargetFuture": "._future",
    "TargetRequestError": "._exceptions",
    "TargetStatusError": "._exceptions",
    "TargetTimeoutError": "._exceptions",
    "TargetValidationError": "._exceptions",
    "Telemetry": ".models",
    "TelemetryEntry": ".models",
    "TelemetryFeatures": ".models",
    "TelemetryRequest": ".models",
    "Trace": ".models",
    "TraceResponse": ".models",
    "UnexpectedError": ".models",
    "View": ".models",
    "ViewRequest": ".models",
    "VisitorId": ".models",
    "Window": ".models",
    "visitor_cookie_name": "._cookies",
}

__all__ = [
    "DEFAULT_POLLING_INTERVAL",
    "DEFAULT_TIMEOUT",
    "LOCATION_HINT_COOKIE",
    "TARGET_COOKIE",
    "ABTOrder",
    "Address",
    "AnalyticsPayload",
    "AnalyticsRequest",
    "AnalyticsResponse",
    "Application",
    "ArtifactError",
    "ArtifactNotReadyError",
    "AsyncTargetClient",
    "AttributeNotFoundError",
    "AttributesProvider",
    "AudienceManager",
    "AuthenticatedState",
    "AuthenticationError",
    "BadRequestError",
    "Browser",
    "ChannelType",
    "ClientHints",
    "ClientStateError",
    "Context",
    "Cookie",
    "CustomerId",
    "DecisioningError",
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
    "NotFoundError",
    "Notification",
    "NotificationMbox",
    "NotificationPageLoad",
    "NotificationResponse",
    "NotificationStats",
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
    "RateLimitError",
    "RequestDetails",
    "ResponseDecodingError",
    "ResponseMeta",
    "ResponseTokens",
    "RetryPolicy",
    "Screen",
    "ScreenOrientationType",
    "ServerError",
    "TargetClient",
    "TargetConfig",
    "TargetConfigError",
    "TargetConnectionError",
    "TargetDeliveryResponse",
    "TargetError",
    "TargetEvent",
    "TargetFuture",
    "TargetRequestError",
    "TargetStatusError",
    "TargetTimeoutError",
    "TargetValidationError",
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
    "__version__",
    "visitor_cookie_name",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, public_module=True)
