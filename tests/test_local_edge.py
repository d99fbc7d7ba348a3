"""The local Target edge (`target_async.testing`): real HTTP on 127.0.0.1 with plain httpx clients."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi import validate_delivery_request, validate_delivery_response

from target_async import AsyncTargetClient, _serde
from target_async._exceptions import ClientStateError, TargetConfigError
from target_async.decisioning import compile_artifact, decide
from target_async.decisioning._obfuscation import deobfuscate, obfuscate
from target_async.testing import (
    DEFAULT_CLIENT,
    DEFAULT_GEO,
    GLOBAL_MBOX,
    SAMPLE_ARTIFACT_PATH,
    SAMPLE_OFFERS_PATH,
    Fault,
    LocalEdge,
    RecordedRequest,
)

ORG = "ABC123ABC123ABC123ABC123@AdobeOrg"
GENERATED_TNT_ID = re.compile(r"[0-9a-f]{32}\.(\d+)_0")

OFFERS: dict[str, Any] = {
    "home": [
        {
            "type": "html",
            "content": "HOME OFFER",
            "responseTokens": {"activity.id": "302740", "experience.name": "Experience B"},
        }
    ],
    "flags": [
        {"type": "json", "content": {"enabled": True}},
        {"type": "json", "content": {"color": "blue"}, "eventToken": "fixed-token=="},
    ],
    GLOBAL_MBOX: [
        {"type": "actions", "content": [{"type": "setHtml", "selector": "#h", "content": "X"}]}
    ],
    "views": {
        "home-view": [
            {"type": "actions", "content": [{"type": "setHtml", "selector": "#a", "content": "A"}]}
        ],
        "cart-view": [
            {"type": "actions", "content": [{"type": "setHtml", "selector": "#b", "content": "B"}]}
        ],
    },
}


def delivery_url(host: str = "https://demo.tt.omtrdc.net", session: str = "session-1") -> str:
    return f"{host}/rest/v1/delivery?imsOrgId={ORG}&sessionId={session}"


def delivery_request(**sections: Any) -> dict[str, Any]:
    return {"requestId": "req-1", "context": {"channel": "web"}, **sections}


def raw_request(body: bytes = b"{}", extra_headers: str = "", target: str | None = None) -> bytes:
    target = target or f"/rest/v1/delivery?imsOrgId={ORG}&sessionId=s"
    return (
        f"POST {target} HTTP/1.1\r\nHost: demo.tt.omtrdc.net\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra_headers}\r\n"
    ).encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


@pytest.fixture
async def edge(anyio_backend: str) -> Any:
    async with LocalEdge(offers=OFFERS) as local_edge:
        yield local_edge


@pytest.fixture
async def http(edge: LocalEdge) -> Any:
    async with httpx.AsyncClient(transport=edge.transport()) as client:
        yield client


# -- answers -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_prefetch_mboxes_carry_event_tokens_and_state(
    edge: LocalEdge, http: httpx.AsyncClient
) -> None:
    body = delivery_request(
        prefetch={"mboxes": [{"index": 3, "name": "home"}, {"index": 4, "name": "unknown"}]}
    )
    validate_delivery_request(body)

    response = await http.post(delivery_url(), json=body)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    answer = response.json()
    validate_delivery_response(answer)
    assert answer["status"] == 200
    assert answer["requestId"] == "req-1"
    assert answer["client"] == "demo"
    home, unknown = answer["prefetch"]["mboxes"]
    assert home == {
        "index": 3,
        "name": "home",
        "options": [
            {
                "type": "html",
                "content": "HOME OFFER",
                "eventToken": edge.event_token("home"),
                "responseTokens": {"activity.id": "302740", "experience.name": "Experience B"},
            }
        ],
        "state": edge.state_token("home"),
    }
    assert unknown == {"index": 4, "name": "unknown", "state": edge.state_token("unknown")}
    assert "execute" not in answer


@pytest.mark.anyio
async def test_execute_mboxes_have_no_event_token_or_state(http: httpx.AsyncClient) -> None:
    body = delivery_request(
        execute={"mboxes": [{"index": 0, "name": "flags"}, {"index": 1, "name": "nope"}]}
    )

    answer = (await http.post(delivery_url(), json=body)).json()

    validate_delivery_response(answer)
    flags, nope = answer["execute"]["mboxes"]
    assert flags == {
        "index": 0,
        "name": "flags",
        "options": [
            {"type": "json", "content": {"enabled": True}},
            {"type": "json", "content": {"color": "blue"}},
        ],
    }
    assert nope == {"index": 1, "name": "nope"}
    assert "prefetch" not in answer


@pytest.mark.anyio
async def test_page_load_and_views(edge: LocalEdge, http: httpx.AsyncClient) -> None:
    body = delivery_request(
        execute={"pageLoad": {}},
        prefetch={"pageLoad": {}, "views": [{}]},
    )

    answer = (await http.post(delivery_url(), json=body)).json()

    validate_delivery_response(answer)
    page_load_content = OFFERS[GLOBAL_MBOX][0]["content"]
    assert answer["execute"]["pageLoad"] == {
        "options": [{"type": "actions", "content": page_load_content}]
    }
    prefetched = answer["prefetch"]["pageLoad"]
    assert prefetched["options"][0]["eventToken"] == edge.event_token(GLOBAL_MBOX)
    assert prefetched["state"] == edge.state_token(GLOBAL_MBOX)
    views = answer["prefetch"]["views"]
    assert [view["name"] for view in views] == ["home-view", "cart-view"]
    assert views[1]["options"][0]["eventToken"] == edge.view_event_token("cart-view")

    named = delivery_request(prefetch={"views": [{"name": "cart-view"}, {"name": "missing-view"}]})
    answer = (await http.post(delivery_url(), json=named)).json()
    assert [view["name"] for view in answer["prefetch"]["views"]] == ["cart-view"]


@pytest.mark.anyio
async def test_event_tokens_are_deterministic_per_mbox_and_option(edge: LocalEdge) -> None:
    async with LocalEdge(offers=OFFERS) as other:
        assert other.event_token("home") == edge.event_token("home")
        assert other.state_token("home") == edge.state_token("home")
    assert edge.event_token("flags", 0) != edge.event_token("home", 0)
    assert edge.event_token("flags", 0) != edge.event_token("flags", 1) == "fixed-token=="
    assert edge.view_event_token("home-view") != edge.event_token("home-view")
    # Real edge tokens: 64 bytes of base64 for events, 48 for state.
    assert len(edge.event_token("home")) == 88
    assert len(edge.state_token("home")) == 64


@pytest.mark.anyio
async def test_tnt_id_is_kept_or_generated_with_the_cluster(
    edge: LocalEdge, http: httpx.AsyncClient
) -> None:
    kept = delivery_request(id={"tntId": "visitor.21_27", "marketingCloudVisitorId": "mcid"})
    answer = (await http.post(delivery_url(), json=kept)).json()
    assert answer["id"] == {"tntId": "visitor.21_27", "marketingCloudVisitorId": "mcid"}
    assert answer["edgeHost"] == "mboxedge35.tt.omtrdc.net"

    generated = (await http.post(delivery_url(), json=delivery_request())).json()
    match = GENERATED_TNT_ID.fullmatch(generated["id"]["tntId"])
    assert match is not None and match.group(1) == "35"
    again = (await http.post(delivery_url(), json=delivery_request())).json()
    assert again["id"]["tntId"] != generated["id"]["tntId"]

    # A request aimed at a cluster's host is answered by that cluster, as on the real edge.
    aimed = (
        await http.post(delivery_url("https://mboxedge28.tt.omtrdc.net"), json=delivery_request())
    ).json()
    assert aimed["edgeHost"] == "mboxedge28.tt.omtrdc.net"
    assert aimed["id"]["tntId"].endswith(".28_0")


@pytest.mark.anyio
async def test_client_and_cluster_are_configurable() -> None:
    async with (
        LocalEdge(offers={}, client="acme", cluster="7") as edge,
        httpx.AsyncClient() as http,
    ):
        answer = (
            await http.post(
                f"{edge.url}/rest/v1/delivery?imsOrgId=o&sessionId=s", json=delivery_request()
            )
        ).json()
    assert answer["client"] == "acme"
    assert answer["edgeHost"] == "mboxedge7.tt.omtrdc.net"
    assert answer["id"]["tntId"].endswith(".7_0")


@pytest.mark.anyio
async def test_missing_request_id_gets_a_generated_one(http: httpx.AsyncClient) -> None:
    answer = (await http.post(delivery_url(), json={"context": {"channel": "web"}})).json()
    assert re.fullmatch(r"[0-9a-f-]{36}", answer["requestId"])


@pytest.mark.anyio
async def test_analytics_payload_only_for_client_side_logging(http: httpx.AsyncClient) -> None:
    mboxes = {"mboxes": [{"index": 0, "name": "home"}, {"index": 1, "name": "nope"}]}
    client_side = delivery_request(
        execute=mboxes, experienceCloud={"analytics": {"logging": "client_side"}}
    )
    answer = (await http.post(delivery_url(), json=client_side)).json()
    validate_delivery_response(answer)
    home, nope = answer["execute"]["mboxes"]
    assert home["analytics"] == {"payload": {"pe": "tnt", "tnta": "302740:0:0|2"}}
    assert "analytics" not in nope

    server_side = delivery_request(
        execute=mboxes, experienceCloud={"analytics": {"logging": "server_side"}}
    )
    answer = (await http.post(delivery_url(), json=server_side)).json()
    assert "analytics" not in answer["execute"]["mboxes"][0]


# -- recording ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_notifications_are_recorded_and_answered(
    edge: LocalEdge, http: httpx.AsyncClient
) -> None:
    notifications = [
        {
            "id": "n1",
            "type": "display",
            "timestamp": 1621530726000,
            "mbox": {"name": "home", "state": edge.state_token("home")},
            "tokens": [edge.event_token("home")],
        },
        {"id": "n2", "type": "click", "timestamp": 1621530727000, "mbox": {"name": "flags"}},
    ]
    body = delivery_request(id={"tntId": "visitor.35_0"}, notifications=notifications)
    validate_delivery_request(body)

    answer = (await http.post(delivery_url(session="sess-9"), json=body)).json()

    assert answer["notifications"] == [{"id": "n1"}, {"id": "n2"}]
    first, second = edge.notifications
    assert first.data == notifications[0]
    assert (first.id, first.type, first.mbox_name, first.tokens) == (
        "n1",
        "display",
        "home",
        [edge.event_token("home")],
    )
    assert (first.session_id, first.tnt_id, first.host) == (
        "sess-9",
        "visitor.35_0",
        "demo.tt.omtrdc.net",
    )
    assert (second.id, second.type, second.tokens) == ("n2", "click", [])
    assert await edge.wait_for_notifications(2, timeout=1) == [first, second]


@pytest.mark.anyio
async def test_wait_for_notifications_times_out(edge: LocalEdge) -> None:
    with pytest.raises(TimeoutError):
        await edge.wait_for_notifications(1, timeout=0.05)


@pytest.mark.anyio
async def test_requests_are_recorded_and_cleared(edge: LocalEdge, http: httpx.AsyncClient) -> None:
    body = delivery_request(prefetch={"mboxes": [{"index": 0, "name": "home"}]})
    await http.post(
        delivery_url("https://mboxedge28.tt.omtrdc.net") + "&version=2.4.3",
        json=body,
        headers={"X-EXC-SDK": "AdobeTargetPython"},
    )

    [recorded] = edge.requests
    assert isinstance(recorded, RecordedRequest)
    assert (recorded.method, recorded.path, recorded.host) == (
        "POST",
        "/rest/v1/delivery",
        "mboxedge28.tt.omtrdc.net",
    )
    assert recorded.query == {"imsOrgId": ORG, "sessionId": "session-1", "version": "2.4.3"}
    assert recorded.headers["x-exc-sdk"] == "AdobeTargetPython"
    assert recorded.json == body
    assert json.loads(recorded.body) == body
    assert (recorded.status, recorded.fault) == (200, None)
    assert recorded.time > 0

    edge.clear()
    assert edge.requests == [] and edge.notifications == []


# -- validation --------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("query", "content", "message"),
    [
        ("sessionId=s", b'{"context": {}}', "imsOrgId"),
        (f"imsOrgId={ORG}", b'{"context": {}}', "sessionId"),
        (f"imsOrgId={ORG}&sessionId=", b'{"context": {}}', "sessionId"),
        (f"imsOrgId={ORG}&sessionId=s", b"not json", "JSON"),
        (f"imsOrgId={ORG}&sessionId=s", b"[1, 2]", "JSON"),
        (f"imsOrgId={ORG}&sessionId=s", b'{"execute": {}}', "context"),
        (
            f"imsOrgId={ORG}&sessionId=s",
            b'{"context": {}, "execute": {"mboxes": [{"index": 0}]}}',
            "name",
        ),
        (
            f"imsOrgId={ORG}&sessionId=s",
            b'{"context": {}, "notifications": [{"id": "n", "type": "display"}]}',
            "timestamp",
        ),
        (
            f"imsOrgId={ORG}&sessionId=s",
            b'{"context": {}, "notifications": [{"id": "n", "type": "view", "timestamp": 1}]}',
            "type",
        ),
    ],
)
async def test_invalid_requests_get_400(
    edge: LocalEdge, http: httpx.AsyncClient, query: str, content: bytes, message: str
) -> None:
    response = await http.post(
        f"https://demo.tt.omtrdc.net/rest/v1/delivery?{query}", content=content
    )

    assert response.status_code == 400
    answer = response.json()
    assert answer["status"] == 400
    assert message in answer["message"]
    assert edge.requests[0].status == 400
    assert edge.notifications == []


@pytest.mark.anyio
async def test_unknown_routes_and_methods(edge: LocalEdge, http: httpx.AsyncClient) -> None:
    missing = await http.get("https://assets.adobetarget.com/demo/production/v1/rules.json")
    assert missing.status_code == 404
    assert missing.json()["status"] == 404
    assert edge.requests[0].host == "assets.adobetarget.com"

    wrong_method = await http.get(delivery_url())
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"

    info = await http.get(edge.url + "/")
    assert info.json()["client"] == "demo"
    head = await http.head(edge.url + "/")
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) == len(info.content)


# -- HTTP/1.1 ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_keep_alive_serves_many_requests_on_one_connection(edge: LocalEdge) -> None:
    reader, writer = await asyncio.open_connection(edge.host, edge.port)
    body = json.dumps(delivery_request(execute={"mboxes": [{"index": 0, "name": "home"}]})).encode()
    for _ in range(200):
        writer.write(raw_request(body))
        status, headers, content = await read_response(reader)
        assert status == 200
        assert "connection" not in headers
        assert json.loads(content)["execute"]["mboxes"][0]["options"][0]["content"] == "HOME OFFER"
    # Pipelined: three requests in one write come back in order.
    writer.write(
        b"".join(
            raw_request(json.dumps(delivery_request(requestId=f"p{i}")).encode()) for i in range(3)
        )
    )
    answers = [json.loads((await read_response(reader))[2])["requestId"] for _ in range(3)]
    assert answers == ["p0", "p1", "p2"]
    writer.close()
    await writer.wait_closed()
    assert len(edge.requests) == 203


@pytest.mark.anyio
async def test_httpx_reuses_one_connection(edge: LocalEdge) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    ports = set()
    async with httpx.AsyncClient(transport=edge.transport(limits=limits)) as http:
        for _ in range(20):
            response = await http.post(delivery_url(), json=delivery_request())
            assert response.status_code == 200
            ports.add(response.extensions["network_stream"].get_extra_info("client_addr")[1])
    assert len(ports) == 1


@pytest.mark.anyio
async def test_connection_close_is_honoured(edge: LocalEdge) -> None:
    reader, writer = await asyncio.open_connection(edge.host, edge.port)
    writer.write(raw_request(json.dumps(delivery_request()).encode(), "Connection: close\r\n"))
    status, headers, _ = await read_response(reader)
    assert (status, headers["connection"]) == (200, "close")
    assert await reader.read() == b""  # the edge closed its side
    writer.close()

    # HTTP/1.0 closes unless keep-alive is asked for.
    reader, writer = await asyncio.open_connection(edge.host, edge.port)
    writer.write(b"GET / HTTP/1.0\r\n\r\n")
    status, headers, _ = await read_response(reader)
    assert (status, headers["connection"]) == (200, "close")
    assert await reader.read() == b""
    writer.close()

    reader, writer = await asyncio.open_connection(edge.host, edge.port)
    writer.write(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" * 2)
    for _ in range(2):
        status, headers, _ = await read_response(reader)
        assert (status, headers["connection"]) == (200, "keep-alive")
    writer.close()


@pytest.mark.anyio
async def test_chunked_request_body_and_expect_continue(edge: LocalEdge) -> None:
    body = json.dumps(delivery_request(requestId="chunked")).encode()
    chunked = (
        b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:]))
        + b"0\r\nX-Trailer: 1\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection(edge.host, edge.port)
    writer.write(
        f"POST /rest/v1/delivery?imsOrgId={ORG}&sessionId=s HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n".encode()
    )
    assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    for index in range(0, len(chunked), 7):  # arrives in small pieces
        writer.write(chunked[index : index + 7])
        await writer.drain()
    status, _, content = await read_response(reader)
    assert status == 200
    assert json.loads(content)["requestId"] == "chunked"
    assert edge.requests[0].json == json.loads(body)
    writer.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"NONSENSE\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"GET / HTTP/1.1\r\nBad Header : x\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: nope\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    ],
)
async def test_malformed_http_gets_an_error_and_close(
    edge: LocalEdge, data: bytes, status: int
) -> None:
    reader, writer = await asyncio.open_connection(edge.host, edge.port)
    writer.write(data)
    answered, headers, _ = await read_response(reader)
    assert (answered, headers["connection"]) == (status, "close")
    assert await reader.read() == b""
    writer.close()


# -- routing the SDK's hosts -------------------------------------------------------------------


@pytest.mark.anyio
async def test_transport_sends_any_host_to_the_edge(
    edge: LocalEdge, http: httpx.AsyncClient
) -> None:
    url = delivery_url("https://mboxedge28.tt.omtrdc.net")
    response = await http.post(url, json=delivery_request())

    assert response.status_code == 200
    assert str(response.request.url) == url  # the caller still sees where it aimed
    assert edge.requests[0].host == "mboxedge28.tt.omtrdc.net"
    await http.post(
        "http://demo.tt.omtrdc.net:8080/rest/v1/delivery?imsOrgId=o&sessionId=s",
        json=delivery_request(),
    )
    assert edge.requests[1].host == "demo.tt.omtrdc.net:8080"


@pytest.mark.anyio
async def test_client_options(edge: LocalEdge) -> None:
    options = edge.client_options(timeout=1000)
    assert options["client"] == "demo"
    assert options["organization_id"] == edge.organization_id
    assert options["timeout"] == 1000
    async with httpx.AsyncClient(transport=options["transport"]) as http:
        assert (await http.post(delivery_url(), json=delivery_request())).status_code == 200


# -- lifecycle ---------------------------------------------------------------------------------


def test_thread_mode_serves_sync_code() -> None:
    with LocalEdge.run_in_thread(offers=OFFERS) as edge:
        assert edge.url == f"http://127.0.0.1:{edge.port}"
        with httpx.Client() as http:
            response = http.post(
                f"{edge.url}/rest/v1/delivery?imsOrgId={ORG}&sessionId=s",
                json=delivery_request(execute={"mboxes": [{"index": 0, "name": "home"}]}),
            )
        assert response.json()["execute"]["mboxes"][0]["options"][0]["content"] == "HOME OFFER"

        # Any other event loop reaches it through the transport too.
        async def from_another_loop() -> int:
            async with httpx.AsyncClient(transport=edge.transport()) as client:
                return (await client.post(delivery_url(), json=delivery_request())).status_code

        assert asyncio.run(from_another_loop()) == 200
        assert [request.host for request in edge.requests] == [
            f"127.0.0.1:{edge.port}",
            "demo.tt.omtrdc.net",
        ]
    with pytest.raises(httpx.ConnectError):
        httpx.get(edge.url + "/")


def test_thread_mode_reports_a_failed_start() -> None:
    with (
        LocalEdge.run_in_thread() as first,
        pytest.raises(OSError),
        LocalEdge.run_in_thread(port=first.port),
    ):
        pass


@pytest.mark.anyio
async def test_lifecycle_errors() -> None:
    edge = LocalEdge()
    with pytest.raises(ClientStateError):
        _ = edge.port
    async with edge:
        with pytest.raises(ClientStateError):
            await edge.start()
    await edge.aclose()  # idempotent
    with pytest.raises(ClientStateError):
        await edge.start()


@pytest.mark.anyio
async def test_plugin_fixture_serves_sample_offers(target_edge: LocalEdge) -> None:
    body = delivery_request(
        prefetch={"mboxes": [{"index": 0, "name": "home"}, {"index": 1, "name": "product1"}]}
    )
    async with httpx.AsyncClient(transport=target_edge.transport()) as http:
        answer = (await http.post(delivery_url(), json=body)).json()
    validate_delivery_response(answer)
    contents = [mbox["options"][0]["content"] for mbox in answer["prefetch"]["mboxes"]]
    assert contents == ["HOME OFFER", "TEST OFFER 1"]
    assert answer["prefetch"]["mboxes"][1]["options"][0]["responseTokens"]["geo.city"] == "dublin"


def test_plugin_thread_fixture(target_edge_thread: LocalEdge) -> None:
    assert httpx.get(target_edge_thread.url + "/").json()["status"] == 200


# -- offers ------------------------------------------------------------------------------------


def test_offers_from_a_file_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "offers.json"
    path.write_text(json.dumps({"only": [{"type": "html", "content": "ONLY"}]}))
    edge = LocalEdge(offers=path)
    assert edge.offers == {"only": [{"type": "html", "content": "ONLY"}]}
    edge.offers = str(SAMPLE_OFFERS_PATH)
    assert {"home", "product1", "views"} <= set(edge.offers)
    assert set(LocalEdge().offers) == set(edge.offers)  # the sample is the default


@pytest.mark.parametrize(
    "offers",
    [
        {"home": {"type": "html", "content": "x"}},
        {"home": ["not an object"]},
        {"home": [{"type": "text", "content": "x"}]},
        {"home": [{"type": "html"}]},
        {"home": [{"type": "html", "content": "x", "unknown": 1}]},
        {"home": [{"type": "html", "content": "x", "responseTokens": ["a"]}]},
        {"views": {"v": "nope"}},
    ],
)
def test_bad_offers_are_rejected(offers: dict[str, Any]) -> None:
    with pytest.raises(TargetConfigError):
        LocalEdge(offers=offers)


def test_unreadable_offers_file(tmp_path: Path) -> None:
    with pytest.raises(TargetConfigError):
        LocalEdge(offers=tmp_path / "missing.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(TargetConfigError):
        LocalEdge(offers=tmp_path / "list.json")


# -- faults ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_status_fault_with_retry_after(edge: LocalEdge, http: httpx.AsyncClient) -> None:
    fault = edge.faults.add(Fault(kind="status", status_code=503, retry_after=2))
    body = delivery_request(notifications=[{"id": "n", "type": "display", "timestamp": 1}])

    response = await http.post(delivery_url(), json=body)

    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json() == {"status": 503, "message": "Service Unavailable"}
    assert (edge.requests[0].status, edge.requests[0].fault) == (503, fault)
    assert edge.notifications == []  # not processed: a retry must not count twice
    assert edge.faults.applied(fault) == 1

    edge.faults.clear()
    custom = edge.faults.add(
        Fault(kind="status", status_code=429, body='{"oops": 1}', headers={"X-Why": "quota"})
    )
    response = await http.post(delivery_url(), json=body)
    assert (response.status_code, response.json(), response.headers["x-why"]) == (
        429,
        {"oops": 1},
        "quota",
    )
    edge.faults.remove(custom)
    assert (await http.post(delivery_url(), json=body)).status_code == 200
    assert len(edge.notifications) == 1


@pytest.mark.anyio
async def test_latency_fault_answers_after_the_delay(edge: LocalEdge) -> None:
    edge.faults.add(Fault(kind="latency", delay=0.05, times=1))
    edge.faults.add(Fault(kind="latency", delay=30))
    async with httpx.AsyncClient(transport=edge.transport()) as http:
        delayed = await http.post(
            delivery_url(),
            json=delivery_request(execute={"mboxes": [{"index": 0, "name": "home"}]}),
        )
        assert delayed.json()["execute"]["mboxes"][0]["options"][0]["content"] == "HOME OFFER"
        with pytest.raises(httpx.ReadTimeout):
            await http.post(delivery_url(), json=delivery_request(), timeout=0.1)
    assert [request.fault.delay if request.fault else None for request in edge.requests] == [
        0.05,
        30,
    ]


@pytest.mark.anyio
async def test_reset_fault_breaks_the_connection(edge: LocalEdge, http: httpx.AsyncClient) -> None:
    edge.faults.add(Fault(kind="reset", times=1))

    with pytest.raises(httpx.TransportError):
        await http.post(delivery_url(), json=delivery_request())

    assert edge.requests[0].status is None
    assert (await http.post(delivery_url(), json=delivery_request())).status_code == 200

    # A real TCP reset (RST), not an orderly close.
    edge.faults.add(Fault(kind="reset", delay=0.01))
    reader, writer = await asyncio.open_connection(edge.host, edge.port)
    writer.write(raw_request(json.dumps(delivery_request()).encode()))
    with pytest.raises(ConnectionResetError):
        await reader.read()
    writer.close()


@pytest.mark.anyio
async def test_non_json_and_truncated_faults(edge: LocalEdge, http: httpx.AsyncClient) -> None:
    edge.faults.add(Fault(kind="non_json", times=1))
    edge.faults.add(Fault(kind="truncated", times=1))

    garbled = await http.post(delivery_url(), json=delivery_request())
    assert garbled.status_code == 200
    assert garbled.headers["content-type"] == "text/html"
    with pytest.raises(json.JSONDecodeError):
        garbled.json()

    notified = delivery_request(notifications=[{"id": "n", "type": "display", "timestamp": 1}])
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post(delivery_url(), json=notified)
    assert edge.notifications == []  # the client never saw an answer: not counted as received
    assert [request.fault.kind if request.fault else None for request in edge.requests] == [
        "non_json",
        "truncated",
    ]


@pytest.mark.anyio
async def test_faults_match_path_method_and_host(edge: LocalEdge, http: httpx.AsyncClient) -> None:
    edge.faults.add(Fault(kind="status", status_code=500, host="MBOXEDGE28.tt.omtrdc.net"))
    edge.faults.add(Fault(kind="status", status_code=404, path="/other"))
    edge.faults.add(Fault(kind="status", status_code=502, method="get", path="/"))

    assert (
        await http.post(delivery_url("https://mboxedge28.tt.omtrdc.net"), json=delivery_request())
    ).status_code == 500
    assert (
        await http.post(delivery_url("https://mboxedge35.tt.omtrdc.net"), json=delivery_request())
    ).status_code == 200
    assert (await http.get("https://demo.tt.omtrdc.net/")).status_code == 502
    assert (await http.head("https://demo.tt.omtrdc.net/")).status_code == 200
    assert (await http.post("https://demo.tt.omtrdc.net/other")).status_code == 404
    assert len(edge.faults) == 3


@pytest.mark.anyio
async def test_fraction_is_deterministic_for_a_seed(
    http: httpx.AsyncClient, edge: LocalEdge
) -> None:
    async def pattern(local_edge: LocalEdge, client: httpx.AsyncClient) -> list[int]:
        local_edge.faults.add(Fault(kind="status", status_code=503, fraction=0.3))
        statuses = []
        for _ in range(60):
            statuses.append(
                (await client.post(delivery_url(), json=delivery_request())).status_code
            )
        return statuses

    first = await pattern(edge, http)
    assert 5 <= first.count(503) <= 35
    assert set(first) == {200, 503}

    async with (
        LocalEdge(offers=OFFERS, seed=0) as same_seed,
        httpx.AsyncClient(transport=same_seed.transport()) as client,
    ):
        assert await pattern(same_seed, client) == first
    edge.faults.clear()
    edge.faults.seed(0)
    assert await pattern(edge, http) == first
    edge.faults.clear()
    edge.faults.seed(1)
    assert await pattern(edge, http) != first


@pytest.mark.parametrize(
    "options",
    [
        {"kind": "explode"},
        {"kind": "latency", "delay": -1},
        {"kind": "status", "fraction": 1.5},
        {"kind": "status", "status_code": 42},
        {"kind": "status", "times": -1},
        {"kind": "status", "retry_after": -1},
    ],
)
def test_invalid_faults_are_rejected(options: dict[str, Any]) -> None:
    with pytest.raises(TargetConfigError):
        Fault(**options)


# -- load --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_500_concurrent_requests_are_all_answered(edge: LocalEdge) -> None:
    async def one(number: int) -> None:
        reader, writer = await asyncio.open_connection(edge.host, edge.port)
        body = json.dumps(
            delivery_request(requestId=f"r{number}", id={"tntId": f"t{number}.35_0"})
        ).encode()
        writer.write(raw_request(body, "Connection: close\r\n"))
        status, _, content = await read_response(reader)
        writer.close()
        answer = json.loads(content)
        assert (status, answer["requestId"], answer["id"]["tntId"]) == (
            200,
            f"r{number}",
            f"t{number}.35_0",
        )

    await asyncio.gather(*(one(number) for number in range(500)))
    assert len(edge.requests) == 500


@pytest.mark.anyio
async def test_concurrent_httpx_requests_over_the_transport(
    edge: LocalEdge, http: httpx.AsyncClient
) -> None:
    async def one(number: int) -> str:
        body = delivery_request(
            requestId=f"r{number}", prefetch={"mboxes": [{"index": 0, "name": "home"}]}
        )
        answer = (await http.post(delivery_url(), json=body)).json()
        assert answer["prefetch"]["mboxes"][0]["options"][0]["eventToken"] == edge.event_token(
            "home"
        )
        request_id: str = answer["requestId"]
        return request_id

    request_ids = await asyncio.gather(*(one(number) for number in range(100)))
    assert request_ids == [f"r{number}" for number in range(100)]


# -- artifact mode -----------------------------------------------------------------------------

SAMPLE_ARTIFACT: dict[str, Any] = json.loads(SAMPLE_ARTIFACT_PATH.read_text())
CONFORMANCE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance"
REFERENCE_ORG = "74F652E95F1B16FE0A495C92@AdobeOrg"
SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Safari/605.1.15"
)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)


@pytest.fixture
async def artifact_edge(anyio_backend: str) -> Any:
    async with LocalEdge(artifact=SAMPLE_ARTIFACT_PATH) as local_edge:
        yield local_edge


def experience(answer: dict[str, Any]) -> Any:
    return answer["options"][0]["responseTokens"]["experience.name"]


def test_sample_artifact_has_the_advertised_activities() -> None:
    compiled = compile_artifact(SAMPLE_ARTIFACT)
    assert compiled.version == "1.0.0"
    assert SAMPLE_ARTIFACT["meta"]["clientCode"] == DEFAULT_CLIENT
    rules = SAMPLE_ARTIFACT["rules"]
    kinds = {
        (rule["meta"]["activity.type"], rule["meta"]["location.type"], name)
        for section in ("mboxes", "views")
        for name, section_rules in rules[section].items()
        for rule in section_rules
    }
    assert ("ab", "mbox", "hero-banner") in kinds
    assert ("landing", "mbox", "checkout-promo") in kinds
    assert ("ab", "view", "home") in kinds
    flags = rules["mboxes"]["feature-flags"]
    assert {option["type"] for rule in flags for option in rule["consequence"]["options"]} == {
        "json"
    }
    audiences = {
        a for rule in rules["mboxes"]["checkout-promo"] for a in rule["meta"]["audience.ids"]
    }
    assert len(audiences) == 3
    assert compiled.remote_mboxes == ("loyalty-offers",)


def test_sample_artifact_decides_sensibly() -> None:
    compiled = compile_artifact(SAMPLE_ARTIFACT)

    def decide_for(visitor: str, **context: Any) -> dict[str, Any]:
        request = {
            "id": {"tntId": visitor},
            "context": {"channel": "web", **context},
            "execute": {
                "mboxes": [
                    {"name": "hero-banner", "index": 0},
                    {"name": "checkout-promo", "index": 1, "parameters": {"membership": "Gold"}},
                    {"name": "checkout-promo", "index": 2},
                    {"name": "feature-flags", "index": 3},
                ]
            },
        }
        return decide(compiled, request, client=DEFAULT_CLIENT, session_id="s").response

    answers = [decide_for(f"visitor-{number}") for number in range(40)]
    # The A/B tests split visitors between both experiences, each visitor always the same.
    assert {experience(a["execute"]["mboxes"][0]) for a in answers} == {
        "Experience A",
        "Experience B",
    }
    assert {a["execute"]["mboxes"][3]["options"][0]["content"]["enabled"] for a in answers} == {
        True,
        False,
    }
    again = decide_for("visitor-7")["execute"]["mboxes"]
    assert again == answers[7]["execute"]["mboxes"]
    # Audiences in priority order: the mbox parameter, then the browser, then everyone.
    assert {experience(a["execute"]["mboxes"][1]) for a in answers} == {"Gold members"}
    assert {experience(a["execute"]["mboxes"][2]) for a in answers} == {"All visitors"}
    safari = decide_for("visitor-1", userAgent=SAFARI)["execute"]["mboxes"]
    assert experience(safari[1]) == "Gold members"
    assert experience(safari[2]) == "Safari visitors"
    californian = decide_for(
        "visitor-1", userAgent=CHROME, geo={"countryCode": "US", "stateCode": "CA"}
    )
    assert experience(californian["execute"]["mboxes"][2]) == "California visitors"


@pytest.mark.anyio
async def test_artifact_is_served_at_the_cdn_paths_with_etag_and_304(
    artifact_edge: LocalEdge,
) -> None:
    url = artifact_edge.artifact_url()
    assert url == "https://assets.adobetarget.com/demo/production/v1/rules.json"
    async with httpx.AsyncClient(transport=artifact_edge.transport()) as http:
        first = await http.get(url)
        assert first.status_code == 200
        assert first.headers["content-type"] == "application/json"
        assert first.content == SAMPLE_ARTIFACT_PATH.read_bytes()  # byte for byte
        etag = first.headers["etag"]
        # The CDN also says where it placed the caller.
        assert first.headers["x-geo-region-code"] == "CA"

        by_property = await http.get(artifact_edge.artifact_url(property_token="at-prop-1"))
        assert by_property.content == first.content and by_property.headers["etag"] == etag

        unchanged = await http.get(url, headers={"If-None-Match": etag})
        assert unchanged.status_code == 304 and unchanged.content == b""
        assert unchanged.headers["etag"] == etag
        stale = await http.get(url, headers={"If-None-Match": '"another"'})
        assert stale.status_code == 200

        head = await http.head(url)
        assert head.status_code == 200 and head.headers["etag"] == etag

        artifact_edge.artifact = {**SAMPLE_ARTIFACT, "meta": {"clientCode": "demo"}}
        changed = await http.get(url, headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        assert changed.json()["meta"] == {"clientCode": "demo"}

        for wrong in (
            "https://assets.adobetarget.com/acme/production/v1/rules.json",
            "https://assets.adobetarget.com/demo/staging/v1/rules.json",
            "https://assets.adobetarget.com/demo/production/v2/rules.json",
        ):
            assert (await http.get(wrong)).status_code == 404, wrong

    routes = [(request.route, request.status) for request in artifact_edge.requests]
    assert routes[:2] == [("artifact", 200), ("artifact", 200)]
    assert routes[-1] == (None, 404)


@pytest.mark.anyio
async def test_rules_bin_round_trips_through_the_sdk_deobfuscation() -> None:
    reference = json.loads((CONFORMANCE / "obfuscated" / "rules.json").read_bytes())
    async with (
        LocalEdge(
            artifact=reference, client="targettesting", organization_id=REFERENCE_ORG
        ) as edge,
        httpx.AsyncClient(transport=edge.transport()) as http,
    ):
        url = edge.artifact_url(obfuscated=True)
        assert url.endswith("/targettesting/production/v1/rules.bin")
        first = await http.get(url)
        again = await http.get(url)
        unchanged = await http.get(url, headers={"If-None-Match": first.headers["etag"]})
        json_etag = (await http.get(edge.artifact_url())).headers["etag"]
    assert first.headers["content-type"] == "application/octet-stream"
    data = first.content
    assert data[:8] == b"ATOD:001" and data[8:40].isascii()
    assert json.loads(deobfuscate(data, REFERENCE_ORG)) == reference
    assert again.content == data and first.headers["etag"] not in (None, json_etag)
    assert unchanged.status_code == 304
    # Same layout as Adobe's own rules.bin: re-encoding the reference with its key gives it back.
    reference_bin = (CONFORMANCE / "obfuscated" / "rules.bin").read_bytes()
    plain = deobfuscate(reference_bin, REFERENCE_ORG)
    assert obfuscate(plain, REFERENCE_ORG, reference_bin[8:40].decode()) == reference_bin


@pytest.mark.anyio
async def test_an_offers_edge_serves_no_artifact(edge: LocalEdge, http: httpx.AsyncClient) -> None:
    response = await http.get(edge.artifact_url())
    assert response.status_code == 404
    assert "no artifact" in response.json()["message"]
    with pytest.raises(ClientStateError, match="needs an artifact"):
        edge.client_options(decisioning_method="on-device")
    # An artifact handed over directly needs no download.
    assert edge.client_options(decisioning_method="hybrid", artifact_payload=SAMPLE_ARTIFACT)


@pytest.mark.anyio
async def test_geo_route_answers_configured_places(artifact_edge: LocalEdge) -> None:
    dublin = {"x-geo-country-code": "IE", "x-geo-city": "DUBLIN", "x-geo-latitude": 53.35}
    artifact_edge.set_geo(dublin, ip="198.51.100.4")
    async with httpx.AsyncClient(transport=artifact_edge.transport()) as http:
        default = await http.get("https://assets.adobetarget.com/v1/geo")
        placed = await http.get(
            "https://assets.adobetarget.com/v1/geo", headers={"X-Forwarded-For": "198.51.100.4"}
        )
        artifact_edge.set_geo({"x-geo-city": "PARIS"})
        changed = await http.get("https://assets.adobetarget.com/v1/geo")
    assert default.json() == DEFAULT_GEO
    assert placed.json() == dublin
    assert changed.json() == {"x-geo-city": "PARIS"}
    assert [request.route for request in artifact_edge.requests] == ["geo"] * 3
    with pytest.raises(TargetConfigError, match="x-geo-"):
        artifact_edge.set_geo({"city": "PARIS"})
    with pytest.raises(TargetConfigError):
        LocalEdge(geo={"latitude": 1})


@pytest.mark.anyio
async def test_artifact_edge_decides_and_answers_like_the_edge(
    artifact_edge: LocalEdge,
) -> None:
    body = delivery_request(
        id={"tntId": "visitor-3.21_0"},
        context={"channel": "web", "userAgent": SAFARI},
        experienceCloud={"analytics": {"logging": "client_side"}},
        execute={
            "pageLoad": {},
            "mboxes": [{"index": 0, "name": "checkout-promo"}, {"index": 1, "name": "nope"}],
        },
        prefetch={"mboxes": [{"index": 0, "name": "hero-banner"}], "views": [{"name": "home"}]},
        notifications=[
            {"id": "n1", "type": "display", "timestamp": 1, "tokens": ["t"], "mbox": {"name": "m"}}
        ],
    )
    validate_delivery_request(body)
    async with httpx.AsyncClient(transport=artifact_edge.transport()) as http:
        answer = (await http.post(delivery_url(), json=body)).json()
        anonymous = (await http.post(delivery_url(), json=delivery_request())).json()

    validate_delivery_response(answer)
    assert answer["status"] == 200 and answer["requestId"] == "req-1"
    assert answer["id"] == {"tntId": "visitor-3.21_0"}
    assert answer["client"] == "demo" and answer["edgeHost"] == "mboxedge35.tt.omtrdc.net"
    assert GENERATED_TNT_ID.fullmatch(anonymous["id"]["tntId"])

    promo, nope = answer["execute"]["mboxes"]
    assert experience(promo) == "Safari visitors"
    tokens = promo["options"][0]["responseTokens"]
    assert tokens["activity.decisioningMethod"] == "server-side"
    assert "eventToken" not in promo["options"][0] and "state" not in promo
    assert promo["analytics"] == {"payload": {"pe": "tnt", "tnta": "310002:1:0|2"}}
    assert nope == {"name": "nope", "index": 1}
    assert answer["execute"]["pageLoad"]["options"][0]["type"] == "actions"

    hero = answer["prefetch"]["mboxes"][0]
    activity_rules = SAMPLE_ARTIFACT["rules"]["mboxes"]["hero-banner"]
    rule_tokens = {rule["consequence"]["options"][0]["eventToken"] for rule in activity_rules}
    assert hero["options"][0]["eventToken"] in rule_tokens
    assert hero["state"] == artifact_edge.state_token("hero-banner")
    (home,) = answer["prefetch"]["views"]
    assert home["name"] == "home" and home["state"] and home["metrics"][0]["type"] == "click"
    assert home["analytics"]["payload"]["tnta"].startswith("310005:")

    assert answer["notifications"] == [{"id": "n1"}]
    (recorded,) = artifact_edge.notifications
    assert recorded.id == "n1" and recorded.tnt_id == "visitor-3.21_0"


@pytest.mark.anyio
async def test_remote_mboxes_are_answered_from_offers_and_geo_from_the_ip() -> None:
    offers = {"loyalty-offers": [{"type": "json", "content": {"tier": "gold"}}]}
    async with LocalEdge(artifact=SAMPLE_ARTIFACT, offers=offers) as edge:
        edge.set_geo({"x-geo-country-code": "FR", "x-geo-city": "PARIS"}, ip="192.0.2.1")
        async with httpx.AsyncClient(transport=edge.transport()) as http:

            async def promo_for(ip: str) -> Any:
                body = delivery_request(
                    id={"tntId": "visitor-9"},
                    context={"channel": "web", "geo": {"ipAddress": ip}},
                    execute={
                        "mboxes": [
                            {"index": 0, "name": "checkout-promo"},
                            {"index": 1, "name": "loyalty-offers"},
                        ]
                    },
                )
                return (await http.post(delivery_url(), json=body)).json()["execute"]["mboxes"]

            default_place, loyalty = await promo_for("203.0.113.9")
            paris, _ = await promo_for("192.0.2.1")
    assert experience(default_place) == "California visitors"
    assert default_place["options"][0]["responseTokens"]["geo.city"] == "SAN JOSE"
    assert experience(paris) == "All visitors"
    assert loyalty == {"index": 1, "name": "loyalty-offers", "options": offers["loyalty-offers"]}


@pytest.mark.anyio
async def test_an_artifact_the_engine_refuses_is_served_but_not_decided(tmp_path: Path) -> None:
    unsupported = CONFORMANCE / "artifacts" / "TEST_ARTIFACT_UNSUPPORTED.json"
    async with (
        LocalEdge(artifact=unsupported) as edge,
        httpx.AsyncClient(transport=edge.transport()) as http,
    ):
        served = await http.get(edge.artifact_url())
        decided = await http.post(delivery_url(), json=delivery_request())
    assert served.status_code == 200 and served.json()["version"] == "99.0.0"
    assert decided.status_code == 500 and "99.0.0" in decided.json()["message"]

    bad = tmp_path / "rules.json"
    bad.write_text("{not json")
    with pytest.raises(TargetConfigError, match="cannot read artifact"):
        LocalEdge(artifact=bad)
    listed = tmp_path / "list.json"
    listed.write_text("[]")
    with pytest.raises(TargetConfigError, match="JSON object"):
        LocalEdge(artifact=listed)


@pytest.mark.anyio
async def test_faults_apply_per_route(artifact_edge: LocalEdge) -> None:
    down = artifact_edge.faults.add(
        Fault(kind="status", status_code=503, retry_after=2, route="artifact")
    )
    artifact_edge.faults.add(Fault(kind="non_json", route="geo", times=1))
    async with httpx.AsyncClient(transport=artifact_edge.transport()) as http:
        artifact = await http.get(artifact_edge.artifact_url(obfuscated=True))
        delivery = await http.post(delivery_url(), json=delivery_request())
        geo = await http.get("https://assets.adobetarget.com/v1/geo")
        geo_again = await http.get("https://assets.adobetarget.com/v1/geo")
        artifact_edge.faults.remove(down)
        artifact_edge.faults.add(Fault(kind="truncated", route="artifact", times=1))
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(artifact_edge.artifact_url())
    assert artifact.status_code == 503 and artifact.headers["retry-after"] == "2"
    assert delivery.status_code == 200
    assert geo.headers["content-type"] == "text/html" and geo_again.json() == DEFAULT_GEO
    faults = [(request.route, request.fault is not None) for request in artifact_edge.requests]
    assert faults == [
        ("artifact", True),
        ("delivery", False),
        ("geo", True),
        ("geo", False),
        ("artifact", True),
    ]
    with pytest.raises(TargetConfigError, match="route"):
        Fault(kind="reset", route="cdn")  # type: ignore[arg-type]


def test_sync_edge_with_an_artifact() -> None:
    with LocalEdge.run_in_thread(artifact=SAMPLE_ARTIFACT_PATH, environment="Staging") as edge:
        assert edge.environment == "staging"
        assert edge.client_options()["environment"] == "staging"
        response = httpx.get(f"{edge.url}/demo/staging/v1/rules.json")
    assert response.json()["version"] == "1.0.0"


@pytest.mark.anyio
async def test_fixture_edge_switches_between_offers_and_artifact(target_edge: LocalEdge) -> None:
    assert "home" in target_edge.offers and target_edge.artifact is None
    target_edge.artifact = SAMPLE_ARTIFACT_PATH
    assert target_edge.offers == {} and target_edge.artifact == SAMPLE_ARTIFACT
    target_edge.offers = {"loyalty-offers": [{"type": "html", "content": "X"}]}
    target_edge.artifact = None
    assert set(target_edge.offers) == {"loyalty-offers"}
    target_edge.offers = None
    assert "home" in target_edge.offers


def decisions(response: dict[str, Any]) -> dict[str, Any]:
    """The decided content of a response, without what only the edge adds."""
    result: dict[str, Any] = {}
    for mode in ("execute", "prefetch"):
        section = response.get(mode) or {}
        answers = [*section.get("mboxes", []), *section.get("views", [])]
        if "pageLoad" in section:
            answers.append({"name": "pageLoad", **section["pageLoad"]})
        for answer in answers:
            options = []
            for option in answer.get("options", []):
                tokens = dict(option.get("responseTokens", {}))
                tokens.pop("activity.decisioningMethod")
                options.append({**option, "responseTokens": tokens})
            result[f"{mode}:{answer['name']}:{answer.get('index')}"] = {
                "options": options,
                "metrics": answer.get("metrics"),
            }
    return result


@pytest.mark.anyio
async def test_edge_decisions_equal_on_device_decisions_for_the_same_visitors(
    artifact_edge: LocalEdge,
) -> None:
    artifact_edge.set_geo({"x-geo-country-code": "DE", "x-geo-city": "BERLIN"}, ip="192.0.2.8")
    visitors = []
    for number in range(24):
        context: dict[str, Any] = {
            "channel": "web",
            "userAgent": (SAFARI, CHROME, "")[number % 3],
            "address": {"url": "https://www.example.com/checkout?step=2"},
        }
        if number % 4 == 0:
            context["geo"] = {"ipAddress": ("192.0.2.8", "203.0.113.5")[number % 8 // 4]}
        visitors.append(
            {
                "id": {"tntId": f"visitor-{number}.35_0"},
                "context": context,
                "execute": {
                    "pageLoad": {},
                    "mboxes": [
                        {"index": 0, "name": "hero-banner"},
                        {
                            "index": 1,
                            "name": "checkout-promo",
                            "parameters": {"membership": ("silver", "gold")[number % 5 == 0]},
                        },
                        {"index": 2, "name": "feature-flags"},
                    ],
                },
                "prefetch": {"mboxes": [{"index": 0, "name": "hero-banner"}], "views": [{}]},
            }
        )

    promos: set[str] = set()
    heroes: set[str] = set()
    async with (
        AsyncTargetClient.create(artifact_edge.client_options()) as server_side,
        AsyncTargetClient.create(
            artifact_edge.client_options(decisioning_method="on-device")
        ) as on_device,
    ):
        for request in visitors:
            edge_result = await server_side.get_offers({"request": request})
            local_result = await on_device.get_offers({"request": request})
            edge_answer = _serde.unstructure(edge_result.response)
            local_answer = _serde.unstructure(local_result.response)
            assert edge_result.meta.decisioning_method == "server-side"
            assert local_result.meta.decisioning_method == "on-device"
            assert decisions(edge_answer) == decisions(local_answer), request["id"]
            decided_by = {
                option["responseTokens"]["activity.decisioningMethod"]
                for answer in (edge_answer, local_answer)
                for option in answer["execute"]["mboxes"][0]["options"]
            }
            assert decided_by == {"server-side", "on-device"}
            promos.add(experience(edge_answer["execute"]["mboxes"][1]))
            heroes.add(experience(edge_answer["execute"]["mboxes"][0]))

    # Every audience of the sample was reached, so the comparison covered them all.
    assert promos == {"Gold members", "Safari visitors", "California visitors", "All visitors"}
    assert heroes == {"Experience A", "Experience B"}
    downloads = [r for r in artifact_edge.requests if r.route == "artifact"]
    assert [r.path for r in downloads] == ["/demo/production/v1/rules.json"]
    assert any(r.route == "geo" for r in artifact_edge.requests)
