"""Per-call options of `get_offers` / `get_attributes` / `send_notifications`.

The official SDK takes one option mapping (`{"request": ..., "target_cookie": ...}`);
we take that mapping, the same names as keyword arguments, or both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ._exceptions import TargetValidationError
from .models import DecisioningMethod

__all__ = ["CallOptions", "parse_call_options"]


@attrs.frozen
class CallOptions:
    """The checked options of one call."""

    request: Any = None
    target_cookie: str | None = None
    target_location_hint: str | None = None
    consumer_id: str | None = None
    customer_ids: Sequence[Any] | None = None
    session_id: str | None = None
    decisioning_method: DecisioningMethod | None = None
    timeout: float | None = None
    callback: Callable[[Any], Any] | None = None
    err_callback: Callable[[BaseException], Any] | None = None
    visitor: Any = None


_KEYS = frozenset(f.name for f in attrs.fields(CallOptions))


def _optional_str(key: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TargetValidationError(f"{key} must be a str, got {type(value).__name__}")
    return value


def parse_call_options(options: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> CallOptions:
    """Merge the option mapping and keyword arguments and check every value's type."""
    if options is not None and not isinstance(options, Mapping):
        raise TargetValidationError(
            f"options must be a mapping such as {{'request': DeliveryRequest(...)}}, got {type(options).__name__}"
        )
    merged: dict[str, Any] = dict(options or {})
    for key, value in kwargs.items():
        if key in merged and merged[key] is not value:
            raise TargetValidationError(f"option {key!r} given both in the options mapping and as a keyword")
        merged[key] = value
    for key in merged:
        if key not in _KEYS:
            raise TargetValidationError(f"Unknown option {key!r}; known options: {', '.join(sorted(_KEYS))}")

    method = merged.get("decisioning_method")
    if method is not None:
        try:
            method = DecisioningMethod(getattr(method, "value", method))
        except ValueError:
            allowed = ",".join(m.value for m in DecisioningMethod)
            raise TargetValidationError(
                f"Invalid Decisioning Method.  Must be set to one of: {allowed} (got {method!r})"
            ) from None

    timeout = merged.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise TargetValidationError(f"timeout must be a positive number of milliseconds, got {timeout!r}")

    customer_ids = merged.get("customer_ids")
    if customer_ids is not None and (isinstance(customer_ids, (str, bytes)) or not isinstance(customer_ids, Sequence)):
        raise TargetValidationError("customer_ids must be a list of CustomerId")

    for key in ("callback", "err_callback"):
        if merged.get(key) is not None and not callable(merged[key]):
            raise TargetValidationError("Callback must be a callable function")

    return CallOptions(
        request=merged.get("request"),
        target_cookie=_optional_str("target_cookie", merged.get("target_cookie")),
        target_location_hint=_optional_str("target_location_hint", merged.get("target_location_hint")),
        consumer_id=_optional_str("consumer_id", merged.get("consumer_id")),
        customer_ids=customer_ids,
        session_id=_optional_str("session_id", merged.get("session_id")),
        decisioning_method=method,
        timeout=timeout,
        callback=merged.get("callback"),
        err_callback=merged.get("err_callback"),
        visitor=merged.get("visitor"),
    )
