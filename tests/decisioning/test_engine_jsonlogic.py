"""json-logic compiled to closures must behave like json-logic-js on JavaScript values."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from target_async import ArtifactError
from target_async.decisioning._js import js_number, js_string
from target_async.decisioning._jsonlogic import compile_logic, var_paths


def run(logic: Any, data: Any = None) -> Any:
    return compile_logic(logic)(data if data is not None else {})


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        (5, "5", True),
        (0, "", True),
        ("1", True, True),
        (1.0, 1, True),
        ("abc", "ABC", False),
        (None, 0, False),
        (None, {"var": "missing"}, True),
        ([1], "1", True),
        ([1, 2], "1,2", True),
        ("5.0", 5, True),
        ("0x10", 16, True),
        (" 12 ", 12, True),
        ("1e3", 1000, True),
        ("inf", math.inf, False),
        (False, "0", True),
        ({"var": "obj"}, "[object Object]", True),
    ],
)
def test_loose_equality_coerces_like_javascript(left: Any, right: Any, equal: bool) -> None:
    data = {"obj": {"a": 1}}
    assert run({"==": [left, right]}, data) is equal
    assert run({"!=": [left, right]}, data) is not equal
    if not isinstance(left, dict) and not isinstance(right, dict):
        # The constant-operand fast paths must agree with the generic path, in both orders.
        assert run({"==": [{"var": "x"}, right]}, {"x": left}) is equal
        assert run({"==": [left, {"var": "x"}]}, {"x": right}) is equal


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [(1, "1", False), (True, 1, False), (1, 1.0, True), (None, None, True), ("a", "a", True)],
)
def test_strict_equality_needs_the_same_type(left: Any, right: Any, equal: bool) -> None:
    assert run({"===": [left, right]}) is equal
    assert run({"!==": [left, right]}) is not equal


@pytest.mark.parametrize(
    ("logic", "expected"),
    [
        ({"<": ["10", "9"]}, True),  # two strings: lexicographic
        ({"<": [10, "9"]}, False),  # a number involved: numeric
        ({">": ["-122.3", -122.4]}, True),
        ({"<": [None, 1]}, True),  # null is 0
        ({"<": ["abc", 1]}, False),  # NaN never compares
        ({">=": ["abc", "abc"]}, True),
        ({"<=": [True, 1]}, True),
        ({"<=": [0, 25, 50]}, True),  # three arguments: between, inclusive
        ({"<=": [0, 50, 50]}, True),
        ({"<": [0, 50, 50]}, False),  # between, exclusive
        ({"<=": ["0000", "0930", "2359"]}, True),  # HHmm strings
        ({"<": [1]}, False),  # missing operand is undefined (NaN), not null
    ],
)
def test_relations(logic: dict[str, Any], expected: bool) -> None:
    assert run(logic) is expected


def test_missing_var_is_null_and_default_applies() -> None:
    assert run({"var": "a.b.c"}, {"a": {"b": None}}) is None
    assert run({"var": ["a.x", "fallback"]}, {"a": {}}) == "fallback"
    assert run({"var": "a.b"}, {"a": {"b": 0}}) == 0
    assert run({"var": "list.1"}, {"list": ["x", "y"]}) == "y"
    assert run({"var": "text.length"}, {"text": "abcd"}) == 4
    assert run({"var": ""}, {"k": 1}) == {"k": 1}
    assert run({"var": {"cat": ["a", ".", "b"]}}, {"a": {"b": 7}}) == 7


def test_in_searches_strings_and_arrays() -> None:
    assert run({"in": ["bar", {"var": "url"}]}, {"url": "http://foo/bar"}) is True
    assert run({"in": ["Spring", ["Spring", "Summer"]]}) is True
    assert run({"in": [1, ["1"]]}) is False  # arrays use ===
    assert run({"in": [1, "a1b"]}) is True  # strings: String(needle)
    assert run({"in": ["", ""]}) is False  # falsy haystack
    assert run({"in": ["a", {"var": "missing"}]}) is False


def test_truthiness_is_javascript_except_empty_arrays() -> None:
    assert run({"!": [[]]}) is True
    assert run({"!!": [[0]]}) is True
    assert run({"!!": ["0"]}) is True
    assert run({"!!": [{"var": "obj"}]}, {"obj": {}}) is True
    assert run({"!": [0]}) is True
    assert run({"and": [1, "", 2]}) == ""  # first falsy value
    assert run({"and": [1, 2]}) == 2
    assert run({"or": [0, None, "x", 3]}) == "x"
    assert run({"or": [0, ""]}) == ""
    assert run({"and": [True, {"and": [1, 0]}, True]}) == 0


def test_if() -> None:
    assert run({"if": [{"var": "a"}, "yes", "no"]}, {"a": 1}) == "yes"
    assert run({"?:": [{"var": "a"}, "yes", "no"]}, {"a": 0}) == "no"
    assert run({"if": [False, 1, False, 2, 3]}) == 3
    assert run({"if": [False, 1]}) is None


def test_missing_and_missing_some() -> None:
    data = {"a": 1, "b": "", "c": None}
    assert run({"missing": ["a", "b", "c", "d"]}, data) == ["b", "c", "d"]
    assert run({"missing": [["a", "z"]]}, data) == ["z"]
    assert run({"missing_some": [1, ["a", "z"]]}, data) == []
    assert run({"missing_some": [2, ["a", "z"]]}, data) == ["z"]


def test_strings() -> None:
    assert run({"cat": ["a", 1, None, 2.5, True, [1, 2]]}) == "a12.5true1,2"
    assert run({"substr": ["jsonlogic", 4]}) == "logic"
    assert run({"substr": ["jsonlogic", -5]}) == "logic"
    assert run({"substr": ["jsonlogic", 0, 1]}) == "j"
    assert run({"substr": ["jsonlogic", 4, -2]}) == "log"


def test_arithmetic() -> None:
    assert run({"+": ["1", 2, "3.5abc"]}) == 6.5  # parseFloat on each operand
    assert run({"+": []}) == 0
    assert run({"*": ["2"]}) == "2"  # a single operand is returned as is
    assert run({"*": [2, "3"]}) == 6
    assert run({"-": ["5"]}) == -5
    assert run({"-": [5, "2"]}) == 3
    assert run({"/": [1, 0]}) == math.inf
    assert math.isnan(run({"/": [0, 0]}))
    assert run({"%": [-7, 3]}) == -1  # sign of the dividend
    assert math.isnan(run({"%": [1, 0]}))
    assert run({"max": [1, "3", 2]}) == 3
    assert run({"min": []}) == math.inf
    assert math.isnan(run({"min": [1, "x"]}))


def test_array_operations() -> None:
    data = {"items": [1, 2, 3, 4]}
    assert run({"merge": [[1], 2, [[3]]]}) == [1, 2, [3]]
    assert run({"map": [{"var": "items"}, {"*": [{"var": ""}, 2]}]}, data) == [2, 4, 6, 8]
    assert run({"filter": [{"var": "items"}, {">": [{"var": ""}, 2]}]}, data) == [3, 4]
    assert (
        run(
            {"reduce": [{"var": "items"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]},
            data,
        )
        == 10
    )
    assert run({"all": [{"var": "items"}, {">": [{"var": ""}, 0]}]}, data) is True
    assert run({"all": [[], True]}) is False
    assert run({"some": [{"var": "items"}, {">": [{"var": ""}, 3]}]}, data) is True
    assert run({"none": [{"var": "items"}, {">": [{"var": ""}, 4]}]}, data) is True
    assert run({"map": [{"var": "not-a-list"}, 1]}, data) == []


def test_literals_and_arrays_of_logic() -> None:
    assert run(True) is True
    assert run([1, {"var": "a"}], {"a": 2}) == [1, 2]
    assert run({"a": 1, "b": 2}) == {"a": 1, "b": 2}  # objects with several keys are data


def test_unknown_operator_is_named_at_compile_time() -> None:
    with pytest.raises(ArtifactError, match="'regex_match'"):
        compile_logic({"and": [True, {"regex_match": ["a", "b"]}]})


def test_var_paths() -> None:
    logic = {"and": [{"var": "allocation"}, {"var": ["page.url", ""]}, {"var": {"cat": ["x"]}}]}
    assert list(var_paths(logic)) == ["allocation", "page.url", None]
    assert list(var_paths({"missing": ["a"]})) == [None]
    assert list(var_paths({"!": {"var": ""}})) == [None]
    assert list(var_paths(True)) == []


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-200, 200),
    st.floats(allow_nan=False, min_value=-200, max_value=200),
    st.sampled_from(["", "0", "25", "50.5", "abc", " 7 ", "1e1"]),
    st.lists(st.integers(0, 60), max_size=2),
)
_bounds = st.sampled_from(["<", "<=", ">", ">="])


@given(
    value=_values,
    low_op=_bounds,
    high_op=_bounds,
    low=st.integers(-10, 60),
    high=st.integers(0, 100),
)
def test_fused_range_checks_agree_with_the_generic_operators(
    value: Any, low_op: str, high_op: str, low: int, high: int
) -> None:
    first = {low_op: [low, {"var": "allocation"}]}
    second = {high_op: [{"var": "allocation"}, high]}
    fused = compile_logic({"and": [first, second]})
    # `!!` keeps the operands apart, so they are evaluated one by one.
    generic = compile_logic({"and": [{"!!": [first]}, {"!!": [second]}]})
    data = {"allocation": value}
    assert fused(data) == generic(data)


@given(st.one_of(st.integers(-(10**6), 10**6), st.floats(allow_nan=False, allow_infinity=False)))
def test_numbers_print_and_parse_like_javascript(number: float) -> None:
    assert js_number(js_string(number)) == number
    assert js_string(1e21) == "1e+21"
    assert js_string(1.5e-7) == "1.5e-7"
    assert js_string(-0.0) == "0"
    assert js_string(float(2**60)) == "1152921504606847000"
    assert js_string(0.1 + 0.2) == "0.30000000000000004"
