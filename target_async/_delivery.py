"""Delivery request normalisation and the response envelope: pure, no I/O.

A request is normalised in its wire form (camelCase dict) so that the user's
`DeliveryRequest` is never mutated and the body is built once.
"""

from __future__ import annotations

import logging
import re
import reprlib
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from . import _serde
from ._config import TargetConfig
from ._cookies import (
    DEVICE_ID_ENTRY,
    SESSION_ENTRY,
    Cookie,
    cluster_from_edge_host,
    cluster_from_tnt_id,
    describe_untrusted,
    edge_host,
    is_cluster,
    location_hint_cookie,
    parse_target_cookie,
    target_cookie,
)
from ._exceptions import TargetValidationError
from ._options import CallOptions
from ._random import random_id
from ._visitor import apply_identity, visitor_state
from ._wire import check_request_json, check_request_shape
from .models import DecisioningMethod, DeliveryRequest
from .models._base import check_fields

if TYPE_CHECKING:
    # The response models are loaded by the first response (`build_envelope`), not at import.
    from .models import AnalyticsResponse, DeliveryResponse

__all__ = [
    "PreparedRequest",
    "ResponseMeta",
    "TargetDeliveryResponse",
    "apply_request_defaults",
    "build_envelope",
    "edge_route",
    "new_uuid4",
    "prepare_request",
    "request_dict",
    "structure_response",
    "validate_request",
]

_CHANNELS = frozenset({"web", "mobile"})
_NOTIFICATION_TYPES = frozenset({"click", "display"})
# The Delivery API's rule: 1-128 printable characters except space, "?" and "/".
# Lone surrogates too: they cannot be encoded into the URL's sessionId or the cookie.
_SESSION_ID = re.compile(r"[^\x00-\x20\x7f-\x9f?/\ud800-\udfff]{1,128}")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_ANALYTICS_DEFAULT_LOGGING = "server_side"
# Parts of a rejected request in log lines: bounded in depth and length, whatever was sent.
_LOG_REPR = reprlib.Repr()
_LOG_REPR.maxlevel = 4
_LOG_REPR.maxstring = _LOG_REPR.maxother = 80
# Larger than any epoch-ms timestamp, small enough for JSON: keeps NaN and infinity out.
_MAX_TIMESTAMP = 1e18
# uuid4's variant nibble (RFC 4122: 10xx) for each random hex digit.
_UUID_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_uuid4() -> str:
    """`str(uuid.uuid4())`, formatted directly: same randomness source, a fifth of the cost."""
    h = random_id()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_UUID_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


# Not frozen (a frozen `__init__` costs three times as much, on every call); never changed
# once built.
@attrs.define
class PreparedRequest:
    """A normalised request, ready to send or to decide locally."""

    body: dict[str, Any]
    session_id: str
    cluster: str | None
    host: str
    visitor: Any = None
    """The call's visitor (ECID service), whose state the result carries."""


def request_dict(request: Any, *, required_message: str) -> dict[str, Any]:
    """A call's request (model or wire dict) as a wire dict the caller may change at top level."""
    if type(request) is dict:  # the common case, ahead of the slower isinstance checks
        return dict(request)
    if isinstance(request, DeliveryRequest):
        try:
            body = _serde.unstructure(request)
        except Exception as exc:  # a field set to a wrong type after the model was built
            try:
                check_fields(request)
            except TargetValidationError as refused:
                raise refused from exc
            raise TargetValidationError(f"The request cannot be converted to JSON: {exc!r:.200}") from exc
        assert isinstance(body, dict)
        return body
    if isinstance(request, Mapping):
        # A plain dict is taken as wire JSON (camelCase). Normalisation copies every
        # level it changes, so the caller's dict is never mutated without a deep copy.
        return dict(request)
    if request is None:
        raise TargetValidationError(required_message)
    raise TargetValidationError(
        f"Request object of type DeliveryRequest is required, got {type(request).__name__}"
    )


def _valid_mboxes(mboxes: Any, logger: logging.Logger) -> list[dict[str, Any]]:
    if not isinstance(mboxes, list):
        return []
    valid: list[dict[str, Any]] = []
    for position, mbox in enumerate(mboxes):
        if isinstance(mbox, dict) and isinstance(mbox.get("name"), str) and mbox["name"]:
            index = mbox.get("index")
            if isinstance(index, bool) or not isinstance(index, int):
                mbox = {**mbox, "index": position}
            valid.append(mbox)
        else:
            logger.warning(
                "Mbox validation failed for: %s (dropped: an mbox needs a non-empty name)", _LOG_REPR.repr(mbox)
            )
    return valid


def _normalise_section(body: dict[str, Any], key: str, logger: logging.Logger) -> None:
    section = body.get(key)
    if section is None:
        return
    if not isinstance(section, dict):
        raise TargetValidationError(f"{key} must be an object")
    section = body[key] = dict(section)
    has_page_load = section.get("pageLoad") is not None
    has_views = key == "prefetch" and section.get("views") is not None
    if not has_page_load and not has_views and not section.get("mboxes"):
        raise TargetValidationError(
            "Either pageLoad or mboxes is required in execute"
            if key == "execute"
            else "Either views, pageLoad or mboxes is required in prefetch"
        )
    if "mboxes" in section:
        mboxes = _valid_mboxes(section["mboxes"], logger)
        if mboxes:
            section["mboxes"] = mboxes
        else:
            del section["mboxes"]
    if not has_page_load and not has_views and not section.get("mboxes"):
        del body[key]


def _describe_notification(notification: Any) -> str:
    if not isinstance(notification, dict):
        return f"a {type(notification).__name__}"
    fields = ("id", "type", "timestamp")
    return "{" + ", ".join(f"{k}={_LOG_REPR.repr(notification.get(k))}" for k in fields) + "}"


def _normalise_notifications(body: dict[str, Any], logger: logging.Logger, *, required: bool) -> None:
    notifications = body.get("notifications")
    if notifications is None or (not notifications and type(notifications) is list):
        if required and not body.get("telemetry"):
            raise TargetValidationError("Notifications list is required in request")
        body.pop("notifications", None)
        return
    if not isinstance(notifications, list):
        raise TargetValidationError("notifications must be a list of Notification")
    valid = []
    for notification in notifications:
        # Inlined (this runs for every notification enqueued): a non-empty id, a type, a
        # numeric timestamp.
        get = notification.get if isinstance(notification, dict) else None
        if (
            get is not None
            and (nid := get("id"))
            and isinstance(nid, str)
            and isinstance(notification_type := get("type"), str)
            and notification_type in _NOTIFICATION_TYPES
            and isinstance(timestamp := get("timestamp"), (int, float))
            and not isinstance(timestamp, bool)
            and -_MAX_TIMESTAMP < timestamp < _MAX_TIMESTAMP  # NaN and infinity fail this too
        ):
            valid.append(notification)
        else:
            # Event tokens stay out of logs above DEBUG: the warning names the fields only.
            logger.warning(
                "Notification validation failed for: %s (dropped: it needs a non-empty id, a finite "
                "numeric timestamp and type 'display' or 'click')",
                _describe_notification(notification),
            )
    if not valid and required and not body.get("telemetry"):
        raise TargetValidationError(
            f"Notifications list is required in request: all {len(notifications)} notifications were invalid"
        )
    body["notifications"] = valid


def _local_utc_offset_minutes() -> float:
    return -(time.altzone if time.daylight and time.localtime().tm_isdst > 0 else time.timezone) / 60


def validate_request(
    config: TargetConfig,
    options: CallOptions,
    *,
    notifications_required: bool = False,
    supplemental_data_id: bool = True,
) -> tuple[dict[str, Any], str]:
    """Check and normalise a call's request: its wire body and session id.

    Invalid mboxes and notifications inside an otherwise valid request are dropped with
    a warning, as the official SDKs do; a request that cannot be sent raises
    `TargetValidationError`. The visitor's identity is put in (`_visitor.apply_identity`;
    `supplemental_data_id=False`: without asking for an A4T SDID). The defaults that cannot
    fail (`apply_request_defaults`) and the edge host (`edge_route`) are left to the caller:
    the notification pipeline adds them in the background, off the caller's path.
    """
    body, session_id, _ = _validated(config, options, notifications_required, supplemental_data_id)
    return body, session_id


def _validated(
    config: TargetConfig, options: CallOptions, notifications_required: bool, supplemental_data_id: bool
) -> tuple[dict[str, Any], str, Any]:
    logger = config.logger
    body = request_dict(
        options.request,
        required_message="Notifications list is required in request"
        if notifications_required
        else "Request object of type DeliveryRequest is required",
    )
    check_request_shape(body)
    get = body.get
    if get("execute") is not None:
        _normalise_section(body, "execute", logger)
    if get("prefetch") is not None:
        _normalise_section(body, "prefetch", logger)
    _normalise_notifications(body, logger, required=notifications_required)

    if options.target_cookie:
        cookies = parse_target_cookie(options.target_cookie)
        session_cookie = cookies.get(SESSION_ENTRY)
        device = cookies.get(DEVICE_ID_ENTRY)
        given_session = (session_cookie.value if session_cookie and session_cookie.value else None) or options.session_id
    else:
        device = None
        given_session = options.session_id
    if not given_session:
        session_id = new_uuid4()
    elif _SESSION_ID.fullmatch(given_session) is not None:
        session_id = given_session
    else:
        raise TargetValidationError("session_id must be 1-128 printable characters without space, '?' or '/'")

    if device and device.value and _SURROGATE.search(device.value) is None:  # else a malformed entry, ignored
        visitor_id: dict[str, Any] = dict(get("id") or ())  # the caller's dict stays as it was
        if not visitor_id.get("tntId"):
            visitor_id["tntId"] = device.value
            body["id"] = visitor_id
    visitor = apply_identity(
        body,
        organization_id=config.organization_id,
        visitor=options.visitor,
        visitor_cookie=options.visitor_cookie,
        customer_ids=options.customer_ids,
        consumer_id=options.consumer_id,
        supplemental_data_id=supplemental_data_id,
    )
    # Last: invalid mboxes and notifications are dropped above (the indices of the path
    # count the ones kept), and the visitor's identity is in.
    check_request_json(body)
    return body, session_id, visitor


def edge_route(config: TargetConfig, body: Mapping[str, Any], location_hint: str | None) -> tuple[str | None, str]:
    """The cluster and edge host of a request body: the visitor's tntId wins, then the
    call's location hint, then the configured one.

    The first two come from the visitor (the `mbox` and `mboxEdgeCluster` cookies): a
    cluster that is not 1-16 ASCII letters and digits is ignored, like a malformed cookie,
    so the host is always the configured one or `mboxedge<cluster>.tt.omtrdc.net`.
    """
    visitor_id = body.get("id")
    tnt_id = visitor_id.get("tntId") if isinstance(visitor_id, Mapping) else None
    cluster = cluster_from_tnt_id(tnt_id)
    if cluster is None:
        if isinstance(tnt_id, str) and "." in tnt_id:
            # The tntId itself stays out of logs; a well-formed one without a cluster has no "."
            config.logger.debug("Ignored the edge cluster of the visitor's tntId: not a cluster name")
        if location_hint and not is_cluster(location_hint):
            config.logger.debug(
                "Ignored target_location_hint %s: an edge cluster is 1-16 ASCII letters and digits",
                describe_untrusted(location_hint),
            )
            location_hint = None
        cluster = location_hint or config.target_location_hint
    return cluster, edge_host(config.client, cluster=cluster, server_domain=config.server_domain)


def prepare_request(
    config: TargetConfig, options: CallOptions, *, notifications_required: bool = False
) -> PreparedRequest:
    """Validate and normalise a call's request as the Delivery API expects it
    (`validate_request`, then its defaults and its edge host)."""
    body, session_id, visitor = _validated(config, options, notifications_required, True)
    apply_request_defaults(config, body)
    cluster, host = edge_route(config, body, options.target_location_hint)
    return PreparedRequest(body=body, session_id=session_id, cluster=cluster, host=host, visitor=visitor)


def apply_request_defaults(config: TargetConfig, body: dict[str, Any]) -> None:
    """Fill in what a Delivery request gets by default (request id, environment, property
    token, channel, time offset, analytics logging). Changes `body` at top level only (nested
    parts are copied before they change); applying it twice changes nothing more."""
    get = body.get
    if not get("requestId"):
        body["requestId"] = new_uuid4()
    if config.environment_id is not None and get("environmentId") is None:
        body["environmentId"] = config.environment_id

    request_property = get("property")
    request_token = request_property.get("token") if request_property else None
    if config.property_token:
        if not request_token:
            body["property"] = {**(request_property or {}), "token": config.property_token}
        elif request_token != config.property_token:
            # Neither token is logged: they are credentials of the property.
            config.logger.debug("The property token specified in the request does not match the one in the config.")

    context = get("context") or {}
    has_channel = context.get("channel") in _CHANNELS
    has_offset = context.get("timeOffsetInMinutes") is not None
    if not (has_channel and has_offset):
        context = dict(context)
        if not has_channel:
            context["channel"] = "web"
        if not has_offset:
            context["timeOffsetInMinutes"] = _local_utc_offset_minutes()
        body["context"] = context

    experience_cloud = get("experienceCloud")
    analytics = experience_cloud.get("analytics") if experience_cloud else None
    if not analytics or "logging" not in analytics:
        experience_cloud = dict(experience_cloud or {})
        if analytics:
            analytics = dict(analytics)
            analytics.setdefault("logging", _ANALYTICS_DEFAULT_LOGGING)
        else:
            analytics = {"logging": _ANALYTICS_DEFAULT_LOGGING}
        experience_cloud["analytics"] = analytics
        body["experienceCloud"] = experience_cloud


@attrs.frozen
class ResponseMeta:
    """Decisioning details of a response (`meta` in the official SDK)."""

    decisioning_method: str
    remote_mboxes: list[str] = attrs.field(factory=list)
    remote_views: list[str] = attrs.field(factory=list)

    def __getitem__(self, key: str) -> Any:
        name = _ENVELOPE_ALIASES.get(key, key)
        if name not in ("decisioning_method", "remote_mboxes", "remote_views"):
            raise KeyError(key)
        return getattr(self, name)


@attrs.define(kw_only=True, eq=False, repr=False)
class TargetDeliveryResponse:
    """What `get_offers` and `send_notifications` return.

    Attributes as in the official SDK; item access (`result["response"]`) works too.
    Build it with `response` (a `DeliveryResponse`) or `response_body` (its wire JSON, then
    structured on first access of `response`).
    """

    _response: DeliveryResponse | None = attrs.field(default=None, alias="response")
    response_body: Mapping[str, Any] | None = None
    """The response as wire JSON (camelCase), when it was built from it."""
    request_body: dict[str, Any]
    target_cookie: Cookie
    target_location_hint_cookie: Cookie | None = None
    analytics_details: list[AnalyticsResponse] | None = None
    trace: list[dict[str, Any]] | None = None
    response_tokens: list[dict[str, Any]] = attrs.field(factory=list)
    meta: ResponseMeta
    visitor_state: Any = None
    _request: DeliveryRequest | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        if self._response is None and self.response_body is None:
            raise TypeError("TargetDeliveryResponse needs response or response_body")

    @property
    def response(self) -> DeliveryResponse:
        """The Delivery API response."""
        if self._response is None:
            # A local decision's response is structured only when someone reads it.
            assert self.response_body is not None
            self._response = structure_response(self.response_body)
        return self._response

    @property
    def request(self) -> DeliveryRequest:
        """The request as it was actually sent, after normalisation."""
        if self._request is None:
            self._request = _serde.structure(self.request_body, DeliveryRequest)
        return self._request

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, TargetDeliveryResponse)
        return self.response == other.response and all(
            getattr(self, name) == getattr(other, name) for name in _COMPARED_FIELDS
        )

    __hash__ = None  # type: ignore[assignment]  # compared by value and mutable, as attrs makes it

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _SHOWN_FIELDS)
        return f"TargetDeliveryResponse(response={self.response!r}, {shown})"

    def __getitem__(self, key: str) -> Any:
        name = _ENVELOPE_ALIASES.get(key, key)
        if name not in _ENVELOPE_KEYS:
            raise KeyError(key)
        return getattr(self, name)

    def __contains__(self, key: object) -> bool:
        # As in the official SDK's dict: a field with no value (no trace asked for) is absent.
        if not isinstance(key, str):
            return False
        name = _ENVELOPE_ALIASES.get(key, key)
        return name in _ENVELOPE_KEYS and getattr(self, name) is not None

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default  # noqa: SIM401 - this is `get`

    def keys(self) -> list[str]:
        """The official SDK's result keys that have a value, in its order: `dict(result)` works."""
        return [name for name in _DICT_KEYS if getattr(self, name) is not None]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def items(self) -> list[tuple[str, Any]]:
        return [(name, getattr(self, name)) for name in self.keys()]

    def values(self) -> list[Any]:
        return [getattr(self, name) for name in self.keys()]


# What equality and repr look at besides `response` (bodies and caches are not shown or compared).
_COMPARED_FIELDS = (
    "request_body",
    "target_cookie",
    "target_location_hint_cookie",
    "analytics_details",
    "trace",
    "response_tokens",
    "meta",
    "visitor_state",
)
_SHOWN_FIELDS = tuple(name for name in _COMPARED_FIELDS if name != "request_body")

# The keys of item access: the official SDK's result fields.
_ENVELOPE_KEYS = frozenset(("response", "request", *_SHOWN_FIELDS))
# What `keys()` lists: the official result's fields (`request` is ours, read by name only).
_DICT_KEYS = ("response", *_SHOWN_FIELDS)
# The Node SDK's camelCase spellings, so code ported from it reads the same fields.
_ENVELOPE_ALIASES = {
    "targetCookie": "target_cookie",
    "targetLocationHintCookie": "target_location_hint_cookie",
    "analyticsDetails": "analytics_details",
    "responseTokens": "response_tokens",
    "visitorState": "visitor_state",
    "decisioningMethod": "decisioning_method",
    "remoteMboxes": "remote_mboxes",
    "remoteViews": "remote_views",
}


def _details(response: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Response parts (wire JSON) in the order the official SDKs flatten them."""
    parts: list[Mapping[str, Any]] = []
    execute = response.get("execute")
    if execute:
        if execute.get("pageLoad") is not None:
            parts.append(execute["pageLoad"])
        parts.extend(execute.get("mboxes") or ())
    prefetch = response.get("prefetch")
    if prefetch:
        if prefetch.get("pageLoad") is not None:
            parts.append(prefetch["pageLoad"])
        parts.extend(prefetch.get("views") or ())
        parts.extend(prefetch.get("mboxes") or ())
    return parts


# The response models are imported by the first response (most imports of the SDK never
# structure one), then kept in globals: a function-level import costs ~0.5 us a call.
_response_model: type[DeliveryResponse] | None = None
_analytics_model: type[AnalyticsResponse] | None = None


def _load_response_model() -> type[DeliveryResponse]:
    global _response_model
    from .models import DeliveryResponse

    _response_model = DeliveryResponse
    return DeliveryResponse


def structure_response(body: Mapping[str, Any], *, strict: bool = False) -> DeliveryResponse:
    """Wire JSON as a `DeliveryResponse`; raises TypeError / ValueError (see `_serde`).

    `strict` for an edge's answer: a field of the wrong JSON type is refused, not converted.
    """
    return _serde.structure(body, _response_model or _load_response_model(), strict=strict)


def _load_analytics_model() -> type[AnalyticsResponse]:
    global _analytics_model
    from .models import AnalyticsResponse

    _analytics_model = AnalyticsResponse
    return AnalyticsResponse


def build_envelope(
    prepared: PreparedRequest,
    response_body: Mapping[str, Any],
    *,
    decisioning_method: DecisioningMethod,
    remote_mboxes: list[str] | None = None,
    remote_views: list[str] | None = None,
    now: float | None = None,
    response: DeliveryResponse | None = None,
) -> TargetDeliveryResponse:
    """Wrap a Delivery API response with the cookies and flattened details for the caller.

    `remote_mboxes` / `remote_views` are taken over, not copied. `response` is
    `response_body` already structured: the client structures an edge's
    answer first, so that a malformed one fails the call. Without it (a local decision,
    well-formed by construction) `response` is structured when first read.
    """
    if response is not None:
        tnt_id = response.id.tnt_id if response.id is not None else None
        edge = response.edge_host
    else:
        tnt_id = (response_body.get("id") or {}).get("tntId")
        edge = response_body.get("edgeHost")
    cluster = prepared.cluster or cluster_from_edge_host(edge)

    analytics: list[Any] = []
    traces: list[Any] = []
    tokens: list[dict[str, Any]] = []
    # One pass over the parts (this runs on every response). Trace and response tokens are
    # free-form: the structured response shares these very objects.
    for part in _details(response_body):
        if part.get("analytics") is not None:
            analytics.append(_serde.structure(part["analytics"], _analytics_model or _load_analytics_model()))
        if part.get("trace"):
            traces.append(part["trace"])
        for option in part.get("options") or ():
            if option.get("responseTokens"):
                tokens.append(option["responseTokens"])
    return TargetDeliveryResponse(
        response=response,
        response_body=response_body,
        request_body=prepared.body,
        target_cookie=target_cookie(prepared.session_id, tnt_id, now=now),
        target_location_hint_cookie=location_hint_cookie(cluster),
        analytics_details=analytics or None,
        trace=traces or None,
        response_tokens=tokens,
        meta=ResponseMeta(
            decisioning_method.value,
            [] if remote_mboxes is None else remote_mboxes,
            [] if remote_views is None else remote_views,
        ),
        # Read as the response arrives (as Node does): later calls on a shared visitor change it.
        visitor_state=visitor_state(prepared.visitor),
    )
