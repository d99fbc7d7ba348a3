"""The models: importable, built like the official SDK's examples, plain attrs classes."""

from __future__ import annotations

import enum
import types
import typing
from typing import Any

import attrs
import pytest

import target_async.models as models
from target_async import AsyncTargetClient, TargetValidationError
from target_async.models import (
    ChannelType,
    Context,
    DeliveryRequest,
    ExecuteRequest,
    MboxRequest,
    MetricType,
    Notification,
    NotificationMbox,
    Parameters,
    PrefetchRequest,
    ResponseTokens,
    Screen,
    TraceResponse,
)

STATE = "J+W1Fq18hxliDDJonTPfV0S+mzxapAO3d14M43EsM9f12A6QaqL+E3XKkRFlmq9U"
TOKEN = "t0FRvoWosOqHmYL5G18QCZNWHtnQtQrJfmRrQugEa2qCnQ9Y9OaLL2gsdrWQTvE54PwSz67rmXWmSnkXpSSS2Q=="


def test_all_is_sorted_and_complete() -> None:
    assert models.__all__ == sorted(models.__all__)
    for name in models.__all__:
        assert getattr(models, name) is not None
    public_classes = {
        name
        for name, value in vars(models).items()
        if not name.startswith("_") and isinstance(value, type)
    }
    assert public_classes <= set(models.__all__)


def test_seed_prefetch_request() -> None:
    mboxes = [MboxRequest(name="home"), MboxRequest(name="product1")]
    prefetch = PrefetchRequest(mboxes=mboxes)
    delivery_request = DeliveryRequest(prefetch=prefetch)
    assert delivery_request.prefetch is prefetch
    assert prefetch.mboxes is not None
    assert [mbox.name for mbox in prefetch.mboxes] == ["home", "product1"]
    # Required wire fields are left for the SDK to fill in.
    assert mboxes[0].index is None
    assert delivery_request.context is None


def test_seed_notification_request() -> None:
    notification_mbox = NotificationMbox(name="product1", state=STATE)
    notification = Notification(
        id="1",
        type=MetricType.DISPLAY,
        timestamp=1621530726000,
        mbox=notification_mbox,
        tokens=[TOKEN],
    )
    notification_request = DeliveryRequest(notifications=[notification])
    assert notification_request.notifications == [notification]
    assert notification.mbox == NotificationMbox(name="product1", state=STATE)
    assert notification.type == "display"
    assert notification.view is None and notification.page_load is None


@pytest.mark.parametrize(
    "cls", [getattr(models, name) for name in models.__all__ if attrs.has(getattr(models, name))]
)
def test_every_model_is_keyword_only_with_none_defaults(cls: type[Any]) -> None:
    empty = cls()
    assert all(getattr(empty, field.name) is None for field in attrs.fields(cls))
    with pytest.raises(TypeError):
        cls("positional")


def test_models_are_mutable_and_evolve_copies() -> None:
    mbox = MboxRequest(name="home")
    indexed = attrs.evolve(mbox, index=0)
    assert mbox.index is None and indexed == MboxRequest(name="home", index=0)
    mbox.index = 3
    assert mbox.index == 3


def test_models_compare_by_value() -> None:
    assert Context(channel=ChannelType.WEB) == Context(channel=ChannelType.WEB)
    assert Context(channel=ChannelType.WEB) != Context(channel=ChannelType.MOBILE)


@pytest.mark.parametrize(
    "cls",
    [
        getattr(models, name)
        for name in models.__all__
        if isinstance(getattr(models, name), enum.EnumMeta)
    ],
)
def test_enums_are_strings_that_print_as_their_value(cls: type[enum.Enum]) -> None:
    for member in cls:
        assert isinstance(member, str)
        assert member == member.value
        assert str(member) == member.value
        assert f"{member}" == member.value
        assert cls(member.value) is member


def test_free_form_aliases() -> None:
    assert Parameters == dict[str, str]
    assert ResponseTokens == dict[str, Any]
    assert TraceResponse == dict[str, Any]


def _sample(tp: Any, i: int) -> Any:
    """A value of type `tp` (`X | None`: of type X) that the model takes."""
    origin, args = typing.get_origin(tp), [a for a in typing.get_args(tp) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return _sample(args[0], i)
    if origin is list:
        return [_sample(args[0], i)]
    if origin is dict:
        return {"k": f"v{i}"}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return list(tp)[i % len(tp)]
    if isinstance(tp, type) and attrs.has(tp):
        return tp()
    return {str: f"x{i}", int: i, float: i + 0.5, bool: i % 2 == 0}.get(tp, i)


def _attrs_generated(cls: type[Any]) -> type[Any]:
    """The same fields in a class whose repr and eq attrs generates (as models had before)."""
    fields = {field.name: attrs.field(default=None) for field in attrs.fields(cls)}
    return attrs.make_class(cls.__name__, fields, kw_only=True)


@pytest.mark.parametrize(
    "cls", [getattr(models, name) for name in models.__all__ if attrs.has(getattr(models, name))]
)
def test_shared_repr_and_eq_behave_as_attrs_generated_ones(cls: type[Any]) -> None:
    reference = _attrs_generated(cls)
    hints = typing.get_type_hints(cls)
    values = {
        field.name: None if i % 3 == 2 else _sample(hints[field.name], i)
        for i, field in enumerate(attrs.fields(cls))
    }
    ours, theirs = cls(**values), reference(**values)
    assert repr(ours) == repr(theirs)
    assert (ours == cls(**values)) is (theirs == reference(**values)) is True
    first = attrs.fields(cls)[0].name  # given a value, which None differs from
    assert (ours == cls(**{**values, first: None})) is False
    assert ours != cls(**{**values, first: None})
    assert ours.__eq__(theirs) is NotImplemented and ours != theirs
    assert cls.__hash__ is None and reference.__hash__ is None
    # A cycle prints as `...`, as in attrs.
    setattr(ours, first, ours)
    setattr(theirs, first, theirs)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ExecuteRequest(mboxes=["hero"]), r"ExecuteRequest\.mboxes\[0\] must be a MboxRequest, got str: 'hero'"),
        (
            lambda: DeliveryRequest(execute={"mboxes": [{"name": "hero"}]}),
            r"DeliveryRequest\.execute must be an ExecuteRequest, got dict: .* \(build it with ExecuteRequest\(\.\.\.\)",
        ),
        (lambda: MboxRequest(name=5), r"MboxRequest\.name must be a str, got int"),
        (lambda: MboxRequest(name="hero", index=True), r"MboxRequest\.index must be an int, got bool"),
        (lambda: MboxRequest(name="hero", parameters=["a=1"]), r"MboxRequest\.parameters must be a dict, got list"),
        (lambda: ExecuteRequest(mboxes="hero"), r"ExecuteRequest\.mboxes must be a list of MboxRequest, got str"),
        (lambda: Context(channel=1), r"Context\.channel must be a ChannelType or its str value, got int"),
    ],
)
def test_a_model_refuses_a_field_of_the_wrong_type_where_it_is_built(build: Any, message: str) -> None:
    with pytest.raises(TargetValidationError, match=message):
        build()


def test_a_model_takes_what_its_fields_say() -> None:
    # Enum fields take the wire value as a str (the edge may know values this SDK does not);
    # numbers take ints; tuples pass for lists.
    assert Context(channel="web").channel == "web"
    assert Screen(width=1920, pixel_ratio=2).pixel_ratio == 2
    assert ExecuteRequest(mboxes=(MboxRequest(name="a"),)).mboxes == (MboxRequest(name="a"),)


async def test_a_field_set_after_the_model_was_built_is_refused_by_the_call(target_edge: Any) -> None:
    request = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="hero")]))
    request.execute.mboxes[0].parameters = ["a=1"]  # type: ignore[union-attr,index]
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        with pytest.raises(TargetValidationError, match=r"MboxRequest\.parameters must be a dict") as info:
            await client.get_offers(request=request)
    assert isinstance(info.value.__cause__, AttributeError | TypeError | ValueError)
