"""Response templates: pre-built JSON bodies that hand out a fresh copy on every call.

Only dicts and lists are rebuilt; strings, numbers, booleans and None are immutable, so
every copy shares them. That keeps responses independent of each other and of the artifact
while costing one `dict.copy` per container instead of re-creating every string (as
unmarshalling or a full deep copy would).
"""

from __future__ import annotations

import functools
import marshal
from collections.abc import Callable
from typing import Any, Final

__all__ = ["Template", "lazy_template", "template"]

Template = Callable[[], Any]

_IMMUTABLE: Final = frozenset({str, int, float, bool, type(None)})
_MARSHAL_VERSION: Final = 2  # no back-references: every load yields fully independent objects


def template(value: Any) -> Template:
    """A function returning an independent copy of the JSON-like `value` on each call.

    `value` is snapshotted: changing it afterwards does not change the copies.
    """
    cls = type(value)
    if cls in _IMMUTABLE:
        return lambda: value
    if cls is dict:
        return _dict_template(value)
    if cls is list:
        return _list_template(value)
    # Anything else (tuples, dict subclasses...) is not JSON-decoded data: round-trip it
    # through marshal, which also rejects what cannot be copied at all.
    return functools.partial(marshal.loads, marshal.dumps(value, _MARSHAL_VERSION))


def lazy_template(build: Callable[[], Any]) -> Template:
    """`template(build())`, with `build` called on the first copy rather than now.

    Two threads copying first at once may both build: the templates are equal.
    """
    built: Template | None = None

    def copy() -> Any:
        nonlocal built
        if built is None:
            built = template(build())
        return built()

    return copy


def _dict_template(value: dict[Any, Any]) -> Template:
    shell = dict(value)
    nested = tuple(
        (key, template(item)) for key, item in value.items() if type(item) not in _IMMUTABLE
    )
    if not nested:
        return shell.copy
    if len(nested) == 1:
        ((only_key, only_copy),) = nested

        def copy_one(shell: dict[Any, Any] = shell) -> dict[Any, Any]:
            result = shell.copy()
            result[only_key] = only_copy()
            return result

        return copy_one

    def copy_dict(shell: dict[Any, Any] = shell) -> dict[Any, Any]:
        result = shell.copy()
        for key, copy in nested:
            result[key] = copy()
        return result

    return copy_dict


def _list_template(value: list[Any]) -> Template:
    shell = list(value)
    nested = tuple(
        (index, template(item)) for index, item in enumerate(value) if type(item) not in _IMMUTABLE
    )
    if not nested:
        return shell.copy
    if len(nested) == len(shell):
        copies = tuple(copy for _, copy in nested)
        if len(copies) == 1:
            (only_copy,) = copies
            return lambda: [only_copy()]
        return lambda: [copy() for copy in copies]

    def copy_list() -> list[Any]:
        result = shell.copy()
        for index, copy in nested:
            result[index] = copy()
        return result

    return copy_list
