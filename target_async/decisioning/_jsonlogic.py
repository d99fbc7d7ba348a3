"""json-logic compiled into Python closures, with json-logic-js semantics.

`compile_logic(rule)` walks a json-logic expression once and returns a function of the
data; evaluating a rule is then a chain of plain calls.  Comparisons against a constant
(the bulk of artifact conditions: `{"<=": [0, {"var": "allocation"}]}`) get a fast path
for same-typed operands and fall back to full JavaScript coercion otherwise.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

from .._exceptions import ArtifactError
from ._js import (
    UNDEFINED,
    js_le,
    js_loose_eq,
    js_lt,
    js_number,
    js_parse_float,
    js_strict_eq,
    js_string,
    js_truthy,
    logic_truthy,
)

__all__ = ["Evaluator", "compile_logic", "var_paths"]

Evaluator = Callable[[Any], Any]
_Compiled = tuple[Evaluator, Any]  # (function, constant value or _DYNAMIC)

_DYNAMIC: Final[Any] = object()
_NAN = math.nan


def compile_logic(logic: Any) -> Evaluator:
    """Compile a json-logic expression; raises `ArtifactError` naming an unknown operator."""
    return _compile(logic)[0]


def var_paths(logic: Any) -> Iterator[str | None]:
    """Every data path an expression reads; None where it reads the whole data or computed keys."""
    if isinstance(logic, list):
        for item in logic:
            yield from var_paths(item)
    elif isinstance(logic, dict) and len(logic) == 1:
        ((op, args),) = logic.items()
        if op == "var":
            path = args[0] if isinstance(args, list) and args else args
            if isinstance(path, (str, int, float)) and not isinstance(path, bool) and path != "":
                yield js_string(path)
            else:
                yield None
        elif op in ("missing", "missing_some"):
            yield None
        yield from var_paths(args)


def _constant(value: Any) -> _Compiled:
    return (lambda _data: value), value


def _compile(logic: Any) -> _Compiled:
    if isinstance(logic, list):
        items = [_compile(item) for item in logic]
        if all(const is not _DYNAMIC for _, const in items):
            return _constant([const for _, const in items])
        fns = [fn for fn, _ in items]
        return (lambda data: [fn(data) for fn in fns]), _DYNAMIC
    if not (isinstance(logic, dict) and len(logic) == 1):
        return _constant(logic)
    ((op, args),) = logic.items()
    if not isinstance(args, list):
        args = [args]
    special = _SPECIAL.get(op)
    if special is not None:
        return special(args), _DYNAMIC
    factory = _OPERATORS.get(op)
    if factory is None:
        raise ArtifactError(f"Unsupported json-logic operator {op!r}")
    return factory([_compile(arg) for arg in args]), _DYNAMIC


# -- var / missing ------------------------------------------------------------------


def _lookup(data: Any, parts: Sequence[str], not_found: Any) -> Any:
    for part in parts:
        cls = type(data)
        if cls is dict:
            data = data.get(part, UNDEFINED)
        elif data is None or data is UNDEFINED:
            return not_found
        elif cls is list or cls is str:
            if part == "length":
                data = len(data)
            elif part.isdigit() and int(part) < len(data):
                data = data[int(part)]
            else:
                return not_found
        else:
            return not_found
        if data is UNDEFINED:
            return not_found
    return data


# The data path of getters for a constant `var` path with a null default: comparisons
# against a constant read such paths inline rather than through the getter.
_PLAIN_VAR_PATHS: weakref.WeakKeyDictionary[Evaluator, tuple[str, ...]] = (
    weakref.WeakKeyDictionary()
)


def _plain_var_path(fn: Evaluator) -> tuple[str, ...] | None:
    return _PLAIN_VAR_PATHS.get(fn)


def _var_getter(path: Any, not_found: Any) -> Evaluator:
    if path is None or path == "" or path == []:
        return lambda data: data
    parts = tuple(js_string(path).split("."))
    if len(parts) == 1:
        (key,) = parts

        def get_one(data: Any) -> Any:
            if type(data) is dict:
                value = data.get(key, UNDEFINED)
                return not_found if value is UNDEFINED else value
            return _lookup(data, parts, not_found)

        return get_one
    if len(parts) == 2:
        first, second = parts

        def get_two(data: Any) -> Any:
            if type(data) is dict:
                inner = data.get(first)
                if type(inner) is dict:
                    value = inner.get(second, UNDEFINED)
                    return not_found if value is UNDEFINED else value
            return _lookup(data, parts, not_found)

        return get_two
    return lambda data: _lookup(data, parts, not_found)


def _op_var(args: list[_Compiled]) -> Evaluator:
    path_fn, path = args[0] if args else _constant(None)
    default_fn, default = args[1] if len(args) > 1 else _constant(None)
    if path is not _DYNAMIC and default is not _DYNAMIC:
        getter = _var_getter(path, default)
        if default is None and not (path is None or path == "" or path == []):
            _PLAIN_VAR_PATHS[getter] = tuple(js_string(path).split("."))
        return getter

    def var(data: Any) -> Any:
        return _var_getter(path_fn(data), default_fn(data))(data)

    return var


def _missing_keys(data: Any, keys: Any) -> list[Any]:
    return [key for key in keys if (value := _var_getter(key, None)(data)) is None or value == ""]


def _op_missing(args: list[_Compiled]) -> Evaluator:
    fns = [fn for fn, _ in args]

    def missing(data: Any) -> list[Any]:
        values = [fn(data) for fn in fns]
        keys = values[0] if values and type(values[0]) is list else values
        return _missing_keys(data, keys)

    return missing


def _op_missing_some(args: list[_Compiled]) -> Evaluator:
    need_fn, options_fn = _arg(args, 0), _arg(args, 1)

    def missing_some(data: Any) -> list[Any]:
        options = options_fn(data)
        options = options if type(options) is list else [options]
        absent = _missing_keys(data, options)
        return [] if len(options) - len(absent) >= js_number(need_fn(data)) else absent

    return missing_some


def _arg(args: list[_Compiled], index: int) -> Evaluator:
    return args[index][0] if index < len(args) else (lambda _data: UNDEFINED)


# -- comparisons --------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    cls = type(value)
    return cls is int or cls is float


def _op_loose_eq(args: list[_Compiled]) -> Evaluator:
    (left, left_const), (right, right_const) = _pad(args, 2)
    if left_const is _DYNAMIC and right_const is not _DYNAMIC:
        (left, left_const), (right, right_const) = (right, right_const), (left, left_const)
    if left_const is not _DYNAMIC and right_const is _DYNAMIC:
        const = left_const
        if type(const) is str:

            def eq_str(data: Any) -> bool:
                value = right(data)
                if type(value) is str:
                    return bool(value == const)
                if value is None or value is UNDEFINED:
                    return False  # a string is never == null or undefined
                return js_loose_eq(const, value)

            return _eq_str_at_path(const, right, eq_str) or eq_str
        if _is_number(const):

            def eq_num(data: Any) -> bool:
                value = right(data)
                cls = type(value)
                if cls is int or cls is float:
                    return bool(value == const)
                return js_loose_eq(const, value)

            return eq_num
    return lambda data: js_loose_eq(left(data), right(data))


def _eq_str_at_path(const: str, right: Evaluator, general: Evaluator) -> Evaluator | None:
    """`eq_str` for a one- or two-part var path, read inline (`page.domain`, `mbox.x`)."""
    parts = _plain_var_path(right)
    if parts is None or len(parts) > 2:
        return None
    if len(parts) == 1:
        (key,) = parts

        def eq_str_key(data: Any) -> bool:
            if type(data) is not dict:
                return bool(general(data))
            value = data.get(key)  # missing: null, the var default
            if type(value) is str:
                return bool(value == const)
            return value is not None and js_loose_eq(const, value)

        return eq_str_key
    first, second = parts

    def eq_str_path(data: Any) -> bool:
        if type(data) is dict:
            inner = data.get(first)
            if type(inner) is dict:
                value = inner.get(second)
                if type(value) is str:
                    return bool(value == const)
                return value is not None and js_loose_eq(const, value)
        return bool(general(data))

    return eq_str_path


def _op_loose_ne(args: list[_Compiled]) -> Evaluator:
    eq = _op_loose_eq(args)
    return lambda data: not eq(data)


def _op_strict_eq(args: list[_Compiled]) -> Evaluator:
    (left, _), (right, _) = _pad(args, 2)
    return lambda data: js_strict_eq(left(data), right(data))


def _op_strict_ne(args: list[_Compiled]) -> Evaluator:
    (left, _), (right, _) = _pad(args, 2)
    return lambda data: not js_strict_eq(left(data), right(data))


def _pad(args: list[_Compiled], count: int) -> list[_Compiled]:
    missing: _Compiled = ((lambda _data: UNDEFINED), UNDEFINED)
    return [*args[:count], *[missing] * (count - len(args))]


def _op_relation(strict: bool, flipped: bool) -> Callable[[list[_Compiled]], Evaluator]:
    """`<`, `<=` (with the three-argument "between" form) and `>`, `>=` (two arguments)."""
    slow = js_lt if strict else js_le

    def factory(args: list[_Compiled]) -> Evaluator:
        if not flipped and len(args) >= 3:
            (low, _), (mid, _), (high, _) = args[:3]

            def between(data: Any) -> bool:
                middle = mid(data)
                return slow(low(data), middle) and slow(middle, high(data))

            return between
        (left, left_const), (right, right_const) = _pad(args, 2)
        if flipped:  # a > b is b < a
            (left, left_const), (right, right_const) = (right, right_const), (left, left_const)
        if _is_number(left_const) and right_const is _DYNAMIC:
            const = left_const

            def const_left(data: Any) -> bool:
                value = right(data)
                cls = type(value)
                if cls is int or cls is float:
                    return bool(const < value) if strict else bool(const <= value)
                return slow(const, value)

            return const_left
        if _is_number(right_const) and left_const is _DYNAMIC:
            const = right_const

            def const_right(data: Any) -> bool:
                value = left(data)
                cls = type(value)
                if cls is int or cls is float:
                    return bool(value < const) if strict else bool(value <= const)
                return slow(value, const)

            return const_right
        return lambda data: slow(left(data), right(data))

    return factory


# -- logic ----------------------------------------------------------------------------


def _op_not(args: list[_Compiled]) -> Evaluator:
    fn = _arg(args, 0)
    return lambda data: not logic_truthy(fn(data))


def _op_not_not(args: list[_Compiled]) -> Evaluator:
    fn = _arg(args, 0)
    return lambda data: logic_truthy(fn(data))


def _flattened_and(raw_args: list[Any]) -> list[Any]:
    """`and` operands with nested `and`s inlined (same first-falsy-or-last result)."""
    result: list[Any] = []
    for arg in raw_args:
        if isinstance(arg, dict) and len(arg) == 1 and isinstance(arg.get("and"), list):
            result.extend(_flattened_and(arg["and"]))
        else:
            result.append(arg)
    return result


# For {op: [constant, var]}: is the constant a lower bound of the var, and is it included?
_BOUND_OF_CONSTANT_LEFT: Final = {
    "<=": (True, True),
    "<": (True, False),
    ">=": (False, True),
    ">": (False, False),
}


def _numeric_bound(logic: Any) -> tuple[str, bool, bool, float] | None:
    """(var path, is lower bound, inclusive, constant) of `{"<=": [0, {"var": "allocation"}]}`-like operands."""
    if not (isinstance(logic, dict) and len(logic) == 1):
        return None
    ((op, args),) = logic.items()
    if op not in _BOUND_OF_CONSTANT_LEFT or not isinstance(args, list) or len(args) != 2:
        return None
    left, right = args
    constant_left = _is_number(left)
    constant, var = (left, right) if constant_left else (right, left)
    if not _is_number(constant) or not (isinstance(var, dict) and len(var) == 1 and "var" in var):
        return None
    path = var["var"][0] if isinstance(var["var"], list) and len(var["var"]) == 1 else var["var"]
    if not isinstance(path, str) or not path:
        return None
    lower, inclusive = _BOUND_OF_CONSTANT_LEFT[op]
    return path, lower if constant_left else not lower, inclusive, constant


def _range_check(
    path: str, bounds: tuple[tuple[bool, bool, float], ...], slow: Evaluator
) -> Evaluator | None:
    """A single closure for a lower and an upper numeric bound of the same var (allocation ranges)."""
    lowers = [bound for bound in bounds if bound[0]]
    uppers = [bound for bound in bounds if not bound[0]]
    if len(lowers) != 1 or len(uppers) != 1:
        return None
    (_, low_inclusive, low), (_, high_inclusive, high) = lowers[0], uppers[0]
    get = _var_getter(path, None)
    parts = tuple(path.split("."))
    # A one-part path (`allocation`) is read inline, and each kind of bounds has its own
    # closure: no call per comparison. A missing key reads as null, the var default.
    key = parts[0] if len(parts) == 1 else None
    if low_inclusive and high_inclusive:

        def range_check(data: Any) -> bool:
            value: Any = data.get(key) if key is not None and type(data) is dict else get(data)
            cls = type(value)
            if cls is int or cls is float:
                return bool(low <= value <= high)
            return bool(slow(data))

    elif low_inclusive:

        def range_check(data: Any) -> bool:
            value: Any = data.get(key) if key is not None and type(data) is dict else get(data)
            cls = type(value)
            if cls is int or cls is float:
                return bool(low <= value < high)
            return bool(slow(data))

    elif high_inclusive:

        def range_check(data: Any) -> bool:
            value: Any = data.get(key) if key is not None and type(data) is dict else get(data)
            cls = type(value)
            if cls is int or cls is float:
                return bool(low < value <= high)
            return bool(slow(data))

    else:

        def range_check(data: Any) -> bool:
            value: Any = data.get(key) if key is not None and type(data) is dict else get(data)
            cls = type(value)
            if cls is int or cls is float:
                return bool(low < value < high)
            return bool(slow(data))

    return range_check


def _special_and(raw_args: list[Any]) -> Evaluator:
    operands = _flattened_and(raw_args)
    fns: list[Evaluator] = []
    position = 0
    while position < len(operands):
        first, second = (
            operands[position],
            operands[position + 1] if position + 1 < len(operands) else None,
        )
        bound_a, bound_b = _numeric_bound(first), _numeric_bound(second)
        if bound_a and bound_b and bound_a[0] == bound_b[0]:
            slow = _and_of((_compile(first)[0], _compile(second)[0]))
            fused = _range_check(bound_a[0], (bound_a[1:], bound_b[1:]), slow)
            if fused is not None:
                fns.append(fused)
                position += 2
                continue
        fns.append(_compile(first)[0])
        position += 1
    return _and_of(tuple(fns))


def _and_of(fns: tuple[Evaluator, ...]) -> Evaluator:
    if len(fns) == 1:
        return fns[0]
    if len(fns) == 2:  # the common shapes, unrolled
        first, second = fns

        def and_2(data: Any) -> Any:
            current = first(data)
            if current is not True and (current is False or not logic_truthy(current)):
                return current
            return second(data)

        return and_2
    if len(fns) == 3:
        first, second, third = fns

        def and_3(data: Any) -> Any:
            current = first(data)
            if current is not True and (current is False or not logic_truthy(current)):
                return current
            current = second(data)
            if current is not True and (current is False or not logic_truthy(current)):
                return current
            return third(data)

        return and_3

    def and_(data: Any) -> Any:
        current: Any = None
        for fn in fns:
            current = fn(data)
            if current is True:
                continue
            if current is False or not logic_truthy(current):
                return current
        return current

    return and_


def _special_or(raw_args: list[Any]) -> Evaluator:
    fns = tuple(_compile(arg)[0] for arg in raw_args)

    def or_(data: Any) -> Any:
        current: Any = None
        for fn in fns:
            current = fn(data)
            if current is True or (current is not False and logic_truthy(current)):
                return current
        return current

    return or_


def _special_if(raw_args: list[Any]) -> Evaluator:
    fns = [_compile(arg)[0] for arg in raw_args]
    pairs = [(fns[i], fns[i + 1]) for i in range(0, len(fns) - 1, 2)]
    otherwise = fns[-1] if len(fns) % 2 == 1 else (lambda _data: None)

    def if_(data: Any) -> Any:
        for test, then in pairs:
            if logic_truthy(test(data)):
                return then(data)
        return otherwise(data)

    return if_


# -- arrays -----------------------------------------------------------------------------


def _scoped(raw_args: list[Any]) -> tuple[Evaluator, Evaluator]:
    source = _compile(raw_args[0])[0] if raw_args else (lambda _data: None)
    logic = _compile(raw_args[1])[0] if len(raw_args) > 1 else (lambda item: None)
    return source, logic


def _special_map(raw_args: list[Any]) -> Evaluator:
    source, logic = _scoped(raw_args)

    def map_(data: Any) -> list[Any]:
        items = source(data)
        return [logic(item) for item in items] if type(items) is list else []

    return map_


def _special_filter(raw_args: list[Any]) -> Evaluator:
    source, logic = _scoped(raw_args)

    def filter_(data: Any) -> list[Any]:
        items = source(data)
        if type(items) is not list:
            return []
        return [item for item in items if logic_truthy(logic(item))]

    return filter_


def _special_reduce(raw_args: list[Any]) -> Evaluator:
    source, logic = _scoped(raw_args)
    initial = _compile(raw_args[2])[0] if len(raw_args) > 2 else (lambda _data: None)

    def reduce_(data: Any) -> Any:
        items = source(data)
        accumulator = initial(data)
        if type(items) is not list:
            return accumulator
        for item in items:
            accumulator = logic({"current": item, "accumulator": accumulator})
        return accumulator

    return reduce_


def _special_all(raw_args: list[Any]) -> Evaluator:
    source, logic = _scoped(raw_args)

    def all_(data: Any) -> bool:
        items = source(data)
        if type(items) is not list or not items:
            return False
        return all(logic_truthy(logic(item)) for item in items)

    return all_


def _special_some(raw_args: list[Any]) -> Evaluator:
    filtered = _special_filter(raw_args)
    return lambda data: len(filtered(data)) > 0


def _special_none(raw_args: list[Any]) -> Evaluator:
    filtered = _special_filter(raw_args)
    return lambda data: len(filtered(data)) == 0


def _op_merge(args: list[_Compiled]) -> Evaluator:
    fns = [fn for fn, _ in args]

    def merge(data: Any) -> list[Any]:
        result: list[Any] = []
        for fn in fns:
            value = fn(data)
            if type(value) is list:
                result.extend(value)
            else:
                result.append(value)
        return result

    return merge


def _op_in(args: list[_Compiled]) -> Evaluator:
    needle_fn, haystack_fn = _arg(args, 0), _arg(args, 1)

    def in_(data: Any) -> bool:
        haystack = haystack_fn(data)
        if not js_truthy(haystack):
            return False
        needle = needle_fn(data)
        if type(haystack) is str:
            return js_string(needle) in haystack
        if type(haystack) is list:
            return any(js_strict_eq(needle, item) for item in haystack)
        return False

    return in_


# -- strings ----------------------------------------------------------------------------


def _op_cat(args: list[_Compiled]) -> Evaluator:
    fns = [fn for fn, _ in args]

    def cat(data: Any) -> str:
        parts = (fn(data) for fn in fns)
        return "".join(
            "" if part is None or part is UNDEFINED else js_string(part) for part in parts
        )

    return cat


def _to_integer(value: Any) -> float:
    number = js_number(value)
    if number != number:
        return 0
    return number if math.isinf(number) else float(math.trunc(number))


def _substr(text: str, start: Any, length: Any) -> str:
    """`String.prototype.substr(start, length)`."""
    size = len(text)
    begin = _to_integer(start)
    begin = max(size + begin, 0) if begin < 0 else min(begin, size)
    count = size - begin if length is UNDEFINED else min(max(_to_integer(length), 0), size - begin)
    return text[int(begin) : int(begin + count)]


def _op_substr(args: list[_Compiled]) -> Evaluator:
    source_fn, start_fn, end_fn = _arg(args, 0), _arg(args, 1), _arg(args, 2)

    def substr(data: Any) -> str:
        text, start, end = js_string(source_fn(data)), start_fn(data), end_fn(data)
        if end is not UNDEFINED and _to_integer(end) < 0:
            rest = _substr(text, start, UNDEFINED)
            return _substr(rest, 0, len(rest) + _to_integer(end))
        return _substr(text, start, end)

    return substr


# -- arithmetic -------------------------------------------------------------------------


def _op_plus(args: list[_Compiled]) -> Evaluator:
    fns = [fn for fn, _ in args]

    def plus(data: Any) -> float:
        total = 0.0
        for fn in fns:  # left to right, as JavaScript adds
            total += js_parse_float(fn(data))
        return total

    return plus


def _op_times(args: list[_Compiled]) -> Evaluator:
    fns = [fn for fn, _ in args]
    if not fns:
        raise ArtifactError("json-logic operator '*' needs at least one argument")

    def times(data: Any) -> Any:
        values = [fn(data) for fn in fns]
        if len(values) == 1:
            return values[0]
        product = js_parse_float(values[0])
        for value in values[1:]:
            product *= js_parse_float(value)
        return product

    return times


def _op_minus(args: list[_Compiled]) -> Evaluator:
    left, right = _arg(args, 0), _arg(args, 1)
    if len(args) < 2:
        return lambda data: -js_number(left(data))
    return lambda data: js_number(left(data)) - js_number(right(data))


def _divide(numerator: float, denominator: float) -> float:
    if denominator == 0:
        if numerator != numerator or numerator == 0:
            return _NAN
        return math.copysign(math.inf, numerator) * math.copysign(1, denominator)
    return numerator / denominator


def _op_divide(args: list[_Compiled]) -> Evaluator:
    left, right = _arg(args, 0), _arg(args, 1)
    return lambda data: _divide(js_number(left(data)), js_number(right(data)))


def _remainder(dividend: float, divisor: float) -> float:
    if divisor == 0 or math.isinf(dividend) or dividend != dividend or divisor != divisor:
        return _NAN
    return math.fmod(dividend, divisor)


def _op_modulo(args: list[_Compiled]) -> Evaluator:
    left, right = _arg(args, 0), _arg(args, 1)
    return lambda data: _remainder(js_number(left(data)), js_number(right(data)))


def _extreme(
    pick: Callable[[list[float]], float], empty: float
) -> Callable[[list[_Compiled]], Evaluator]:
    def factory(args: list[_Compiled]) -> Evaluator:
        fns = [fn for fn, _ in args]

        def extreme(data: Any) -> float:
            numbers = [js_number(fn(data)) for fn in fns]
            if not numbers:
                return empty
            if any(number != number for number in numbers):
                return _NAN
            return pick(numbers)

        return extreme

    return factory


_SPECIAL: Final[dict[str, Callable[[list[Any]], Evaluator]]] = {
    "and": _special_and,
    "or": _special_or,
    "if": _special_if,
    "?:": _special_if,
    "map": _special_map,
    "filter": _special_filter,
    "reduce": _special_reduce,
    "all": _special_all,
    "some": _special_some,
    "none": _special_none,
}

_OPERATORS: Final[dict[str, Callable[[list[_Compiled]], Evaluator]]] = {
    "var": _op_var,
    "missing": _op_missing,
    "missing_some": _op_missing_some,
    "==": _op_loose_eq,
    "!=": _op_loose_ne,
    "===": _op_strict_eq,
    "!==": _op_strict_ne,
    "<": _op_relation(strict=True, flipped=False),
    "<=": _op_relation(strict=False, flipped=False),
    ">": _op_relation(strict=True, flipped=True),
    ">=": _op_relation(strict=False, flipped=True),
    "!": _op_not,
    "!!": _op_not_not,
    "in": _op_in,
    "cat": _op_cat,
    "substr": _op_substr,
    "merge": _op_merge,
    "+": _op_plus,
    "-": _op_minus,
    "*": _op_times,
    "/": _op_divide,
    "%": _op_modulo,
    "min": _extreme(min, math.inf),
    "max": _extreme(max, -math.inf),
}
