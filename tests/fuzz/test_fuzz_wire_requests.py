"""Wire requests (dicts, as the Delivery API spells them) built from the spec's shapes and
mutated at random: every call either succeeds or refuses the request with a
`TargetValidationError` naming what was wrong, never reaches a host off the edge, and
leaves the client working."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fuzzing import FUZZ, assert_edge_host, hostile_values, model_strategy, mutated, paths_of
from hypothesis import given
from hypothesis import strategies as st

from target_async import AsyncTargetClient, TargetValidationError, _serde
from target_async.models import DeliveryRequest
from target_async.testing import SAMPLE_ARTIFACT_PATH

CONFIGURED_HOST = "demo.tt.omtrdc.net"
GOOD_REQUEST: dict[str, Any] = {
    "id": {"tntId": "abc", "thirdPartyId": "t", "customerIds": [{"id": "1", "integrationCode": "c"}]},
    "context": {
        "channel": "web",
        "address": {"url": "https://shop.example/a?b=1", "referringUrl": "https://ref.example/"},
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0",
        "geo": {"latitude": 1.5, "city": "SAN JOSE"},
        "screen": {"width": 100, "height": 100},
        "timeOffsetInMinutes": 60,
    },
    "experienceCloud": {"analytics": {"logging": "server_side"}},
    "property": {"token": "tok"},
    "execute": {
        "pageLoad": {"parameters": {"a": "1"}},
        "mboxes": [{"name": "mbox1", "index": 1, "parameters": {"x": "y"}, "order": {"id": "o", "total": 1.5}}],
    },
    "prefetch": {"views": [{"name": "home"}], "mboxes": [{"name": "mbox2", "index": 2}]},
    "notifications": [
        {"id": "n1", "type": "display", "timestamp": 1700000000000, "mbox": {"name": "m"}, "tokens": ["t"]}
    ],
}
GOOD_PATHS = sorted(paths_of(GOOD_REQUEST), key=len)
# An mbox or notification that is not valid is dropped with a warning (as the official SDKs
# do), not refused: these paths decide whether it is valid.
_ITEM_CHECKS = {"mboxes": {"name", "index"}, "notifications": {"id", "type", "timestamp"}}


def _decides_validity(path: tuple[Any, ...]) -> bool:
    """Whether `path` is an mbox or notification, or one of the fields that make it valid."""
    for position, key in enumerate(path[:-1]):
        if key in _ITEM_CHECKS:
            rest = path[position + 2 :]
            return not rest or (len(rest) == 1 and rest[0] in _ITEM_CHECKS[key])
    return False


REFUSED_PATHS = [path for path in GOOD_PATHS[1:] if not _decides_validity(path)]
# Values no JSON body can hold: each must be refused naming where it was.
NOT_JSON = [float("nan"), float("inf"), -float("inf"), {1}, b"x", object(), "x\ud800", 10**5000]
CALLS = ["get_offers", "get_attributes", "send_notifications", "enqueue_notifications"]


class Clients:
    """One client per decisioning method, all on one portal, and the hosts they sent to."""

    def __init__(self, portal: BlockingPortal, clients: dict[str, AsyncTargetClient], hosts: list[str]) -> None:
        self.portal = portal
        self.by_method = clients
        self.hosts = hosts

    def call(self, method: str, call: str, request: Any) -> Any:
        client = self.by_method[method]
        if call == "enqueue_notifications":
            return self.portal.call(lambda: client.enqueue_notifications(request=request))
        if call == "get_attributes":
            return self.portal.call(lambda: client.get_attributes(["mbox1"], request=request))
        return self.portal.call(lambda: getattr(client, call)(request=request))

    def check_still_working(self, method: str) -> None:
        result = self.call(method, "get_offers", GOOD_REQUEST)
        assert result.response.status in (200, 206)  # 206: mboxes the artifact leaves to the edge
        assert self.call("server-side", "enqueue_notifications", GOOD_REQUEST) is True
        for host in self.hosts:
            assert_edge_host(host, CONFIGURED_HOST)


def _edge(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    # The answer echoes what the SDK reads back (request id, visitor id) as the edge does.
    return httpx.Response(
        200,
        json={
            "status": 200,
            "requestId": body.get("requestId"),
            "id": {"tntId": "abc.35_0"},
            "client": "demo",
            "edgeHost": "mboxedge35.tt.omtrdc.net",
        },
    )


@pytest.fixture(scope="module")
def clients() -> Iterator[Clients]:
    hosts: list[str] = []

    def edge(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if request.url.path == "/rest/v1/delivery":
            return _edge(request)
        return httpx.Response(404)

    artifact = json.loads(SAMPLE_ARTIFACT_PATH.read_text(encoding="utf-8"))
    with start_blocking_portal("asyncio") as portal, contextlib.ExitStack() as stack:
        by_method = {}
        for method in ("server-side", "on-device", "hybrid"):
            options: dict[str, Any] = {
                "client": "demo",
                "organization_id": "DEMO@AdobeOrg",
                "decisioning_method": method,
                "transport": httpx.MockTransport(edge),
            }
            if method != "server-side":
                options.update(artifact_payload=artifact, polling_interval=0)
            client = AsyncTargetClient.create(options)
            by_method[method] = stack.enter_context(portal.wrap_async_context_manager(client))
        yield Clients(portal, by_method, hosts)
        for client in by_method.values():
            assert portal.call(client.flush, 5000) is True
            assert client.notification_stats.failed == 0


@FUZZ
@given(
    request=model_strategy(DeliveryRequest).map(_serde.unstructure),
    data=st.data(),
    method=st.sampled_from(["server-side", "on-device", "hybrid"]),
    call=st.sampled_from(CALLS),
)
def test_a_mutated_wire_request_is_sent_or_refused_with_a_validation_error(
    clients: Clients, request: dict[str, Any], data: st.DataObject, method: str, call: str
) -> None:
    for _ in range(data.draw(st.integers(0, 3), label="mutations")):
        path = data.draw(st.sampled_from(paths_of(request)), label="path")
        request = mutated(request, path, data.draw(hostile_values(), label="value"))
    if call != "get_offers" and method != "server-side":
        method = "server-side"  # notifications and attributes are sent the same way by every client
    try:
        clients.call(method, call, request)
    except TargetValidationError:
        pass
    clients.check_still_working(method)


@FUZZ
@given(
    path=st.sampled_from(REFUSED_PATHS),
    value=st.sampled_from(NOT_JSON),
    method=st.sampled_from(["server-side", "on-device"]),
    call=st.sampled_from(CALLS),
)
def test_a_value_json_cannot_hold_is_refused_naming_its_path(
    clients: Clients, path: tuple[Any, ...], value: Any, method: str, call: str
) -> None:
    request = mutated(GOOD_REQUEST, path, value)
    if call != "get_offers":
        method = "server-side"
    where = "request" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)
    with pytest.raises(TargetValidationError, match=rf"^{re.escape(where)}[: ]"):
        clients.call(method, call, request)
    clients.check_still_working(method)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("context",), 5, "request.context must be an object, got int"),
        (("id",), "abc", "request.id must be an object, got str"),
        (("id", "tntId"), 5, "request.id.tntId must be a string, got int"),
        (("property",), [1], "request.property must be an object, got list"),
        (("experienceCloud", "analytics"), True, "request.experienceCloud.analytics must be an object, got bool"),
        (("context", "channel"), ["web"], "request.context.channel must be a string, got list"),
        (("context", "geo", "latitude"), "1.5", "request.context.geo.latitude must be a number, got str"),
        (("prefetch", "views", 0, "name"), [1], "request.prefetch.views[0].name must be a string, got list"),
        (("execute", "mboxes", 0, "parameters"), [1], "request.execute.mboxes[0].parameters must be an object"),
        (("context", "geo"), {"a": {"b": float("nan")}}, "request.context.geo.a.b: nan is not a JSON number"),
    ],
)
def test_a_part_the_sdk_reads_with_the_wrong_type_is_refused_naming_it(
    clients: Clients, path: tuple[Any, ...], value: Any, message: str
) -> None:
    for method in ("server-side", "on-device"):
        with pytest.raises(TargetValidationError, match=re.escape(message)):
            clients.call(method, "get_offers", mutated(GOOD_REQUEST, path, value))
    with pytest.raises(TargetValidationError, match=re.escape(message)):
        clients.call("server-side", "enqueue_notifications", mutated(GOOD_REQUEST, path, value))


def test_a_request_nested_deeper_than_64_levels_is_refused(clients: Clients) -> None:
    deep: Any = "leaf"
    for _ in range(70):
        deep = [deep]
    request = mutated(GOOD_REQUEST, ("execute", "mboxes", 0, "parameters"), {"deep": deep})
    with pytest.raises(TargetValidationError, match="nested deeper than 64 levels"):
        clients.call("server-side", "enqueue_notifications", request)
