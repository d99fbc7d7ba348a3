"""The options of `create()` and of each call, as `TypedDict`s for type checkers.

The same names are accepted in the mapping the official SDK passes
(`get_offers({"request": r, "target_cookie": c})`) and as keyword arguments
(`get_offers(request=r, target_cookie=c)`); both are typed with these classes, so mypy
reports a misspelt option or a value of the wrong type. The values are still checked at
run time (`TargetConfigError` / `TargetValidationError`).

Every key is optional for the type checker because the two forms may be mixed; the
required ones (`client`, `organization_id`, a call's `request`) are checked when the call
runs. A call given `callback` or `err_callback` returns a `TargetFuture`: the
`...CallbackOptions` classes, where that key is required, tell the type checker so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, TypeAlias, TypedDict

if TYPE_CHECKING:
    import logging

    import httpx

    from ._attributes import AttributesProvider
    from ._config import RetryPolicy
    from ._delivery import TargetDeliveryResponse
    from ._visitor import Visitor, VisitorLike
    from .models import AuthenticatedState, CustomerId, DecisioningMethod, DeliveryRequest

__all__ = [
    "AttributesCallbackOptions",
    "CallbackOptions",
    "ClientOptions",
    "ErrCallbackOptions",
    "RequestOptions",
]

# Aliases as strings: they name classes imported for type checkers only.
DecisioningMethodOption: TypeAlias = 'DecisioningMethod | Literal["server-side", "on-device", "hybrid"]'
"""A `DecisioningMethod` or its value."""
Milliseconds: TypeAlias = float
"""A duration in milliseconds."""
CustomerIdsOption: TypeAlias = (
    "Sequence[CustomerId | Mapping[str, str]] "
    "| Mapping[str, str | Mapping[str, str | int | AuthenticatedState] | None]"
)
"""`[CustomerId(...), ...]`, or `{integration_code: id}` / `{integration_code: {"id": ..., "auth_state": ...}}`."""


class ClientOptions(TypedDict, total=False):
    """The options of `AsyncTargetClient.create()` / `TargetClient.create()`.

    `client` and `organization_id` are required (checked at run time). See
    docs/configuration.md for what each one does.
    """

    client: str
    organization_id: str
    timeout: Milliseconds
    server_domain: str | None
    secure: bool
    target_location_hint: str | None
    decisioning_method: DecisioningMethodOption
    polling_interval: Milliseconds
    artifact_location: str | None
    artifact_payload: Mapping[str, object] | None
    environment_id: int | None
    environment: str | None
    cdn_environment: str | None
    cdn_base_path: str | None
    property_token: str | None
    telemetry_enabled: bool
    events: Mapping[str, Callable[..., object]] | None
    logger: logging.Logger | None
    maximum_wait_ready: Milliseconds | None
    version: str | None
    transport: httpx.AsyncBaseTransport | None
    proxy: str | httpx.Proxy | None
    limits: httpx.Limits | None
    retry: RetryPolicy | None
    notification_queue_size: int
    notification_batch_size: int
    notification_concurrency: int
    notification_retry: RetryPolicy | None
    shutdown_timeout: Milliseconds


class RequestOptions(TypedDict, total=False):
    """The options of `get_offers`, `get_attributes`, `send_notifications` and
    `enqueue_notifications`, without a callback.

    `request` is required by every call but `get_attributes` (checked at run time).
    """

    request: DeliveryRequest | Mapping[str, object]
    target_cookie: str | None
    target_location_hint: str | None
    consumer_id: str | None
    customer_ids: CustomerIdsOption | None
    session_id: str | None
    decisioning_method: DecisioningMethodOption | None
    timeout: Milliseconds | None
    visitor: Visitor | VisitorLike | None
    visitor_cookie: str | None


class _Callback(TypedDict):
    callback: Callable[[TargetDeliveryResponse], object]


class _AttributesCallback(TypedDict):
    callback: Callable[[AttributesProvider], object]


class _ErrCallback(TypedDict):
    err_callback: Callable[[BaseException], object]


class CallbackOptions(_Callback, RequestOptions, total=False):
    """`RequestOptions` with `callback` (required) and `err_callback`: the call returns a
    `TargetFuture` of the `TargetDeliveryResponse`."""

    err_callback: Callable[[BaseException], object] | None


class AttributesCallbackOptions(_AttributesCallback, RequestOptions, total=False):
    """`get_attributes` options with `callback` (required), given the `AttributesProvider`,
    and `err_callback`: the call returns a `TargetFuture`."""

    err_callback: Callable[[BaseException], object] | None


class ErrCallbackOptions(_ErrCallback, RequestOptions, total=False):
    """`RequestOptions` with `err_callback` (required) and no `callback`: the call returns
    a `TargetFuture`."""
