"""`_wire.check_request_shape`: the fast walk over plain JSON and the walk that names the
path agree, also for subclasses, other mappings and booleans."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pytest

from target_async._exceptions import TargetValidationError
from target_async._wire import check_request_shape


class Level(enum.IntEnum):
    ONE = 1


class Name(str):
    pass


class Fields(Mapping[str, Any]):
    def __init__(self, **fields: Any) -> None:
        self._fields = fields

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


@pytest.mark.parametrize(
    "request_body",
    [
        {"context": {"geo": {"latitude": Level.ONE, "city": Name("X")}}},
        {"context": MappingProxyType({"channel": "web"})},
        {"prefetch": {"mboxes": [Fields(name="a", parameters={})]}},
        {"execute": {"mboxes": [5, "x", None, {"name": "a"}]}},
    ],
)
def test_subclasses_and_other_mappings_are_accepted(request_body: dict[str, Any]) -> None:
    check_request_shape(request_body)


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({"context": {"geo": {"latitude": True}}}, "request.context.geo.latitude must be a number, got bool"),
        ({"context": Fields(channel=5)}, "request.context.channel must be a string, got int"),
        ({"prefetch": {"mboxes": [Fields(name="a", parameters=[1])]}}, "request.prefetch.mboxes[0].parameters"),
        ({"id": {"customerIds": ({"id": "1"},)}}, "request.id.customerIds must be a list of objects, got tuple"),
    ],
)
def test_a_wrong_type_is_named_by_its_path(request_body: dict[str, Any], message: str) -> None:
    with pytest.raises(TargetValidationError, match=re.escape(message)):
        check_request_shape(request_body)
