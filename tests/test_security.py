"""Hostile visitor input never moves a request off the configured or Adobe edge hosts.

The edge host is built from visitor data (the `mboxEdgeCluster` cookie, the cluster part
of a tntId) and from the edge's own answers (`edgeHost`). These tests aim such values at a
second loopback listener (the trap) and check that it never hears from the client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from target_async import AsyncTargetClient, RetryPolicy, TargetConfigError
from target_async._config import parse_config
from target_async._cookies import (
    cluster_from_edge_host,
    cluster_from_tnt_id,
    describe_untrusted,
    edge_host,
    is_cluster,
    location_hint_cookie,
)
from target_async._delivery import PreparedRequest, build_envelope, edge_route
from target_async.models import DecisioningMethod
from target_async.testing import Fault, LocalEdge

BASE_CONFIG = {"client": "acme", "organization_id": "ACME@AdobeOrg"}


# -- the pure functions -------------------------------------------------------------------


@pytest.mark.parametrize("cluster", ["28", "35", "irl1", "A" * 16])
def test_real_cluster_names_are_clusters(cluster: str) -> None:
    assert is_cluster(cluster)
    assert edge_host("acme", cluster=cluster, server_domain=None) == f"mboxedge{cluster}.tt.omtrdc.net"
    assert cluster_from_tnt_id(f"0123abcd.{cluster}_0") == cluster
    assert cluster_from_edge_host(f"mboxedge{cluster}.tt.omtrdc.net") == cluster
    cookie = location_hint_cookie(cluster)
    assert cookie is not None and cookie.value == cluster


HOSTILE_CLUSTERS = [
    "@127.0.0.1:1/",
    "x@evil.example",
    "F\U000997a2",
    "\u0663\u0665",  # Arabic-Indic digits: str.isdigit() says yes, a host name says no
    "28\n",
    "2 8",
    "28.evil.example",
    "A" * 17,
    "",
]


@pytest.mark.parametrize("cluster", HOSTILE_CLUSTERS)
def test_hostile_clusters_are_ignored(cluster: str) -> None:
    assert not is_cluster(cluster)
    assert edge_host("acme", cluster=cluster, server_domain=None) == "acme.tt.omtrdc.net"
    assert edge_host("acme", cluster=cluster, server_domain="edge.example:8443") == "edge.example:8443"
    assert cluster_from_tnt_id(f"0123abcd.{cluster}_0") is None
    assert location_hint_cookie(cluster) is None


@pytest.mark.parametrize(
    "host",
    [
        "mboxedge@127.0.0.1:1/.tt.omtrdc.net",
        "mboxedge@localhost:1/.tt.omtrdc.net",
        "mboxedge28.evil.example.net",
        "mboxedgeF\U000997a2.tt.omtrdc.net",
        5,
        None,
        ["mboxedge28.tt.omtrdc.net"],
    ],
)
def test_edge_host_of_an_answer_must_be_an_adobe_edge(host: Any) -> None:
    assert cluster_from_edge_host(host) is None


def test_tnt_ids_that_are_not_strings_carry_no_cluster() -> None:
    assert cluster_from_tnt_id(5) is None
    assert cluster_from_tnt_id(["a.28_0"]) is None
    assert cluster_from_tnt_id("x.@localhost:1/_0") is None


def test_untrusted_values_are_escaped_and_truncated_for_logs() -> None:
    described = describe_untrusted("@evil\r\nX-Injected: 1" + "a" * 100)
    assert "\n" not in described and "\r" not in described
    assert len(described) < 60
    assert describe_untrusted("F\U000997a2").isascii()


@pytest.mark.parametrize(
    ("tnt_id", "hint", "host"),
    [
        ("0123abcd.28_0", "@127.0.0.1:1/", "mboxedge28.tt.omtrdc.net"),
        ("x.@localhost:1/_0", "31", "mboxedge31.tt.omtrdc.net"),
        ("x.@localhost:1/_0", "@127.0.0.1:1/", "edge.example"),
        (None, "F\U000997a2", "edge.example"),
    ],
)
def test_edge_route_ignores_malformed_clusters(
    tnt_id: str | None, hint: str, host: str, caplog: pytest.LogCaptureFixture
) -> None:
    config = parse_config({**BASE_CONFIG, "server_domain": "edge.example"})
    body = {"id": {"tntId": tnt_id}} if tnt_id else {}
    with caplog.at_level(logging.DEBUG, logger="target_async"):
        assert edge_route(config, body, hint)[1] == host
    # Hostile values are never echoed raw (a newline or an address in a log line).
    for record in caplog.records:
        message = record.getMessage()
        assert "localhost" not in message and "\U000997a2" not in message
        assert "@127.0.0.1:1/" not in message or "'@127.0.0.1:1/'" in message


def test_edge_route_survives_an_id_that_is_not_an_object() -> None:
    config = parse_config(BASE_CONFIG)
    assert edge_route(config, {"id": "x.28_0"}, None)[1] == "acme.tt.omtrdc.net"


def test_answer_edge_host_reaches_no_cookie_unless_it_is_an_adobe_edge() -> None:
    prepared = PreparedRequest(body={}, session_id="s-1", cluster=None, host="acme.tt.omtrdc.net")
    hostile = build_envelope(
        prepared,
        {"edgeHost": "mboxedge@localhost:1/.tt.omtrdc.net"},
        decisioning_method=DecisioningMethod.SERVER_SIDE,
    )
    assert hostile.target_location_hint_cookie is None
    good = build_envelope(
        prepared, {"edgeHost": "mboxedge28.tt.omtrdc.net"}, decisioning_method=DecisioningMethod.SERVER_SIDE
    )
    assert good.target_location_hint_cookie is not None
    assert good.target_location_hint_cookie.value == "28"


@pytest.mark.parametrize("hint", ["@127.0.0.1:1/", "F\U000997a2", "irl-1"])
def test_config_location_hint_must_be_a_cluster(hint: str) -> None:
    with pytest.raises(TargetConfigError) as info:
        parse_config({**BASE_CONFIG, "target_location_hint": hint})
    assert info.value.key == "target_location_hint"


@pytest.mark.parametrize(
    "domain",
    ["http://edge.example", "edge.example/rest", "user@edge.example", "edge.example:99999", "edge example", "é\n"],
)
def test_server_domain_must_be_a_host_and_port(domain: str) -> None:
    with pytest.raises(TargetConfigError) as info:
        parse_config({**BASE_CONFIG, "server_domain": domain})
    assert info.value.key == "server_domain"


@pytest.mark.parametrize("domain", ["edge.example", "127.0.0.1:8080", "[::1]:8443", "edge-1.example.com."])
def test_server_domain_accepts_hosts(domain: str) -> None:
    assert parse_config({**BASE_CONFIG, "server_domain": domain}).server_domain == domain


# -- against a local edge, with a trap listening next to it ---------------------------------


class Trap:
    """A loopback listener that counts the connections it is offered."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()

    async def aclose(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@pytest.fixture
async def trap(anyio_backend: Any) -> AsyncIterator[Trap]:
    listener = Trap()
    await listener.start()
    try:
        yield listener
    finally:
        await listener.aclose()


def _route_options(edge: LocalEdge, route: str) -> dict[str, Any]:
    options: dict[str, Any] = {
        "client": edge.client,
        "organization_id": edge.organization_id,
        "server_domain": f"127.0.0.1:{edge.port}",
        "secure": False,
    }
    if route == "httpx":
        # A custom transport that sends each request where its URL says: httpx's own route.
        options["transport"] = httpx.AsyncHTTPTransport()
    return options


def _hostile_inputs(port: int) -> list[dict[str, Any]]:
    expires = int(time.time()) + 3600
    return [
        {"target_location_hint": f"@127.0.0.1:{port}/"},
        {"target_cookie": f"session#s-1#{expires}|PC#x.@127.0.0.1:{port}/_0#{expires}"},
        {"target_cookie": f"session#s-1#{expires}|PC#x.@localhost:{port}/_0#{expires}"},
        {"id": {"tntId": f"x.@127.0.0.1:{port}/_0"}},
        {"target_location_hint": "F\U000997a2"},
    ]


def _options(call_request: dict[str, Any], hostile: dict[str, Any]) -> dict[str, Any]:
    hostile = dict(hostile)
    request = dict(call_request)
    if "id" in hostile:
        request["id"] = hostile.pop("id")
    return {"request": request, **hostile}


GET_OFFERS_REQUEST = {"execute": {"mboxes": [{"name": "home", "index": 0}]}}


def _notification_request() -> dict[str, Any]:
    return {
        "notifications": [
            {"id": "n-1", "type": "display", "timestamp": int(time.time() * 1000), "mbox": {"name": "home"}}
        ]
    }


@pytest.mark.anyio
@pytest.mark.parametrize("route", ["aiohttp", "httpx"])
async def test_hostile_clusters_never_move_calls_off_the_edge(target_edge: LocalEdge, trap: Trap, route: str) -> None:
    inputs = _hostile_inputs(trap.port)
    async with AsyncTargetClient.create(_route_options(target_edge, route)) as client:
        for hostile in inputs:
            result = await client.get_offers(_options(GET_OFFERS_REQUEST, hostile))
            assert result.response.status == 200
            await client.send_notifications(_options(_notification_request(), hostile))
            assert client.enqueue_notifications(_options(_notification_request(), hostile))
        assert await client.flush(5000)
    assert trap.connections == 0
    assert len(target_edge.requests) == 3 * len(inputs)
    assert {recorded.host for recorded in target_edge.requests} == {f"127.0.0.1:{target_edge.port}"}


@pytest.mark.anyio
async def test_hostile_edge_host_in_an_answer_reaches_no_cookie(target_edge: LocalEdge, trap: Trap) -> None:
    async with AsyncTargetClient.create(_route_options(target_edge, "aiohttp")) as client:
        target_edge.faults.add(  # an edge (or a proxy) that names a host of its own choosing
            Fault(
                kind="status",
                status_code=200,
                body=f'{{"status": 200, "edgeHost": "mboxedge@localhost:{trap.port}/.tt.omtrdc.net"}}',
                times=1,
            )
        )
        result = await client.get_offers(request=GET_OFFERS_REQUEST)
        assert result.target_location_hint_cookie is None
    assert trap.connections == 0


# -- answers with fields of the wrong type ---------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"id": {"tntId": 5}},
        {"edgeHost": 5},
        {"status": "200"},
        {"requestId": 7},
        {"telemetryServerToken": 1.5},
        {"execute": {"mboxes": [{"name": 5, "index": 0}]}},
        {"execute": {"mboxes": [{"name": "home", "options": [{"eventToken": 5}]}]}},
        {"prefetch": {"mboxes": [{"name": "home", "index": "0"}]}},
    ],
)
def test_strict_structuring_refuses_fields_of_the_wrong_type(body: dict[str, Any]) -> None:
    from target_async._delivery import structure_response

    with pytest.raises(TypeError, match=r"^expected an? "):
        structure_response(body, strict=True)


def test_strict_structuring_reads_a_well_typed_answer_as_the_lenient_one_does() -> None:
    from target_async._delivery import structure_response

    body = {
        "status": 200,
        "requestId": "r-1",
        "id": {"tntId": "abc.28_0"},
        "edgeHost": "mboxedge28.tt.omtrdc.net",
        "execute": {"mboxes": [{"name": "home", "index": 1.0, "options": [{"content": 5, "eventToken": "t"}]}]},
    }
    assert structure_response(body, strict=True) == structure_response(body)
    assert structure_response({}, strict=True) == structure_response({})


@pytest.mark.anyio
@pytest.mark.parametrize(
    "answer",
    ['{"status": 200, "id": {"tntId": 5}}', '{"status": 200, "edgeHost": 5}', '{"status": 200, "requestId": [1]}'],
)
async def test_an_answer_with_a_field_of_the_wrong_type_is_refused(target_edge: LocalEdge, answer: str) -> None:
    from target_async import ResponseDecodingError

    async with AsyncTargetClient.create(_route_options(target_edge, "aiohttp")) as client:
        target_edge.faults.add(Fault(kind="status", status_code=200, body=answer, times=1))
        with pytest.raises(ResponseDecodingError):
            await client.get_offers(request=GET_OFFERS_REQUEST)
        # The client is unharmed.
        assert (await client.get_offers(request=GET_OFFERS_REQUEST)).response.status == 200


@pytest.mark.anyio
@pytest.mark.parametrize(
    "answer",
    [
        '{"status": 200, "id": {"tntId": "abc\\ud800.28_0"}}',
        '{"status": 200, "telemetryServerToken": "t\\udfff"}',
    ],
)
async def test_an_answer_with_a_lone_surrogate_is_refused_and_leaves_the_next_call_whole(
    target_edge: LocalEdge, answer: str
) -> None:
    # A lone surrogate cannot be encoded again: in the visitor's cookie or in the next
    # request, which carries the answer's telemetry token.
    from target_async import ResponseDecodingError

    async with AsyncTargetClient.create(_route_options(target_edge, "aiohttp")) as client:
        target_edge.faults.add(Fault(kind="status", status_code=200, body=answer, times=1))
        with pytest.raises(ResponseDecodingError, match="surrogate"):
            await client.get_offers(request=GET_OFFERS_REQUEST)
        assert (await client.get_offers(request=GET_OFFERS_REQUEST)).response.status == 200


def test_a_surrogate_pair_is_text_and_a_raw_lone_surrogate_is_not() -> None:
    from target_async._transport import _has_lone_surrogate

    pair = b'{"name": "\\ud83d\\ude00"}'
    assert not _has_lone_surrogate(pair, json.loads(pair))
    raw = b'{"name": "r\xed\xa0\x80"}'  # UTF-8 bytes of U+D800, which json.loads lets through
    assert _has_lone_surrogate(raw, json.loads(raw))


@pytest.mark.anyio
async def test_an_empty_object_is_an_empty_delivery_response(target_edge: LocalEdge) -> None:
    async with AsyncTargetClient.create(_route_options(target_edge, "aiohttp")) as client:
        target_edge.faults.add(Fault(kind="status", status_code=200, body="{}", times=1))
        result = await client.get_offers(request=GET_OFFERS_REQUEST, session_id="s-1")
    assert result.response.status is None and result.response.execute is None
    assert result.target_cookie.value.startswith("session#s-1#") and "PC#" not in result.target_cookie.value
    assert result.target_location_hint_cookie is None


# -- secrets in reprs and logs ----------------------------------------------------------------


def test_config_repr_hides_the_proxy_password_signed_urls_and_the_property_token() -> None:
    config = parse_config(
        {
            **BASE_CONFIG,
            "proxy": "http://user:s3cret@proxy.example:8080",
            "artifact_location": "https://cdn.example/acme/rules.json?sig=abc123&exp=9",
            "cdn_base_path": "https://u:pw0rd@cdn.example/base?token=xyz",
            "property_token": "prop-token-123",
        }
    )
    shown = repr(config)
    for secret in ("s3cret", "abc123", "pw0rd", "xyz", "prop-token-123"):
        assert secret not in shown
    assert "proxy.example:8080" in shown and "cdn.example/acme/rules.json" in shown
    # The values themselves are untouched.
    assert config.proxy == "http://user:s3cret@proxy.example:8080"
    assert "s3cret" not in repr(parse_config({**BASE_CONFIG, "proxy": httpx.Proxy("http://u:s3cret@p.example:1")}))


def test_logs_of_dropped_notifications_and_property_tokens_carry_no_tokens(caplog: pytest.LogCaptureFixture) -> None:
    from target_async._delivery import apply_request_defaults, validate_request
    from target_async._options import parse_call_options

    config = parse_config({**BASE_CONFIG, "property_token": "config-token-1"})
    notifications = [
        {"id": "ok", "type": "display", "timestamp": 1, "tokens": ["event-token-ok"]},
        {"id": "bad", "type": "hover", "timestamp": 1, "tokens": ["event-token-secret"]},
    ]
    request = {"notifications": notifications, "property": {"token": "request-token-2"}}
    with caplog.at_level(logging.DEBUG, logger="target_async"):
        body, _ = validate_request(config, parse_call_options({"request": request}, {}), notifications_required=True)
        apply_request_defaults(config, body)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "bad" in logged  # the dropped notification is named...
    for secret in ("event-token-secret", "config-token-1", "request-token-2"):
        assert secret not in logged  # ...without its tokens


@pytest.mark.anyio
async def test_a_failed_artifact_download_logs_its_url_without_the_signature(
    target_edge: LocalEdge, caplog: pytest.LogCaptureFixture
) -> None:
    from target_async import ArtifactNotReadyError

    options = target_edge.client_options(
        decisioning_method="on-device",
        artifact_location=f"http://127.0.0.1:{target_edge.port}/nothing/rules.json?sig=s3cret-signature",
        retry=RetryPolicy(max_retries=0),
    )
    with caplog.at_level(logging.DEBUG, logger="target_async"):
        async with AsyncTargetClient.create(options) as client:
            with pytest.raises(ArtifactNotReadyError):
                await client.get_offers(request=GET_OFFERS_REQUEST)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Failed to load the artifact from" in logged
    assert "nothing/rules.json" in logged and "s3cret-signature" not in logged


# -- proxies from the environment ----------------------------------------------------------------


class RecordingProxy:
    """A forward HTTP proxy on loopback that answers every request itself, recording its target."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.targets.append(head.split(b" ", 2)[1].decode())
        length = next(
            (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
            0,
        )
        await reader.readexactly(length)
        body = b'{"status": 200, "requestId": "r"}'
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    async def aclose(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@pytest.fixture
async def proxy(anyio_backend: Any, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RecordingProxy]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    server = RecordingProxy()
    await server.start()
    try:
        yield server
    finally:
        await server.aclose()


@pytest.mark.anyio
async def test_http_proxy_from_the_environment_carries_calls_and_notifications(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    options = {**BASE_CONFIG, "server_domain": "edge.example.test", "secure": False}
    async with AsyncTargetClient.create(options) as client:
        assert (await client.get_offers(request=GET_OFFERS_REQUEST)).response.status == 200
        assert client.enqueue_notifications(request=_notification_request())
        assert await client.flush(5000)
        assert client._transport._pool is None  # the route that honours the environment
    assert len(proxy.targets) == 2
    assert all(target.startswith("http://edge.example.test/rest/v1/delivery?") for target in proxy.targets)


@pytest.mark.anyio
async def test_no_proxy_from_the_environment_is_honoured(
    proxy: RecordingProxy, target_edge: LocalEdge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with AsyncTargetClient.create(_route_options(target_edge, "aiohttp")) as client:
        assert (await client.get_offers(request=GET_OFFERS_REQUEST)).response.status == 200
    assert proxy.targets == []
    assert len(target_edge.requests) == 1


def test_a_user_agent_with_a_huge_version_number_reads_as_no_version() -> None:
    from target_async.decisioning._context import _major_version

    assert _major_version("9" * 5000) == -1
    assert _major_version("120.0.1") == 120
