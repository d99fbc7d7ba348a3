"""Random bad input to every public call and constructor: only the documented errors.

Options, requests (models and wire JSON) and field values are drawn at random; each call
either succeeds or raises a `TargetError` (`TargetValidationError`, `TargetConfigError`,
...). An `AttributeError`, `KeyError` or bare `TypeError` escaping is a bug: the caller
could not tell their mistake from ours.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import target_async.models as models
from target_async import AsyncTargetClient, ClientOptions, TargetClient, TargetError
from target_async._options import _CHECKS
from target_async.testing import SAMPLE_ARTIFACT_PATH

BASE = {"client": "acme", "organization_id": "ORG@AdobeOrg"}
RESPONSE = {
    "status": 200,
    "requestId": "r",
    "client": "acme",
    "id": {"tntId": "abc.35_0"},
    "edgeHost": "mboxedge35.tt.omtrdc.net",
    "execute": {"mboxes": [{"index": 1, "name": "hero", "options": [{"type": "json", "content": {"on": True}}]}]},
}
MODELS = [getattr(models, name) for name in models.__all__ if attrs.has(getattr(models, name))]


def _reply(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=RESPONSE)


def _noop(*_: object) -> None:
    return None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
odd_values = st.sampled_from([object(), b"bytes", _noop, 1j, ("a", "b"), {"a"}, float("nan")])
values = json_values | odd_values


def _model_strategy(cls: type[Any]) -> st.SearchStrategy[Any]:
    """Instances built from random field values; a value the model refuses is a TargetValidationError."""
    names = [field.name for field in attrs.fields(cls)]
    return st.dictionaries(st.sampled_from(names), values | st.deferred(lambda: models_), max_size=4).map(
        lambda fields: _build(cls, fields)
    )


class _Refused:
    """A model construction that raised the documented error (checked where it was built)."""


def _build(cls: type[Any], fields: dict[str, Any]) -> Any:
    try:
        return cls(**fields)
    except TargetError:
        return _Refused()


def _mutated(model: Any, field: str, value: Any) -> Any:
    """A model whose field was set after it was built (models are mutable, unchecked then)."""
    if attrs.has(type(model)) and field in attrs.fields_dict(type(model)):
        setattr(model, field, value)
    return model


models_ = st.sampled_from(MODELS).flatmap(_model_strategy)
mutated_requests = st.builds(
    _mutated,
    st.builds(lambda: models.DeliveryRequest(execute=models.ExecuteRequest(mboxes=[models.MboxRequest(name="hero")]))),
    st.sampled_from(["execute", "context", "id", "prefetch", "notifications", "trace"]),
    values | models_,
) | st.builds(
    lambda value: models.DeliveryRequest(execute=models.ExecuteRequest(mboxes=[_mutated(models.MboxRequest(name="hero"), "parameters", value)])),
    values,
)
wire_requests = st.fixed_dictionaries(
    {},
    optional={
        "context": st.fixed_dictionaries({}, optional={"channel": values, "address": values}) | values,
        "execute": st.fixed_dictionaries({}, optional={"mboxes": st.lists(values), "pageLoad": values}) | values,
        "prefetch": st.fixed_dictionaries({}, optional={"mboxes": values, "views": values}) | values,
        "notifications": st.lists(st.dictionaries(st.sampled_from(["id", "type", "timestamp", "mbox", "tokens"]), values)) | values,
        "id": st.dictionaries(st.sampled_from(["tntId", "customerIds", "marketingCloudVisitorId"]), values) | values,
        "property": values,
        "trace": values,
    },
)
requests = wire_requests | models_ | mutated_requests | values
option_values = {
    "request": requests,
    "callback": st.just(_noop) | values,
    "err_callback": st.just(_noop) | values,
}
call_options = st.dictionaries(
    st.sampled_from([*_CHECKS, "reqeust", "targetCookie"]),
    st.deferred(lambda: st.one_of(values, requests)),
    max_size=5,
).flatmap(
    lambda chosen: st.fixed_dictionaries({key: option_values.get(key, values) for key in chosen})
)
mbox_names = st.lists(st.text(max_size=6) | values, max_size=3) | values


@pytest.fixture(scope="module")
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal("asyncio") as portal:
        yield portal


@pytest.fixture(scope="module")
def async_client(portal: BlockingPortal) -> Iterator[AsyncTargetClient]:
    client = AsyncTargetClient.create(BASE, transport=httpx.MockTransport(_reply))
    with portal.wrap_async_context_manager(client):
        yield client


@pytest.fixture(scope="module")
def hybrid_client(portal: BlockingPortal) -> Iterator[AsyncTargetClient]:
    artifact = json.loads(SAMPLE_ARTIFACT_PATH.read_text())
    client = AsyncTargetClient.create(
        BASE, transport=httpx.MockTransport(_reply), decisioning_method="hybrid", artifact_payload=artifact
    )
    with portal.wrap_async_context_manager(client):
        yield client


@pytest.fixture(scope="module")
def sync_client() -> Iterator[TargetClient]:
    with TargetClient.create(BASE, transport=httpx.MockTransport(_reply)) as client:
        yield client


def _only_documented_errors(call: Callable[[], object]) -> None:
    try:
        call()
    except TargetError:
        pass


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(cls=st.sampled_from(MODELS), data=st.data())
def test_model_constructors(cls: type[Any], data: st.DataObject) -> None:
    fields = data.draw(st.dictionaries(st.sampled_from([f.name for f in attrs.fields(cls)]), values | models_, max_size=4))
    _only_documented_errors(lambda: cls(**fields))


@FAST
@given(options=st.dictionaries(st.text(max_size=20) | st.sampled_from(sorted(ClientOptions.__annotations__)), values) | values, keywords=st.dictionaries(st.sampled_from(["timeout", "secure", "events", "decisioning_method", "server_domain", "retry"]), values, max_size=2))
def test_create(options: Any, keywords: dict[str, Any]) -> None:
    _only_documented_errors(lambda: AsyncTargetClient.create(options, **keywords))
    _only_documented_errors(lambda: AsyncTargetClient(options))


@FAST
@given(options=call_options | values, keywords=call_options)
def test_async_calls(portal: BlockingPortal, async_client: AsyncTargetClient, options: Any, keywords: dict[str, Any]) -> None:
    _only_documented_errors(lambda: portal.call(lambda: async_client.get_offers(options, **keywords)))
    _only_documented_errors(lambda: portal.call(lambda: async_client.send_notifications(options, **keywords)))
    _only_documented_errors(lambda: portal.call(lambda: _enqueue(async_client, options, keywords)))


async def _enqueue(client: AsyncTargetClient, options: Any, keywords: dict[str, Any]) -> None:
    client.enqueue_notifications(options, **keywords)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests)
def test_requests(
    portal: BlockingPortal, async_client: AsyncTargetClient, hybrid_client: AsyncTargetClient, request: Any
) -> None:
    # The request alone, so that no other bad option stops the call before it is read.
    _only_documented_errors(lambda: portal.call(lambda: async_client.get_offers(request=request)))
    _only_documented_errors(lambda: portal.call(lambda: async_client.get_attributes(["hero"], request=request)))
    _only_documented_errors(lambda: portal.call(lambda: async_client.send_notifications(request=request)))
    _only_documented_errors(lambda: portal.call(lambda: hybrid_client.get_offers(request=request)))


@FAST
@given(options=call_options | values, keywords=call_options)
def test_on_device_calls(portal: BlockingPortal, hybrid_client: AsyncTargetClient, options: Any, keywords: dict[str, Any]) -> None:
    for method in ("on-device", "hybrid"):
        given = {**keywords, "decisioning_method": method}
        _only_documented_errors(lambda: portal.call(lambda: hybrid_client.get_offers(options, **given)))  # noqa: B023 - called at once


@FAST
@given(names=mbox_names, options=call_options | values, timeout=values)
def test_async_attributes_and_flush(portal: BlockingPortal, async_client: AsyncTargetClient, names: Any, options: Any, timeout: Any) -> None:
    _only_documented_errors(lambda: portal.call(lambda: async_client.get_attributes(names, options)))
    _only_documented_errors(lambda: portal.call(lambda: async_client.flush(timeout)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=mbox_names, options=call_options | values)
def test_sync_calls(sync_client: TargetClient, names: Any, options: Any) -> None:
    _only_documented_errors(lambda: sync_client.get_offers(options))
    _only_documented_errors(lambda: sync_client.get_attributes(names, options))
    _only_documented_errors(lambda: sync_client.send_notifications(options))
    _only_documented_errors(lambda: sync_client.enqueue_notifications(options))
