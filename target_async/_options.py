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
    if options is not None and type(options) is not dict and not isinstance(options, Mapping):
        raise TargetValidationError(
            f"options must be a mapping such as {{'request': DeliveryRequest(...)}}, got {type(options).__name__}"
        )
    # Hot path: most calls pass only the mapping, which then needs no merged copy.
    if not kwargs:
        merged: Mapping[str, Any] = options or {}
    elif not options:
        merged = kwargs
    else:
        merged = dict(options)
        for key, value in kwargs.items():
            if key in merged and merged[key] is not value:
                raise TargetValidationError(f"option {key!r} given both in the options mapping and as a keyword")
            merged[key] = value
    if not _KEYS.issuperset(merged):
        unknown = next(key for key in merged if key not in _KEYS)
        raise TargetValidationError(f"Unknown option {unknown!r}; known options: {', '.join(sorted(_KEYS))}")

    get = merged.get
    method = get("decisioning_method")
    if method is not None:
        try:
            method = DecisioningMethod(getattr(method, "value", method))
        except ValueError:
            allowed = ",".join(m.value for m in DecisioningMethod)
            raise TargetValidationError(
                f"Invalid Decisioning Method.  Must be set to one of: {allowed} (got {method!r})"
            ) from None

    timeout = get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise TargetValidationError(f"timeout must be a positive number of milliseconds, got {timeout!r}")

    customer_ids = get("customer_ids")
    if customer_ids is not None and (isinstance(customer_ids, (str, bytes)) or not isinstance(customer_ids, Sequence)):
        raise TargetValidationError("customer_ids must be a list of CustomerId")

    callback = get("callback")
    err_callback = get("err_callback")
    if (callback is not None and not callable(callback)) or (err_callback is not None and not callable(err_callback)):
        raise TargetValidationError("Callback must be a callable function")

    return CallOptions(
        request=get("request"),
        target_cookie=_optional_str("target_cookie", get("target_cookie")),
        target_location_hint=_optional_str("target_location_hint", get("target_location_hint")),
        consumer_id=_optional_str("consumer_id", get("consumer_id")),
        customer_ids=customer_ids,
        session_id=_optional_str("session_id", get("session_id")),
        decisioning_method=method,
        timeout=timeout,
        callback=callback,
        err_callback=err_callback,
        visitor=get("visitor"),
    )
