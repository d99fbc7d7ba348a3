"""`Model`: the value equality and repr every model shares, written once.

attrs compiles a `__repr__` and an `__eq__` for each class it decorates: about half the
cost of creating a model class, and the models are most of what first use imports. The
models are declared `@attrs.define(kw_only=True, repr=False, eq=False)` on this base,
which behaves as the generated methods do: equal when of the same class with equal field
values (compared as one tuple), unhashable, and `Name(field=value, ...)` with `...` for
an object already being printed.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["Model"]

# Ids of the objects being printed, per thread: a cycle prints as `...`.
_printing = threading.local()


def _values(obj: Any) -> tuple[Any, ...]:
    return tuple([getattr(obj, field.name) for field in obj.__attrs_attrs__])


class Model:
    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _values(self) == _values(other)

    # Mutable and compared by value: unhashable, as attrs makes such a class.
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        try:
            active: set[int] = _printing.active
        except AttributeError:
            active = _printing.active = set()
        if id(self) in active:
            return "..."
        active.add(id(self))
        try:
            fields = ", ".join(
                f"{field.name}={getattr(self, field.name)!r}"
                if field.repr is True
                else f"{field.name}={field.repr(getattr(self, field.name))}"
                for field in self.__attrs_attrs__  # type: ignore[attr-defined]
                if field.repr is not False
            )
            return f"{self.__class__.__qualname__.rsplit('>.', 1)[-1]}({fields})"
        finally:
            active.discard(id(self))
