"""The one place that knows how models become JSON and back.

Wire rules, all applied by the single cattrs converter (`get_converter()`):

* field names are camelCase on the wire (``time_offset_in_minutes`` ->
  ``timeOffsetInMinutes``); the few names that are not a mechanical mapping are
  listed in `_WIRE_NAMES`;
* `None` fields are omitted when unstructuring; enums become their string value
  (a plain `str` given for an enum field is sent as is);
* structuring is lenient: unknown keys are ignored, an enum value this SDK does not
  know is kept as the plain `str`, JSON `null` reads as `None`, a number sent for a
  string (or a numeric string for a number) is converted (except with `strict=True`,
  used for the edge's answers: there a value of the wrong JSON type is an error), and free-form values
  (`Option.content`, parameters, response tokens, trace, analytics payloads) are
  passed through as received, checked only for being a JSON object where the spec
  says so;
* free-form values are shared between a model and its unstructured form, not copied,
  except parameter maps (copied, so a request body can be edited safely).

Errors, for callers that map them (the client turns them into
`ResponseDecodingError`):

* `structure` raises `TypeError` when a value has the wrong JSON type (a list or a
  string where an object is expected, a boolean where a number is expected, ...)
  and `ValueError` when a string cannot be read as the number the field needs.
  Nothing else is raised for any JSON-shaped input.
* `dumps` raises `TypeError` for a value JSON cannot represent and `ValueError` for
  NaN/infinity or a lone surrogate in a string. `loads` raises `json.JSONDecodeError`
  or `UnicodeDecodeError` (both `ValueError`s), and `RecursionError` for absurdly deep
  nesting.

The converter is built on first use (cattrs costs about a tenth of a second to import
and set up, which an app should not pay before it converts anything). Hooks are generated
once per class and cached by cattrs; `warm_up()` builds the converter and every hook ahead
of the first call.
"""

from __future__ import annotations

import json
import threading
import types
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar, Union, get_args, get_origin

import attrs

if TYPE_CHECKING:
    import cattrs

__all__ = [
    "converter",  # noqa: F822 - module __getattr__ builds it on first access
    "dumps",
    "get_converter",
    "loads",
    "structure",
    "to_dict",
    "unstructure",
    "warm_up",
]

T = TypeVar("T")

StructureHook = Callable[[Any, Any], Any]

# Wire names that camelCasing the snake_case field name would get wrong. The spec's
# `$_type` discriminator (RequestDetails, MboxResponse) is deliberately not modelled:
# no SDK sends it and the edge does not return it.
_WIRE_NAMES: dict[str, str] = {
    "web_gl_renderer": "webGLRenderer",
    "browser_ua_with_major_version": "browserUAWithMajorVersion",
    "browser_ua_with_full_version": "browserUAWithFullVersion",
}


def _wire_name(field_name: str) -> str:
    explicit = _WIRE_NAMES.get(field_name)
    if explicit is not None:
        return explicit
    head, *rest = field_name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _without_none(tp: Any) -> Any:
    """`X | None` -> `X`; `A | B | None` -> `A | B`."""
    args = tuple(arg for arg in get_args(tp) if arg is not type(None))
    inner = args[0]
    for arg in args[1:]:
        inner = inner | arg
    return inner


def _enum_class(tp: Any) -> type[Enum] | None:
    """The enum class of `SomeEnum` or `SomeEnum | str`, else None."""
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp
    if _is_union(tp):
        enums = [arg for arg in get_args(tp) if isinstance(arg, type) and issubclass(arg, Enum)]
        if len(enums) == 1 and set(get_args(tp)) == {enums[0], str}:
            return enums[0]
    return None


def _is_free_form(tp: Any) -> bool:
    """Maps (parameters, tokens, trace) and the `str | dict | list` of `Option.content`."""
    if get_origin(tp) is dict:
        return True
    return _is_union(tp) and dict in {get_origin(arg) or arg for arg in get_args(tp)}


def _type_error(expected: str, value: Any) -> TypeError:
    return TypeError(f"expected {expected}, got {type(value).__name__}: {value!r:.80}")


# -- structure leaves: each accepts None (JSON null) and returns it ----------------------


def _structure_str(value: Any, _: Any) -> str | None:
    if value.__class__ is str or value is None:
        return value
    if value.__class__ in (int, float):
        return str(value)  # an id sent as a number
    if isinstance(value, str):
        return str.__str__(value)  # an enum member or other str subclass: its plain value
    raise _type_error("a string", value)


def _structure_int(value: Any, _: Any) -> int | None:
    if value.__class__ is int or value is None:
        return value
    if value.__class__ is float and value.is_integer():
        return int(value)
    if value.__class__ is str:
        return int(value)
    if value.__class__ is float:
        raise ValueError(f"expected an integer, got {value!r}")
    raise _type_error("an integer", value)


def _structure_float(value: Any, _: Any) -> float | None:
    if value.__class__ is float or value is None:
        return value
    if value.__class__ in (int, str):
        return float(value)
    raise _type_error("a number", value)


# Strict leaves (`strict=True`): JSON types as the spec says, no conversion between a
# string and a number. An integral float stays acceptable for an integer (JSON has one
# number type).
def _structure_str_strict(value: Any, _: Any) -> str | None:
    if value.__class__ is str or value is None:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    raise _type_error("a string", value)


def _structure_int_strict(value: Any, _: Any) -> int | None:
    if value.__class__ is int or value is None:
        return value
    if value.__class__ is float and value.is_integer():
        return int(value)
    raise _type_error("an integer", value)


def _structure_float_strict(value: Any, _: Any) -> float | None:
    if value.__class__ is float or value is None:
        return value
    if value.__class__ is int:
        return float(value)
    raise _type_error("a number", value)


def _structure_bool(value: Any, _: Any) -> bool | None:
    if value.__class__ is bool or value is None:
        return value
    raise _type_error("a boolean", value)


def _structure_json_object(value: Any, _: Any) -> dict[str, Any] | None:
    if value.__class__ is dict or value is None or isinstance(value, dict):
        return value
    raise _type_error("a JSON object", value)


def _structure_json_any(value: Any, _: Any) -> Any:
    return value


def _make_enum_structure(enum_cls: type[Enum]) -> StructureHook:
    members: dict[Any, Enum] = {member.value: member for member in enum_cls}

    def structure_enum(value: Any, _: Any) -> Enum | str | None:
        if value.__class__ is str or isinstance(value, str):
            return members.get(value, value)  # an unknown value stays a plain string
        if value is None:
            return None
        raise _type_error(f"a {enum_cls.__name__} string", value)

    return structure_enum


_NONE_TOLERANT: set[StructureHook] = {
    _structure_str,
    _structure_int,
    _structure_float,
    _structure_str_strict,
    _structure_int_strict,
    _structure_float_strict,
    _structure_bool,
    _structure_json_object,
    _structure_json_any,
}


def _enum_structure_factory(tp: Any) -> StructureHook:
    enum_cls = _enum_class(tp)
    assert enum_cls is not None
    hook = _make_enum_structure(enum_cls)
    _NONE_TOLERANT.add(hook)
    return hook


def _free_form_structure_factory(tp: Any) -> StructureHook:
    return _structure_json_object if get_origin(tp) is dict else _structure_json_any


def _optional_structure_factory(tp: Any, converter: cattrs.Converter) -> StructureHook:
    inner = _without_none(tp)
    hook = converter.get_structure_hook(inner)
    if hook in _NONE_TOLERANT:
        return hook
    build = _MODEL_BUILDERS.get(hook)
    if build is not None:
        # Folded None check + object check + generated function: one frame per object.
        expected = f"a JSON object for {inner.__name__}"

        def structure_optional_model(value: Any, _: Any) -> Any:
            if value.__class__ is dict:
                return build(value, inner)
            if value is None:
                return None
            if isinstance(value, dict):
                return build(value, inner)
            raise _type_error(expected, value)

        return structure_optional_model

    def structure_optional(value: Any, _: Any) -> Any:
        return None if value is None else hook(value, inner)

    return structure_optional


def _list_structure_factory(tp: Any, converter: cattrs.Converter) -> StructureHook:
    (item_type,) = get_args(tp)
    item_hook = converter.get_structure_hook(item_type)
    build = _MODEL_BUILDERS.get(item_hook)
    if build is not None:

        def structure_model_list(value: Any, _: Any) -> list[Any] | None:
            if value.__class__ is not list:
                if value is None:
                    return None
                raise _type_error("a JSON array", value)
            # Non-objects go through the checking hook, which raises.
            return [
                build(item, item_type) if item.__class__ is dict else item_hook(item, item_type)
                for item in value
            ]

        _NONE_TOLERANT.add(structure_model_list)
        return structure_model_list

    def structure_list(value: Any, _: Any) -> list[Any] | None:
        if value.__class__ is not list:
            if value is None:
                return None
            raise _type_error("a JSON array", value)
        return [item_hook(item, item_type) for item in value]

    _NONE_TOLERANT.add(structure_list)
    return structure_list


# The generated cattrs function of each model, keyed by the checking hook wrapping it.
_MODEL_BUILDERS: dict[StructureHook, StructureHook] = {}


def _attrs_structure_factory(cls: type[Any], converter: cattrs.Converter) -> StructureHook:
    from cattrs.gen import make_dict_structure_fn, override

    renames = {
        field.name: override(rename=_wire_name(field.name))
        for field in attrs.fields(attrs.resolve_types(cls))
    }
    build = make_dict_structure_fn(cls, converter, **renames)  # type: ignore[arg-type]
    expected = f"a JSON object for {cls.__name__}"

    def structure_model(value: Any, _: Any) -> Any:
        if value.__class__ is not dict and not isinstance(value, dict):
            raise _type_error(expected, value)
        return build(value, cls)

    _MODEL_BUILDERS[structure_model] = build
    return structure_model


# -- unstructure ----------------------------------------------------------------------


def _unstructure_hook_for_field(tp: Any, converter: cattrs.Converter) -> Callable[[Any], Any]:
    # None values never reach a field hook (they are omitted), so the hook of the
    # non-None type is used directly instead of cattrs' optional wrapper.
    return converter.get_unstructure_hook(_without_none(tp) if _is_union(tp) else tp)


def _attrs_unstructure_factory(
    cls: type[Any], converter: cattrs.Converter
) -> Callable[[Any], dict[str, Any]]:
    from cattrs.gen import make_dict_unstructure_fn, override

    overrides = {
        field.name: override(
            rename=_wire_name(field.name),
            unstruct_hook=_unstructure_hook_for_field(field.type, converter),
        )
        for field in attrs.fields(attrs.resolve_types(cls))
    }
    return make_dict_unstructure_fn(cls, converter, _cattrs_omit_if_default=True, **overrides)  # type: ignore[arg-type]


def _list_unstructure_factory(tp: Any, converter: cattrs.Converter) -> Callable[[Any], list[Any]]:
    from cattrs.fns import identity

    (item_type,) = get_args(tp)
    item_hook = converter.get_unstructure_hook(item_type)
    if item_hook is identity:
        return list

    def unstructure_list(value: Any) -> list[Any]:
        return [item_hook(item) for item in value]

    return unstructure_list


def _free_form_unstructure_factory(tp: Any) -> Callable[[Any], Any]:
    # Parameter maps are copied (cheap: string values) so a request body can be edited
    # without touching the caller's model; other free-form JSON is shared, not copied.
    from cattrs.fns import identity

    return dict if get_args(tp) == (str, str) else identity


def _is_model_list(tp: Any) -> bool:
    return get_origin(tp) is list


def _is_optional(tp: Any) -> bool:
    return _is_union(tp) and type(None) in get_args(tp)


def _new_converter(*, strict: bool = False) -> cattrs.Converter:
    """The converter with every hook factory registered (hooks themselves come on demand)."""
    import cattrs

    from . import models

    converter = cattrs.Converter(detailed_validation=False, forbid_extra_keys=False)
    # Later registrations win in cattrs, so the broadest predicate goes first.
    converter.register_structure_hook_factory(attrs.has, _attrs_structure_factory)
    converter.register_structure_hook_factory(_is_model_list, _list_structure_factory)
    converter.register_structure_hook_factory(_is_free_form, _free_form_structure_factory)
    converter.register_structure_hook_factory(
        lambda tp: _enum_class(tp) is not None, _enum_structure_factory
    )
    converter.register_structure_hook_factory(_is_optional, _optional_structure_factory)
    converter.register_structure_hook(str, _structure_str_strict if strict else _structure_str)
    converter.register_structure_hook(int, _structure_int_strict if strict else _structure_int)
    converter.register_structure_hook(float, _structure_float_strict if strict else _structure_float)
    converter.register_structure_hook(bool, _structure_bool)

    converter.register_unstructure_hook_factory(attrs.has, _attrs_unstructure_factory)
    converter.register_unstructure_hook_factory(_is_model_list, _list_unstructure_factory)
    converter.register_unstructure_hook_factory(_is_free_form, _free_form_unstructure_factory)
    # `str.__str__` turns an enum member into its exact-`str` value and keeps a plain
    # string as is (a C call, no Python frame).
    converter.register_unstructure_hook_factory(
        lambda tp: _enum_class(tp) is not None, lambda _: str.__str__
    )
    # Enums are `str` subclasses and cattrs dispatches on classes (str included) before
    # trying predicates, so each enum class is registered by name to win over `str`.
    for name in models.__all__:
        enum_cls = getattr(models, name)
        if isinstance(enum_cls, type) and issubclass(enum_cls, Enum):
            converter.register_structure_hook(enum_cls, _enum_structure_factory(enum_cls))
            converter.register_unstructure_hook(enum_cls, str.__str__)
    return converter


_converter: cattrs.Converter | None = None
_strict_converter: cattrs.Converter | None = None
_converter_lock = threading.Lock()


def get_converter() -> cattrs.Converter:
    """The one converter, built by the first caller (any thread); the others wait for it."""
    global _converter
    with _converter_lock:
        if _converter is None:
            _converter = _new_converter()
        return _converter


def _get_strict_converter() -> cattrs.Converter:
    """The converter of `structure(..., strict=True)`: the same hooks with strict leaves."""
    global _strict_converter
    with _converter_lock:
        if _strict_converter is None:
            _strict_converter = _new_converter(strict=True)
        return _strict_converter


def __getattr__(name: str) -> Any:
    # `converter` stays a module attribute without importing cattrs at import time.
    if name == "converter":
        return _converter or get_converter()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- public API -----------------------------------------------------------------------


def unstructure(obj: Any) -> Any:
    """A model (or JSON data holding models) as JSON-ready data: camelCase keys, no None fields."""
    return (_converter or get_converter()).unstructure(obj)


to_dict = unstructure


def structure(data: Any, cls: type[T], *, strict: bool = False) -> T:
    """Parsed JSON `data` as an instance of `cls`; raises TypeError / ValueError.

    Lenient by default; `strict=True` refuses a value of the wrong JSON type (a number for
    a string, a string for a number) instead of converting it.
    """
    if strict:
        return (_strict_converter or _get_strict_converter()).structure(data, cls)
    return (_converter or get_converter()).structure(data, cls)


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def dumps(obj: Any) -> bytes:
    """A model or plain JSON data as compact UTF-8 JSON bytes."""
    return _ENCODER.encode((_converter or get_converter()).unstructure(obj)).encode()


def loads(data: bytes | str) -> Any:
    """JSON text or UTF-8 bytes as Python data."""
    return json.loads(data)


def warm_up() -> None:
    """Build the converter and the hooks of every model now, so the first request does not pay."""
    from . import models

    converter = _converter or get_converter()
    for name in models.__all__:
        model = getattr(models, name)
        if attrs.has(model):
            converter.get_structure_hook(model)
            converter.get_unstructure_hook(model)
    # Edge answers are read strictly.
    (_strict_converter or _get_strict_converter()).get_structure_hook(models.DeliveryResponse)
