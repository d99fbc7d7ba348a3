"""JavaScript value semantics on JSON-decoded Python values.

Artifacts are written for JavaScript engines (json-logic-js), so rule evaluation and
macro substitution must coerce values the way JavaScript does: loose `==`, relational
operators with ToPrimitive/ToNumber, String(x), truthiness.  JSON types map as
None→null, bool→boolean, int/float→number, str→string, list→Array, dict→Object;
`UNDEFINED` stands for a missing operand.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, Final

__all__ = [
    "UNDEFINED",
    "js_le",
    "js_loose_eq",
    "js_lt",
    "js_number",
    "js_parse_float",
    "js_round",
    "js_strict_eq",
    "js_string",
    "js_truthy",
    "logic_truthy",
]


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final[Any] = _Undefined()

_NAN = math.nan
# StrWhiteSpaceChar of ECMAScript: what Number() and parseFloat() skip.
_JS_SPACE = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_DECIMAL_LITERAL = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)\Z")
_FLOAT_PREFIX = re.compile(r"[+-]?(?:Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
_RADIX_LITERAL = re.compile(r"0([xXoObB])([0-9a-fA-F]+)\Z")
_RADIX = {"x": 16, "o": 8, "b": 2}


def _kind(value: Any) -> str:
    """The JavaScript type family of a JSON value: null, undefined, boolean, number, string, object."""
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    cls = type(value)
    if cls is bool:
        return "boolean"
    if cls is int or cls is float:
        return "number"
    if cls is str:
        return "string"
    return "object"


def _number_string(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    if value == int(value) and abs(value) < 1e21:
        # Beyond 2**53 JavaScript prints the shortest round-trip digits, padded with zeros.
        return str(int(value)) if abs(value) < 1e16 else format(Decimal(repr(value)), "f")
    text = repr(float(value))
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        text = f"{mantissa.removesuffix('.0')}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
    return text


def js_string(value: Any) -> str:
    """`String(value)`."""
    cls = type(value)
    if cls is str:
        return value  # type: ignore[no-any-return]
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if cls is bool:
        return "true" if value else "false"
    if cls is int:
        return str(value)
    if cls is float:
        return _number_string(value)
    if cls is list:
        return ",".join(
            "" if item is None or item is UNDEFINED else js_string(item) for item in value
        )
    return "[object Object]"


def _string_to_number(text: str) -> float:
    text = text.strip(_JS_SPACE)
    if not text:
        return 0.0
    if _DECIMAL_LITERAL.match(text):
        return float(text)
    if text in ("Infinity", "+Infinity"):
        return math.inf
    if text == "-Infinity":
        return -math.inf
    radix = _RADIX_LITERAL.match(text)
    if radix:
        try:
            return float(int(radix.group(2), _RADIX[radix.group(1).lower()]))
        except ValueError:
            return _NAN
    return _NAN


def js_number(value: Any) -> float:
    """`Number(value)` (ToNumber after ToPrimitive)."""
    cls = type(value)
    if cls is int or cls is float or cls is bool:
        return float(value)
    if cls is str:
        return _string_to_number(value)
    if value is None:
        return 0.0
    if cls is list:
        return _string_to_number(js_string(value))
    return _NAN


def js_parse_float(value: Any) -> float:
    """`parseFloat(value)`: the longest numeric prefix of String(value)."""
    match = _FLOAT_PREFIX.match(js_string(value).lstrip(_JS_SPACE))
    if match is None:
        return _NAN
    text = match.group(0)
    if text.endswith("Infinity"):
        return -math.inf if text.startswith("-") else math.inf
    return float(text)


def _primitive(value: Any) -> Any:
    """ToPrimitive: arrays and objects become their string form."""
    cls = type(value)
    if cls is list or cls is dict:
        return js_string(value)
    return value


def js_loose_eq(left: Any, right: Any) -> bool:
    """`left == right`."""
    left_kind, right_kind = _kind(left), _kind(right)
    if left_kind in ("null", "undefined") or right_kind in ("null", "undefined"):
        return left_kind in ("null", "undefined") and right_kind in ("null", "undefined")
    if left_kind == right_kind:
        if left_kind == "object":
            return left is right
        return bool(left == right)
    if left_kind == "boolean":
        return js_loose_eq(float(left), right)
    if right_kind == "boolean":
        return js_loose_eq(left, float(right))
    if left_kind == "object":
        return js_loose_eq(_primitive(left), right)
    if right_kind == "object":
        return js_loose_eq(left, _primitive(right))
    # One number, one string: compare as numbers.
    return js_number(left) == js_number(right)


def js_strict_eq(left: Any, right: Any) -> bool:
    """`left === right`."""
    left_kind = _kind(left)
    if left_kind != _kind(right):
        return False
    if left_kind == "object":
        return left is right
    return bool(left == right)


def js_lt(left: Any, right: Any) -> bool:
    """`left < right`."""
    left, right = _primitive(left), _primitive(right)
    if type(left) is str and type(right) is str:
        return bool(left < right)
    return js_number(left) < js_number(right)  # NaN compares False, as in JavaScript


def js_le(left: Any, right: Any) -> bool:
    """`left <= right`."""
    left, right = _primitive(left), _primitive(right)
    if type(left) is str and type(right) is str:
        return bool(left <= right)
    return js_number(left) <= js_number(right)


def js_truthy(value: Any) -> bool:
    """JavaScript truthiness (`if (value)`): every array and object is truthy."""
    if value is None or value is UNDEFINED or value is False:
        return False
    cls = type(value)
    if cls is float:
        return not (value == 0 or value != value)
    if cls is int or cls is str:
        return bool(value)
    return True


def logic_truthy(value: Any) -> bool:
    """json-logic truthiness: JavaScript's, except that an empty array is falsy."""
    if type(value) is list:
        return bool(value)
    return js_truthy(value)


def js_round(value: float, digits: int = 2) -> float:
    """`Math.round(value * 10**digits) / 10**digits` (halves round up, as in JavaScript)."""
    scale = 100 if digits == 2 else 10**digits
    return math.floor(value * scale + 0.5) / scale  # int / int: already a float
