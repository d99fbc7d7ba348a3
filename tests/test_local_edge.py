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

from target_async._exceptions import ClientStateError, TargetConfigError
from target_async.testing import (
    GLOBAL_MBOX,
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
