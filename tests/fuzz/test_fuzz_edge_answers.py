"""Edge answers (2xx bodies) built from the spec's response shapes and mutated at random:
each call returns a result or raises `ResponseDecodingError`, nothing of the wrong type
reaches the visitor's cookies, and the next request still goes to an allowed host."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fuzzing import FUZZ, assert_edge_host, hostile_values, model_strategy, mutated, paths_of
from hypothesis import given
from hypothesis import strategies as st

from target_async import AsyncTargetClient, ResponseDecodingError, _serde
from target_async.models import DeliveryResponse

CONFIGURED_HOST = "demo.tt.omtrdc.net"
REQUEST = {"execute": {"mboxes": [{"name": "home", "index": 1}]}, "prefetch": {"views": [{}]}}


class Edge:
    """A client whose edge answers whatever the test puts in `answer`."""

    def __init__(self) -> None:
        self.answer: bytes = b"{}"
        self.hosts: list[str] = []
        self.portal: BlockingPortal | None = None
        self.client: AsyncTargetClient | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        return httpx.Response(200, content=self.answer, headers={"Content-Type": "application/json"})

    def get_offers(self, **options: Any) -> Any:
        assert self.portal is not None and self.client is not None
        client = self.client
        return self.portal.call(lambda: client.get_offers(**options))


@pytest.fixture(scope="module")
def edge() -> Iterator[Edge]:
    edge = Edge()
    options = {"client": "demo", "organization_id": "DEMO@AdobeOrg", "transport": httpx.MockTransport(edge)}
    with start_blocking_portal("asyncio") as portal, contextlib.ExitStack() as stack:
        edge.portal = portal
        edge.client = stack.enter_context(portal.wrap_async_context_manager(AsyncTargetClient.create(options)))
        yield edge


def _dumps(value: Any) -> bytes:
    try:
        return json.dumps(value).encode()
    except (TypeError, ValueError, RecursionError):
        return b"{not JSON"  # what cannot be JSON goes out as garbage


@FUZZ
@given(answer=model_strategy(DeliveryResponse).map(_serde.unstructure), data=st.data())
def test_a_mutated_edge_answer_is_taken_or_refused_with_a_decoding_error(
    edge: Edge, answer: dict[str, Any], data: st.DataObject
) -> None:
    for _ in range(data.draw(st.integers(0, 3), label="mutations")):
        path = data.draw(st.sampled_from(paths_of(answer)), label="path")
        answer = mutated(answer, path, data.draw(hostile_values(), label="value"))
    edge.answer = _dumps(answer)
    try:
        result = edge.get_offers(request=REQUEST)
    except ResponseDecodingError:
        pass
    else:
        _serde.dumps(result.response)  # the typed result is whole
        for cookie in (result.target_cookie, result.target_location_hint_cookie):
            if cookie is not None:
                assert isinstance(cookie.value, str) and cookie.value.isprintable()
        hint = result.target_location_hint_cookie
        assert hint is None or (hint.value.isascii() and hint.value.isalnum())
        # The visitor comes back with these cookies: the next request stays on the edge.
        edge.answer = b'{"status": 200}'
        edge.get_offers(
            request=REQUEST,
            target_cookie=result.target_cookie.value,
            target_location_hint=hint.value if hint else None,
        )
    for host in edge.hosts:
        assert_edge_host(host, CONFIGURED_HOST)
    edge.hosts.clear()
