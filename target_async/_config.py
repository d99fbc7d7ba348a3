"""Client configuration: the official SDK's option keys plus ours, checked once at `create()`.

Units follow the official documentation: `timeout`, `polling_interval` and
`maximum_wait_ready` are milliseconds (the official Python SDK mistakes two of them for
seconds; we don't).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from ._cookies import is_cluster
from ._exceptions import TargetConfigError
from ._logging import redact_url
from ._options import did_you_mean
from .models import DecisioningMethod

if TYPE_CHECKING:
    from ._option_types import ClientOptions

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_NOTIFICATION_BATCH_SIZE",
    "DEFAULT_NOTIFICATION_CONCURRENCY",
    "DEFAULT_NOTIFICATION_QUEUE_SIZE",
    "DEFAULT_NOTIFICATION_RETRY",
    "DEFAULT_POLLING_INTERVAL",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "EVENT_NAMES",
    "MINIMUM_POLLING_INTERVAL",
    "NO_OPTIONS",
    "RetryPolicy",
    "TargetConfig",
    "create_options",
    "parse_config",
]

DEFAULT_TIMEOUT = 3000  # ms, as the official SDKs
DEFAULT_POLLING_INTERVAL = 300_000  # ms; also the minimum Adobe allows
MINIMUM_POLLING_INTERVAL = 300_000
DEFAULT_ENVIRONMENT = "production"
CDN_HOSTS = {
    "production": "assets.adobetarget.com",
    "staging": "assets.staging.adobetarget.com",
    "development": "assets.staging.adobetarget.com",
}
# Every pooled connection may stay alive: a Target edge is one host and reconnecting
# costs a TLS handshake per call, which is what made the official SDK slow.
DEFAULT_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=30.0)

EVENT_NAMES = frozenset(
    {
        "client_ready",
        "artifact_download_succeeded",
        "artifact_download_failed",
        "geo_location_updated",
        "send_notification_error",
    }
)


# Larger than any sensible time (about 31,000 years in ms); an int beyond it may not fit a float.
_MAX_MS = 1e15


def _non_negative_seconds(instance: Any, attribute: attrs.Attribute[float], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < _MAX_MS:
        got = repr(value) if isinstance(value, float) or not isinstance(value, int) or value < _MAX_MS else "too large"
        raise TargetConfigError(
            f"RetryPolicy.{attribute.name} must be a finite number >= 0 of seconds, got {got}", key=attribute.name
        )


def _non_negative_int(instance: Any, attribute: attrs.Attribute[int], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TargetConfigError(f"RetryPolicy.{attribute.name} must be an int >= 0, got {value!r}", key=attribute.name)


def _statuses(statuses: Iterable[int]) -> frozenset[int]:
    # A typed converter: with `converter=frozenset`, mypy rejects every `retry_statuses=` argument.
    return frozenset(statuses)


@attrs.frozen
class RetryPolicy:
    """When and how the client retries a failed Delivery API call.

    Retries happen on connection errors and on the `retry_statuses`, with exponential
    backoff (`initial_delay * 2**n`, capped at `max_delay`, with jitter), honouring a
    `Retry-After` header up to `max_retry_after`. All of it stays inside the call's
    `timeout`. Other 4xx answers are final.
    """

    max_retries: int = attrs.field(default=1, validator=_non_negative_int)
    initial_delay: float = attrs.field(default=0.05, validator=_non_negative_seconds)
    max_delay: float = attrs.field(default=1.0, validator=_non_negative_seconds)
    max_retry_after: float = attrs.field(default=5.0, validator=_non_negative_seconds)
    retry_statuses: frozenset[int] = attrs.field(
        default=frozenset({408, 429, 500, 502, 503, 504}), converter=_statuses
    )


# Background notifications (`enqueue_notifications`). The queue bound counts notifications
# accepted but not yet sent or given up on, so memory stays bounded while the edge is down.
DEFAULT_NOTIFICATION_QUEUE_SIZE = 10_000
DEFAULT_NOTIFICATION_BATCH_SIZE = 50  # notifications per Delivery request
DEFAULT_NOTIFICATION_CONCURRENCY = 8  # Delivery requests in flight
DEFAULT_SHUTDOWN_TIMEOUT = 3000  # ms to drain the queue on close: one full request `timeout`
# Nobody waits for a background send, so it retries longer than a call (about 20 s in all)
# and on every 5xx; each attempt still has the client's `timeout`.
DEFAULT_NOTIFICATION_RETRY = RetryPolicy(
    max_retries=7,
    initial_delay=0.2,
    max_delay=10.0,
    max_retry_after=30.0,
    retry_statuses=[408, 429, *range(500, 600)],
)


def _url_repr(value: Any) -> str:
    return repr(redact_url(value)) if isinstance(value, str) else repr(value)


def _secret_repr(value: Any) -> str:
    return "None" if value is None else "'***'"


@attrs.frozen
class TargetConfig:
    """A validated client configuration (built by `parse_config`)."""

    client: str
    organization_id: str
    timeout: float = DEFAULT_TIMEOUT
    server_domain: str | None = None
    secure: bool = True
    target_location_hint: str | None = None
    decisioning_method: DecisioningMethod = DecisioningMethod.SERVER_SIDE
    polling_interval: int = DEFAULT_POLLING_INTERVAL
    artifact_location: str | None = attrs.field(default=None, repr=_url_repr)
    artifact_payload: Mapping[str, Any] | None = None
    environment_id: int | None = None
    environment: str = DEFAULT_ENVIRONMENT
    cdn_environment: str = DEFAULT_ENVIRONMENT
    cdn_base_path: str | None = attrs.field(default=None, repr=_url_repr)
    property_token: str | None = attrs.field(default=None, repr=_secret_repr)
    telemetry_enabled: bool = True
    events: Mapping[str, Callable[..., Any]] = attrs.field(factory=dict)
    logger: logging.Logger = attrs.field(factory=lambda: logging.getLogger("target_async"))
    maximum_wait_ready: int | None = None
    version: str | None = None
    transport: httpx.AsyncBaseTransport | None = None
    proxy: str | httpx.Proxy | None = attrs.field(default=None, repr=_url_repr)  # httpx.Proxy masks its own
    limits: httpx.Limits = DEFAULT_LIMITS
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    notification_queue_size: int = DEFAULT_NOTIFICATION_QUEUE_SIZE
    notification_batch_size: int = DEFAULT_NOTIFICATION_BATCH_SIZE
    notification_concurrency: int = DEFAULT_NOTIFICATION_CONCURRENCY
    notification_retry: RetryPolicy = DEFAULT_NOTIFICATION_RETRY
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT

    @property
    def scheme(self) -> str:
        return "https" if self.secure else "http"

    @property
    def cdn_host(self) -> str:
        """Host (with scheme) of the artifact CDN and of the geo service."""
        if self.cdn_base_path:
            base = self.cdn_base_path.rstrip("/")
            return base if "://" in base else f"https://{base}"
        return f"https://{CDN_HOSTS.get(self.cdn_environment, CDN_HOSTS['production'])}"


def _str(key: str, value: Any, *, required: bool = False, empty_message: str | None = None) -> str | None:
    if value is None or value == "":
        if required:
            raise TargetConfigError(empty_message or f"{key} is required", key=key)
        return None
    if not isinstance(value, str):
        raise TargetConfigError(f"{key} must be a str, got {type(value).__name__}", key=key)
    return value


# A host name or IPv4 address, or an IPv6 address in brackets, with an optional port: what
# `server_domain` may hold (no scheme, path, user info or query; the SDK adds the scheme).
_HOST_PORT = re.compile(
    r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
    r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?)(?::(\d{1,5}))?"
)


def _server_domain(value: Any) -> str | None:
    host = _str("server_domain", value)
    if host is None:
        return None
    match = _HOST_PORT.fullmatch(host)
    if match is None or len(host) > 260 or (match.group(1) is not None and not 0 < int(match.group(1)) < 65536):
        raise TargetConfigError(
            f"server_domain must be a host name with an optional port (e.g. 'edge.example.com:8443'), got {host!r}",
            key="server_domain",
        )
    return host


def _location_hint(value: Any) -> str | None:
    hint = _str("target_location_hint", value)
    if hint is not None and not is_cluster(hint):
        raise TargetConfigError(
            f"target_location_hint must be an edge cluster (1-16 ASCII letters and digits, e.g. '28'), got {hint!r}",
            key="target_location_hint",
        )
    return hint


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TargetConfigError(f"{key} must be a bool, got {type(value).__name__}", key=key)
    return value


def _milliseconds(key: str, value: Any, *, allow_zero: bool, allow_negative_one: bool = False) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TargetConfigError(f"{key} must be a number of milliseconds, got {type(value).__name__}", key=key)
    if allow_negative_one and (value == -1 or value == math.inf):
        return -1  # "wait indefinitely", as the official SDK spells it
    if not -_MAX_MS < value < _MAX_MS:  # NaN and infinity too; an int this large may not fit a float
        got = repr(value) if isinstance(value, float) else "an integer too large"
        raise TargetConfigError(f"{key} must be a finite number of milliseconds, got {got}", key=key)
    if value < 0 or (value == 0 and not allow_zero):
        raise TargetConfigError(f"{key} must be {'>= 0' if allow_zero else '> 0'} ms, got {value}", key=key)
    return value


def _positive_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TargetConfigError(f"{key} must be an int, got {type(value).__name__}", key=key)
    if value < 1:
        raise TargetConfigError(f"{key} must be >= 1, got {value}", key=key)
    return value


def _cdn_environment(value: Any) -> str:
    name = (_str("cdn_environment", value) or DEFAULT_ENVIRONMENT).lower()
    if name not in CDN_HOSTS:
        raise TargetConfigError(
            f"cdn_environment must be one of {', '.join(CDN_HOSTS)}, got {value!r} (another CDN: cdn_base_path)",
            key="cdn_environment",
        )
    return name


def _proxy(value: Any, transport: Any) -> str | httpx.Proxy | None:
    proxy: str | httpx.Proxy | None = _instance("proxy", value, (str, httpx.Proxy), "a URL string or httpx.Proxy")
    if proxy is not None and transport is not None:
        raise TargetConfigError(
            "proxy is not used with a transport: give the proxy to your transport instead, "
            "e.g. httpx.AsyncHTTPTransport(proxy=...)",
            key="proxy",
        )
    return proxy


def _instance(key: str, value: Any, cls: type[Any] | tuple[type[Any], ...], what: str) -> Any:
    if value is not None and not isinstance(value, cls):
        raise TargetConfigError(f"{key} must be {what}, got {type(value).__name__}", key=key)
    return value


def _decisioning_method(value: Any) -> DecisioningMethod:
    try:
        return DecisioningMethod(getattr(value, "value", value))
    except ValueError:
        allowed = ",".join(m.value for m in DecisioningMethod)
        # Only a string is shown: the repr of anything else may be huge, or fail.
        got = repr(value) if isinstance(value, str) else f"a {type(value).__name__}"
        raise TargetConfigError(
            f"Invalid Decisioning Method.  Must be set to one of: {allowed} (got {got})",
            key="decisioning_method",
        ) from None


def _events(value: Any) -> Mapping[str, Callable[..., Any]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TargetConfigError("events must be a mapping of event name to callable", key="events")
    for name, handler in value.items():
        if name not in EVENT_NAMES:
            raise TargetConfigError(
                f"events: unknown event {name!r}; known events: {', '.join(sorted(EVENT_NAMES))}",
                key="events",
            )
        if not callable(handler):
            raise TargetConfigError(f"events: handler for {name!r} is not callable", key="events")
    return dict(value)


def _polling_interval(value: Any, logger: logging.Logger) -> int:
    if value == math.inf:
        raise TargetConfigError("polling_interval must be finite; 0 never refreshes the artifact", key="polling_interval")
    interval = int(_milliseconds("polling_interval", value, allow_zero=True))
    if 0 < interval < MINIMUM_POLLING_INTERVAL:
        logger.warning(
            "polling_interval %d ms is below the minimum; using %d ms", interval, MINIMUM_POLLING_INTERVAL
        )
        return MINIMUM_POLLING_INTERVAL
    return interval


_KEYS = frozenset(f.name for f in attrs.fields(TargetConfig))


NO_OPTIONS: ClientOptions = {}
"""The default of `create(options)`: never changed, told apart by identity."""


def create_options(options: object, kwargs: Mapping[str, Any]) -> object:
    """The options `create(options, **kwargs)` was given, as one mapping for `parse_config`."""
    if not kwargs:
        return None if options is NO_OPTIONS else options
    if options is NO_OPTIONS or options is None:
        return kwargs
    if not isinstance(options, Mapping):
        return options  # refused by `parse_config`
    return {**options, **kwargs}


def parse_config(options: object) -> TargetConfig:
    """Check the options of `create()` and build the configuration.

    Raises `TargetConfigError` naming the first bad key: unknown keys are refused
    (a typo must not silently fall back to a default).
    """
    if options is None:
        raise TargetConfigError("Options are required")
    if not isinstance(options, Mapping):
        raise TargetConfigError(f"Options must be a mapping, got {type(options).__name__}")
    for key in options:
        if key not in _KEYS:
            raise TargetConfigError(f"Unknown option {key!r}{did_you_mean(key, _KEYS)}", key=str(key))

    o = dict(options)
    logger = _instance("logger", o.get("logger"), logging.Logger, "a logging.Logger") or logging.getLogger(
        "target_async"
    )
    environment_id = o.get("environment_id")
    if environment_id is not None and (isinstance(environment_id, bool) or not isinstance(environment_id, int)):
        raise TargetConfigError("environment_id must be an int", key="environment_id")
    artifact_payload = _instance("artifact_payload", o.get("artifact_payload"), Mapping, "a mapping (parsed JSON)")
    maximum_wait_ready = o.get("maximum_wait_ready")
    if maximum_wait_ready is not None:
        maximum_wait_ready = int(
            _milliseconds("maximum_wait_ready", maximum_wait_ready, allow_zero=True, allow_negative_one=True)
        )

    return TargetConfig(
        client=_str("client", o.get("client"), required=True, empty_message="Client is required") or "",
        organization_id=_str(
            "organization_id", o.get("organization_id"), required=True, empty_message="Organization Id is required"
        )
        or "",
        timeout=_milliseconds("timeout", o.get("timeout", DEFAULT_TIMEOUT), allow_zero=False),
        server_domain=_server_domain(o.get("server_domain")),
        secure=_bool("secure", o.get("secure", True)),
        target_location_hint=_location_hint(o.get("target_location_hint")),
        decisioning_method=_decisioning_method(o.get("decisioning_method", DecisioningMethod.SERVER_SIDE)),
        polling_interval=_polling_interval(o.get("polling_interval", DEFAULT_POLLING_INTERVAL), logger),
        artifact_location=_str("artifact_location", o.get("artifact_location")),
        artifact_payload=artifact_payload,
        environment_id=environment_id,
        environment=(_str("environment", o.get("environment")) or DEFAULT_ENVIRONMENT).lower(),
        cdn_environment=_cdn_environment(o.get("cdn_environment")),
        cdn_base_path=_str("cdn_base_path", o.get("cdn_base_path")),
        property_token=_str("property_token", o.get("property_token")),
        telemetry_enabled=_bool("telemetry_enabled", o.get("telemetry_enabled", True)),
        events=_events(o.get("events")),
        logger=logger,
        maximum_wait_ready=maximum_wait_ready,
        version=_str("version", o.get("version")),
        transport=_instance("transport", o.get("transport"), httpx.AsyncBaseTransport, "an httpx.AsyncBaseTransport"),
        proxy=_proxy(o.get("proxy"), o.get("transport")),
        limits=_instance("limits", o.get("limits"), httpx.Limits, "an httpx.Limits") or DEFAULT_LIMITS,
        retry=_instance("retry", o.get("retry"), RetryPolicy, "a RetryPolicy") or RetryPolicy(),
        notification_queue_size=_positive_int(
            "notification_queue_size", o.get("notification_queue_size", DEFAULT_NOTIFICATION_QUEUE_SIZE)
        ),
        notification_batch_size=_positive_int(
            "notification_batch_size", o.get("notification_batch_size", DEFAULT_NOTIFICATION_BATCH_SIZE)
        ),
        notification_concurrency=_positive_int(
            "notification_concurrency", o.get("notification_concurrency", DEFAULT_NOTIFICATION_CONCURRENCY)
        ),
        notification_retry=_instance("notification_retry", o.get("notification_retry"), RetryPolicy, "a RetryPolicy")
        or DEFAULT_NOTIFICATION_RETRY,
        shutdown_timeout=_milliseconds(
            "shutdown_timeout", o.get("shutdown_timeout", DEFAULT_SHUTDOWN_TIMEOUT), allow_zero=True
        ),
    )
