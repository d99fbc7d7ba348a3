"""The engine's fast paths must give what the general code gives: templates, context parts,
inline var reads in comparisons and range checks."""

from __future__ import annotations

from typing import Any

import pytest

from target_async.decisioning._context import ALL_CONTEXT_PARTS, context_parts
from target_async.decisioning._js import js_loose_eq, logic_truthy
from target_async.decisioning._jsonlogic import compile_logic
from target_async.decisioning._template import lazy_template, template


def test_a_lazy_template_builds_once_on_first_copy() -> None:
    builds: list[int] = []

    def build() -> dict[str, Any]:
        builds.append(1)
        return {"options": [{"content": {"a": 1}}]}

    make = lazy_template(build)
    assert builds == []
    first, second = make(), make()
    assert builds == [1] and first == second
    first["options"][0]["content"]["a"] = 2
    assert make() == {"options": [{"content": {"a": 1}}]}


def test_template_copies_are_equal_independent_and_snapshotted() -> None:
    value: dict[str, Any] = {
        "name": "m",
        "options": [{"content": {"a": [1, {"b": "c"}], "s": "x"}, "responseTokens": {}}],
        "mixed": [1, [2], "three"],
    }
    make = template(value)
    first, second = make(), make()
    assert first == second == value
    first["options"][0]["content"]["a"][1]["b"] = "changed"
    first["mixed"][1].append(3)
    value["name"] = "changed after compiling"
    assert make() == second
    assert second["options"][0]["content"]["a"][1] == {"b": "c"}
    assert second["mixed"] == [1, [2], "three"]
    assert template((1, 2))() == (1, 2)
    assert template("text")() == "text"


def test_context_parts_follow_the_paths_read() -> None:
    assert context_parts(["allocation"]) == ()
    assert context_parts(["page.url", "current_day", "mbox.x", "user.browserType"]) == (
        "timing",
        "user",
        "page",
        "mbox",
    )
    assert context_parts(["geo.city", None]) == ALL_CONTEXT_PARTS


DATA: list[Any] = [
    {"page": {"domain": "example.com"}, "x": "example.com"},
    {"page": {"domain": "other"}, "x": "other"},
    {"page": {"domain": None}, "x": None},
    {"page": {}},
    {"page": {"domain": 5}, "x": 5},
    {"page": {"domain": ["example.com"]}, "x": ["example.com"]},
    {"page": "example.com"},
    {"page": ["a"]},
    {},
    [],
    "text",
]


@pytest.mark.parametrize("path", ["page.domain", "x", "page.domain.length"])
@pytest.mark.parametrize("constant", ["example.com", "5", ""])
@pytest.mark.parametrize("data", DATA)
def test_string_equality_with_an_inline_var_read_matches_loose_equality(
    path: str, constant: str, data: Any
) -> None:
    general = compile_logic({"var": path})(data)
    expected = js_loose_eq(constant, general)
    assert compile_logic({"==": [constant, {"var": path}]})(data) is expected
    assert compile_logic({"==": [{"var": path}, constant]})(data) is expected


@pytest.mark.parametrize("low_op", ["<", "<="])
@pytest.mark.parametrize("high_op", [">", ">="])
@pytest.mark.parametrize("value", [-1, 0, 25, 49.99, 50, 50.5, 100, None, "30", [30], True])
def test_fused_range_checks_match_their_two_comparisons(
    low_op: str, high_op: str, value: Any
) -> None:
    low = {low_op: [0, {"var": "allocation"}]}
    high = {high_op: [50, {"var": "allocation"}]}
    data = {} if value is None else {"allocation": value}
    fused = compile_logic({"and": [low, high]})(data)
    separate = logic_truthy(compile_logic(low)(data)) and logic_truthy(compile_logic(high)(data))
    assert fused is separate
