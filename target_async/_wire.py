"""Checks that a request given as wire JSON can be sent and decided on: pure, no I/O.

A request may come as a plain dict (wire JSON, camelCase) or as a model whose fields
attrs does not type-check; either way it reaches the SDK unchecked. Two checks refuse it
with a `TargetValidationError` naming the path of the first bad part, at the call, so
that nothing fails later (when the body is encoded, decided on, or sent in the
background):

- `check_request_json`: it is plain JSON the edge can read: objects with string keys,
  arrays, UTF-8 strings, finite numbers, booleans and null.
- `check_request_shape`: the parts the SDK itself reads (visitor id, context, property,
  analytics, mboxes, views, telemetry) have the types the Delivery API gives them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._exceptions import TargetValidationError

__all__ = ["check_request_json", "check_request_shape"]

# The C encoder checks a whole body in about the time of one Python-level walk over five
# of its values; the walk below runs only to name the path once that check failed.
_CHECK_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, check_circular=False)
# Deeper than any Delivery request (about 6 levels); low enough for every recursive reader.
_MAX_DEPTH = 64
_JSON_SCALARS = (str, int, float, bool, type(None))


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _join(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"


def _json_problem(value: Any, root: str) -> str | None:
    """Where and why `value` is not plain JSON, e.g. `request.a[0]: nan is not a JSON number`."""
    stack: list[tuple[Any, str, int]] = [(value, root, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, Mapping):
            if depth >= _MAX_DEPTH:
                return f"{path}: nested deeper than {_MAX_DEPTH} levels"
            for key, child in item.items():
                if not isinstance(key, str):
                    return f"{path}: key {key!r} is not a string"
                stack.append((child, _join(path, key), depth + 1))
        elif isinstance(item, (list, tuple)):
            if depth >= _MAX_DEPTH:
                return f"{path}: nested deeper than {_MAX_DEPTH} levels"
            stack.extend((child, _join(path, i), depth + 1) for i, child in enumerate(item))
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return f"{path}: {item!r} is not a JSON number"
        elif isinstance(item, str):
            try:
                item.encode()
            except UnicodeEncodeError:
                return f"{path}: the string is not valid Unicode (it holds a lone surrogate)"
        elif isinstance(item, int):
            try:
                str(item)
            except ValueError:
                return f"{path}: the integer has too many digits"
        elif not isinstance(item, _JSON_SCALARS):
            return f"{path}: a {type(item).__name__} is not JSON"
    return None


def check_request_json(body: Mapping[str, Any], *, root: str = "request") -> None:
    """Raise `TargetValidationError` naming the first part of `body` that is not plain JSON,
    or that is nested deeper than 64 levels."""
    try:
        encoded = _CHECK_ENCODER.encode(body)
        encoded.encode()
    except (TypeError, ValueError, RecursionError) as exc:
        # ValueError covers NaN and infinity, integers too long to print, and strings that
        # are not UTF-8 (UnicodeEncodeError).
        raise TargetValidationError(_json_problem(body, root) or f"{root} is not JSON: {exc}") from None
    # A body is at most as deep as it has objects and arrays: only a body with many of them
    # (or with brackets in its strings) needs the walk. The SDK reads bodies recursively
    # (cattrs, traces, logs), so depth is bounded well below the interpreter's limit.
    if encoded.count("{") + encoded.count("[") > _MAX_DEPTH:
        problem = _json_problem(body, root)
        if problem is not None:
            raise TargetValidationError(problem)


class _EachObject:
    """The shape of the items of an array that are objects; the other items are left alone."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields


# The parts of a request the SDK reads, with their types. A dict value is an object's
# fields; a list of one item is an array of such items; a type is the value's type.
_Shape = type | tuple[type, ...] | dict[str, Any] | list[Any] | _EachObject
_NUMBER = (int, float)
_PARAMETERS: _Shape = dict  # values: any JSON, sent and matched as given
_ADDRESS: _Shape = {"url": str, "referringUrl": str}
_DETAILS: dict[str, _Shape] = {"parameters": _PARAMETERS, "profileParameters": _PARAMETERS, "address": _ADDRESS}
_SECTION: _Shape = {
    "pageLoad": _DETAILS,
    # An mbox that is not an object, or has no name, is dropped with a warning when the
    # request is normalised (as the official SDKs do); the fields of the others are checked.
    "mboxes": [_EachObject(_DETAILS)],
    "views": [{"name": str, **_DETAILS}],
}
_REQUEST_SHAPE: dict[str, _Shape] = {
    "requestId": str,
    "id": {
        "tntId": str,
        "thirdPartyId": str,
        "marketingCloudVisitorId": str,
        "customerIds": [{"id": str, "integrationCode": str, "authenticatedState": str}],
    },
    "context": {
        "channel": str,
        "userAgent": str,
        "timeOffsetInMinutes": _NUMBER,
        "clientHints": {
            "browserUAWithFullVersion": str,
            "browserUAWithMajorVersion": str,
            "platform": str,
        },
        "address": _ADDRESS,
        "geo": {
            "ipAddress": str,
            "latitude": _NUMBER,
            "longitude": _NUMBER,
            "countryCode": str,
            "stateCode": str,
            "city": str,
            "zip": str,
        },
        "browser": dict,
        "screen": dict,
        "window": dict,
    },
    "property": {"token": str},
    "experienceCloud": {"analytics": dict, "audienceManager": dict},
    "execute": _SECTION,
    "prefetch": _SECTION,
    "notifications": list,  # each notification is checked (or dropped) when normalised
    "telemetry": {"entries": [dict]},
}
_SHAPE_NAMES = {str: "a string", dict: "an object", list: "a list", _NUMBER: "a number"}


def _check_shape(value: Any, shape: _Shape, path: str) -> None:
    if isinstance(shape, _EachObject):
        if isinstance(value, Mapping):
            _check_shape(value, shape.fields, path)
    elif isinstance(shape, dict):
        if not isinstance(value, Mapping):
            raise TargetValidationError(f"{path} must be an object, got {_type_name(value)}")
        for key, field_shape in shape.items():
            field = value.get(key)
            if field is not None:
                _check_shape(field, field_shape, f"{path}.{key}")
    elif isinstance(shape, list):
        if not isinstance(value, list):
            items = " of objects" if shape[0] is dict or isinstance(shape[0], dict) else ""
            raise TargetValidationError(f"{path} must be a list{items}, got {_type_name(value)}")
        for position, item in enumerate(value):
            if item is not None:
                _check_shape(item, shape[0], f"{path}[{position}]")
    elif not isinstance(value, shape) or (isinstance(value, bool) and shape is _NUMBER):
        raise TargetValidationError(f"{path} must be {_SHAPE_NAMES[shape]}, got {_type_name(value)}")


def _exact(shape: _Shape) -> Any:
    """`shape` for `_fits`: each type as the set of the exact built-in types it takes."""
    if isinstance(shape, _EachObject):
        return _EachObject(_exact(shape.fields))
    if isinstance(shape, dict):
        return {key: _exact(field_shape) for key, field_shape in shape.items()}
    if isinstance(shape, list):
        return [_exact(shape[0])]
    return frozenset(shape) if isinstance(shape, tuple) else frozenset((shape,))


_EXACT_REQUEST_SHAPE = _exact(_REQUEST_SHAPE)


def _fits(value: Any, shape: Any) -> bool:
    """True when `value` has `shape` in plain dicts, lists and exact types (a request as
    JSON decodes); anything else is left to `_check_shape`, which names the path."""
    kind = type(shape)
    if kind is frozenset:
        return type(value) in shape
    if kind is dict:
        if type(value) is not dict:
            return False
        for key, field in value.items():
            field_shape = shape.get(key)
            if field_shape is None or field is None:
                continue
            if type(field_shape) is frozenset:  # a leaf, checked here: most fields are
                if type(field) not in field_shape:
                    return False
            elif not _fits(field, field_shape):
                return False
        return True
    if kind is list:
        if type(value) is not list:
            return False
        item_shape = shape[0]
        return all(item is None or _fits(item, item_shape) for item in value)
    # _EachObject: items that are not objects are left alone.
    if type(value) is dict:
        return _fits(value, shape.fields)
    return not isinstance(value, Mapping)


def check_request_shape(body: Mapping[str, Any], *, root: str = "request") -> None:
    """Raise `TargetValidationError` naming the first part the SDK reads that has the wrong type."""
    # Paths are built only on the way to an error (or for types other than the plain ones).
    if _fits(body, _EXACT_REQUEST_SHAPE):
        return
    for key, shape in _REQUEST_SHAPE.items():
        value = body.get(key)
        if value is not None:
            _check_shape(value, shape, f"{root}.{key}")
