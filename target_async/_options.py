"""Per-call options of `get_offers` / `get_attributes` / `send_notifications`.

The official SDK takes one option mapping (`{"request": ..., "target_cookie": ...}`);
we take that mapping, the same names as keyword arguments, or both.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from ._exceptions import TargetValidationError
from ._visitor import check_visitor, customer_id_entries
from .models import DecisioningMethod

__all__ = ["CallOptions", "did_you_mean", "parse_call_options"]


# Not frozen: a frozen attrs `__init__` sets each of the twelve fields through
# `object.__setattr__`, about a microsecond on every call. Nothing changes it after parsing.
@attrs.define
class CallOptions:
    """The checked options of one call."""

    request: Any = None
    target_cookie: str | None = None
    target_location_hint: str | None = None
    consumer_id: str | None = None
    customer_ids: Sequence[Any] | Mapping[str, Any] | None = None
    session_id: str | None = None
    decisioning_method: DecisioningMethod | None = None
    timeout: float | None = None
    callback: Callable[[Any], Any] | None = None
    err_callback: Callable[[BaseException], Any] | None = None
    visitor: Any = None
    visitor_cookie: str | None = None


_KEYS = frozenset(f.name for f in attrs.fields(CallOptions))
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def did_you_mean(key: object, known: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for a near miss of a known option name, else ``."""
    # Imported on the error path only.
    import difflib

    # camelCase (`targetCookie`) and British spellings (`organisation_id`) are near misses too.
    name = _CAMEL.sub("_", str(key)).lower()
    known = list(known)
    if name in known:
        return f" (did you mean {name!r}?)"
    matches = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def _optional_str(key: str, value: Any) -> str | None:
    if value == "":
        return None
    if not isinstance(value, str):
        raise TargetValidationError(f"{key} must be a str, got {type(value).__name__}")
    return value


def _decisioning_method(key: str, value: Any) -> DecisioningMethod:
    try:
        return DecisioningMethod(getattr(value, "value", value))
    except ValueError:
        allowed = ",".join(m.value for m in DecisioningMethod)
        # Only a string is shown: the repr of anything else may be huge, or fail.
        got = repr(value) if isinstance(value, str) else f"a {type(value).__name__}"
        raise TargetValidationError(
            f"Invalid Decisioning Method.  Must be set to one of: {allowed} (got {got})"
        ) from None


_MAX_MS = 1e15  # about 31,000 years: anything larger is a mistake (and may not fit a float)


def _timeout(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < _MAX_MS:
        # An int too large for a float would fail later, when the call divides it.
        got = repr(value) if isinstance(value, float) or (isinstance(value, int) and value < _MAX_MS) else "too large"
        raise TargetValidationError(f"timeout must be a positive number of milliseconds, got {got}")
    return value


def _customer_ids(key: str, value: Any) -> Sequence[Any] | Mapping[str, Any]:
    if isinstance(value, Mapping):
        customer_id_entries(value)  # checked now: a bad entry fails the call before anything is sent
        return value
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TargetValidationError(
            "customer_ids must be a list of CustomerId or a mapping of integration code to id "
            f"(such as {{'crm': {{'id': '123', 'auth_state': AuthenticatedState.AUTHENTICATED}}}}), got {type(value).__name__}"
        )
    return value


def _consumer_id(key: str, value: Any) -> str:
    # Kept as given, "" too: the Node SDK asks the visitor for consumer "" then.
    if not isinstance(value, str):
        raise TargetValidationError(f"consumer_id must be a str, got {type(value).__name__}")
    return value


def _visitor(key: str, value: Any) -> Any:
    return check_visitor(value)


def _callable(key: str, value: Any) -> Any:
    if not callable(value):
        raise TargetValidationError("Callback must be a callable function")
    return value


# How each option is checked (None: taken as given); only the options a call gives are looked at.
_CHECKS: dict[str, Callable[[str, Any], Any] | None] = {
    "request": None,
    "target_cookie": _optional_str,
    "target_location_hint": _optional_str,
    "consumer_id": _consumer_id,
    "customer_ids": _customer_ids,
    "session_id": _optional_str,
    "decisioning_method": _decisioning_method,
    "timeout": _timeout,
    "callback": _callable,
    "err_callback": _callable,
    "visitor": _visitor,
    "visitor_cookie": _optional_str,
}


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
    # Copied only when a check changes a value (`""` to None, a str to its enum).
    checked: dict[str, Any] | None = None
    for key, value in merged.items():
        if key not in _CHECKS:
            raise TargetValidationError(
                f"Unknown option {key!r}{did_you_mean(key, _KEYS)}; known options: {', '.join(sorted(_KEYS))}"
            )
        check = _CHECKS[key]
        if check is None or value is None:
            continue
        result = check(key, value)
        if result is not value:
            if checked is None:
                checked = dict(merged)
            checked[key] = result
    return CallOptions(**(merged if checked is None else checked))
