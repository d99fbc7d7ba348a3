"""`Model`: the value equality and repr every model shares, written once.

attrs compiles a `__repr__` and an `__eq__` for each class it decorates: about half the
cost of creating a model class, and the models are most of what first use imports. The
models are declared `@attrs.define(kw_only=True, repr=False, eq=False)` on this base,
which behaves as the generated methods do: equal when of the same class with equal field
values (compared as one tuple), unhashable, and `Name(field=value, ...)` with `...` for
an object already being printed.

Models of what the SDK sends check their fields when they are built: a value of the wrong
type (a dict or a str where a model is expected, a number where a string is) raises
`TargetValidationError` naming the field, as `ExecuteRequest.mboxes[0]`. The checks of a
class are made from its annotations on its first construction; response models, built
by the converter from checked JSON, have none.
"""

from __future__ import annotations

import enum
import threading
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from .._exceptions import TargetValidationError

__all__ = ["Model", "check_fields"]

# Ids of the objects being printed, per thread: a cycle prints as `...`.
_printing = threading.local()


def _values(obj: Any) -> tuple[Any, ...]:
    return tuple([getattr(obj, field.name) for field in obj.__attrs_attrs__])


def _article(name: str) -> str:
    return f"an {name}" if name[:1] in "AEIOU" else f"a {name}"


def _refuse(owner: str, path: str, expected: str, value: Any, hint: str = "") -> NoReturn:
    raise TargetValidationError(
        f"{owner}.{path} must be {expected}, got {type(value).__name__}: {value!r:.60}{hint}"
    )


def _without_none(tp: Any) -> Any:
    """`X | None` -> `X`; other types as they are."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


class _Checks:
    """Source of one class's field checks: one generated function, so that a model's
    construction pays a call and an `isinstance` per field given, not a call per field."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"refuse": _refuse, "Mapping": Mapping}

    def name(self, value: Any) -> str:
        key = f"t{len(self.names)}"
        self.names[key] = value
        return key

    def condition(self, tp: Any, v: str) -> tuple[str, str] | None:
        """(Python expression true when `v` is a valid `tp`, what is expected), or None for any value."""
        tp = _without_none(tp)
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            args = [arg for arg in typing.get_args(tp) if arg is not type(None)]
            if not all(isinstance(arg, type) for arg in args):
                return None
            # `SomeEnum | str`: a str is taken as the enum's wire value.
            return (
                f"isinstance({v}, {self.name(tuple(args))})",
                " or ".join(_article(arg.__name__) for arg in args),
            )
        if origin is dict:
            return f"({v}.__class__ is dict or isinstance({v}, Mapping))", "a dict"
        if not isinstance(tp, type) or tp is object:
            return None
        if issubclass(tp, enum.Enum):
            # A str is sent as is: the edge may know values this SDK does not.
            return f"isinstance({v}, {self.name((tp, str))})", f"{_article(tp.__name__)} or its str value"
        if tp is int:
            return f"({v}.__class__ is int or isinstance({v}, int) and {v}.__class__ is not bool)", "an int"
        if tp is float:
            return (
                f"({v}.__class__ is float or {v}.__class__ is int"
                f" or isinstance({v}, (int, float)) and {v}.__class__ is not bool)",
                "a number",
            )
        t = self.name(tp)
        return f"({v}.__class__ is {t} or isinstance({v}, {t}))", _article(tp.__name__)

    def field(self, name: str, tp: Any) -> None:
        owner = self.owner
        tp = _without_none(tp)
        if typing.get_origin(tp) is list:
            (item_type,) = typing.get_args(tp) or (Any,)
            item_name = getattr(item_type, "__name__", "value")
            item = self.condition(item_type, "item")
            self.lines += [
                f"    v = self.{name}",
                "    if v is not None:",
                "        if v.__class__ is not list and not isinstance(v, (list, tuple)):",
                f"            refuse({owner!r}, {name!r}, {f'a list of {item_name}'!r}, v)",
            ]
            if item is not None:
                self.lines += [
                    "        for index, item in enumerate(v):",
                    f"            if not {item[0]}:",
                    f"                refuse({owner!r}, f'{name}[{{index}}]', {item[1]!r}, item)",
                ]
            return
        check = self.condition(tp, "v")
        if check is None:
            return
        model = next(
            (arg for arg in (tp, *typing.get_args(tp)) if isinstance(arg, type) and issubclass(arg, Model)), None
        )
        hint = (
            f" (build it with {model.__name__}(...); a whole request may be given as its wire JSON dict)"
            if model is not None
            else ""
        )
        self.lines += [
            f"    v = self.{name}",
            f"    if v is not None and not {check[0]}:",
            f"        refuse({owner!r}, {name!r}, {check[1]!r}, v, {hint!r} if isinstance(v, Mapping) else '')",
        ]

    def function(self) -> Callable[[Any], None]:
        source = "\n".join(["def check(self):", *self.lines, "    return None"])
        exec(compile(source, f"<checks of {self.owner}>", "exec"), self.names)
        check: Callable[[Any], None] = self.names["check"]
        return check


def _no_checks(self: Any) -> None:
    return None


def _compile_checks(cls: type) -> Callable[[Any], None]:
    if cls.__module__.endswith("._response"):
        return _no_checks
    checks = _Checks(cls.__name__)
    hints = typing.get_type_hints(cls)
    for field in cls.__attrs_attrs__:  # type: ignore[attr-defined]
        checks.field(field.name, hints[field.name])
    return checks.function()


class Model:
    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The model as wire JSON (camelCase keys, absent fields left out), as the official
        SDK's models give it."""
        from .. import _serde

        data: dict[str, Any] = _serde.unstructure(self)
        return data

    def __attrs_post_init__(self) -> None:
        # First construction of a class: its generated checks replace this method.
        cls = self.__class__
        check = _compile_checks(cls)
        cls.__attrs_post_init__ = check  # type: ignore[method-assign,assignment]
        check(self)

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


def check_fields(model: Model, _seen: set[int] | None = None) -> None:
    """Check the fields of `model` and of every model inside it again (fields set after
    construction are not checked); raises `TargetValidationError` naming the first bad one."""
    seen = set() if _seen is None else _seen
    if id(model) in seen:
        return
    seen.add(id(model))
    model.__attrs_post_init__()
    for field in model.__attrs_attrs__:  # type: ignore[attr-defined]
        value = getattr(model, field.name)
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(item, Model):
                check_fields(item, seen)
