"""The models cover the Delivery API spec, and what they serialise to is valid against it."""

from __future__ import annotations

import enum
import re
import types
import typing
from typing import Any

import attrs
import jsonschema
import pytest
import yaml
from openapi import component_files, validate_delivery_request, validate_delivery_response

from target_async import _serde, models
from target_async.models import (
    ChannelType,
    Context,
    DeliveryRequest,
    DeliveryResponse,
    MboxRequest,
    MetricType,
    Notification,
    NotificationMbox,
    PrefetchRequest,
)

COMPONENTS = component_files()
# OpenAPI-generator's polymorphism marker in RequestDetails and MboxResponse: never sent.
UNMODELLED_PROPERTIES = {"$_type"}


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = yaml.safe_load(COMPONENTS[name].read_text(encoding="utf-8"))[name]
    return schema


def _wire_properties(name: str) -> set[str]:
    """Property names of a component, with `allOf` parts (local or `$ref`) merged."""
    schema = _schema(name)
    properties = set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        if "$ref" in part:
            properties |= _wire_properties(part["$ref"].rsplit("/", 1)[-1])
        properties |= set(part.get("properties", {}))
    return properties - UNMODELLED_PROPERTIES


def _strip_none(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
        if any(isinstance(arg, type) and issubclass(arg, enum.Enum) for arg in args):
            return next(arg for arg in args if isinstance(arg, type))
        return str  # Option.content: str | dict | list
    return tp


def _filled(cls: type[Any]) -> Any:
    """An instance of `cls` with every field, recursively, set to a non-None value."""
    values: dict[str, Any] = {}
    for field in attrs.fields(attrs.resolve_types(cls)):
        tp = _strip_none(field.type)
        values[field.name] = _sample(tp)
    return cls(**values)


def _sample(tp: Any) -> Any:
    if attrs.has(tp):
        return _filled(tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return next(iter(tp))
    origin = typing.get_origin(tp)
    if origin is list:
        return [_sample(typing.get_args(tp)[0])]
    if origin is dict:
        return {"key": "value"}
    return {str: "x", int: 1, float: 1.5, bool: True}[tp]


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_component_has_a_model(name: str) -> None:
    assert name in models.__all__
    model = getattr(models, name)
    schema = _schema(name)
    if "enum" in schema:
        assert issubclass(model, enum.Enum)
        assert issubclass(model, str)
        assert [member.value for member in model] == schema["enum"]
    elif "properties" in schema or "allOf" in schema:
        assert attrs.has(model)
        # Each property comes out under its exact wire name, and nothing else does.
        assert set(_serde.unstructure(_filled(model))) == _wire_properties(name)
    else:
        # A free-form map: an alias of a dict type.
        assert schema["type"] == "object" and "additionalProperties" in schema
        assert typing.get_origin(model) is dict


def _seed_prefetch() -> DeliveryRequest:
    mboxes = [MboxRequest(name="home", index=0), MboxRequest(name="product1", index=1)]
    return DeliveryRequest(
        context=Context(channel=ChannelType.WEB), prefetch=PrefetchRequest(mboxes=mboxes)
    )


def _seed_notification() -> DeliveryRequest:
    notification = Notification(
        id="1",
        type=MetricType.DISPLAY,
        timestamp=1621530726000,
        mbox=NotificationMbox(name="product1", state="J+W1Fq18hxliDDJonTPfV0S+mzxapAO3d14M43Es"),
        tokens=["t0FRvoWosOqHmYL5G18QCZNWHtnQtQrJfmRrQugEa2qCnQ9Y9OaLL2gsdrWQTvE54Pw=="],
    )
    return DeliveryRequest(context=Context(channel=ChannelType.WEB), notifications=[notification])


@pytest.mark.parametrize("request_", [_seed_prefetch(), _seed_notification()])
def test_seed_requests_are_valid(request_: DeliveryRequest) -> None:
    validate_delivery_request(_serde.unstructure(request_))


def test_every_field_of_a_request_is_valid_json_for_the_spec() -> None:
    body = _serde.unstructure(_filled(DeliveryRequest))
    # Values the spec constrains beyond their type.
    body["context"]["geo"].update(ipAddress="127.0.0.1", countryCode="IE", stateCode="D")
    body["experienceCloud"]["analytics"]["supplementalDataId"] = "0" * 16 + "-" + "0" * 16
    validate_delivery_request(body)


def test_every_field_of_a_response_is_valid_json_for_the_spec() -> None:
    validate_delivery_response(_serde.unstructure(_filled(DeliveryResponse)))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {"prefetch": {"mboxes": [{"name": "home", "index": 0}]}},
            "at $: 'context' is a required property",
            id="no-context",
        ),
        pytest.param(
            {"context": {"channel": "tv"}},
            "at $.context.channel: 'tv' is not one of ['mobile', 'web']",
            id="bad-enum",
        ),
        pytest.param(
            {"context": {"channel": "web"}, "prefetch": {"mboxes": [{"index": 0}]}},
            "at $.prefetch.mboxes[0]: 'name' is a required property",
            id="mbox-without-name",
        ),
        pytest.param(
            {"context": {"channel": "web"}, "id": {"customerIds": [{"id": "c"}]}},
            "at $.id.customerIds[0]: 'integrationCode' is a required property",
            id="customer-id-across-folders",
        ),
        pytest.param(
            {"context": {"channel": "web"}, "notifications": [{"id": "1", "type": "display"}]},
            "at $.notifications[0]: 'timestamp' is a required property",
            id="notification-without-timestamp",
        ),
    ],
)
def test_invalid_request_is_rejected_with_its_location(body: dict[str, Any], expected: str) -> None:
    with pytest.raises(jsonschema.ValidationError, match=re.escape(expected)):
        validate_delivery_request(body)


def test_invalid_response_is_rejected() -> None:
    with pytest.raises(jsonschema.ValidationError, match="status"):
        validate_delivery_response({"status": "200"})


def test_response_tokens_and_trace_accept_plain_json_values() -> None:
    option = {"type": "html", "content": "x", "responseTokens": {"geo.city": "dublin"}}
    mbox = {"index": 0, "name": "home", "options": [option], "trace": {"clientCode": "demo"}}
    validate_delivery_response({"status": 200, "execute": {"mboxes": [mbox]}})
