"""The client's default transport (aiohttp, direct and behind httpx) against the local edge.

The other client tests route through `LocalEdge.transport()`; these use no `transport`
option at all, reaching the edge as `server_domain` over plain loopback HTTP. No request
here carries an edge cluster, so every host stays 127.0.0.1.
"""

from __future__ import annotations

import gzip
import json

import anyio
import pytest
from aiohttp import web

from target_async import (
    AsyncTargetClient,
    BadRequestError,
    ClientStateError,
    DeliveryRequest,
    ExecuteRequest,
    MboxRequest,
    ResponseDecodingError,
    RetryPolicy,
    ServerError,
    TargetConnectionError,
    TargetTimeoutError,
)
from target_async._transport import _AiohttpTransport
from target_async._version import __version__
from target_async.testing import Fault, LocalEdge

pytestmark = pytest.mark.anyio

REQUEST = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home")]))


def loopback_options(edge: LocalEdge, **overrides: object) -> dict[str, object]:
    return {
        "client": edge.client,
        "organization_id": edge.organization_id,
        "server_domain": f"127.0.0.1:{edge.port}",
        "secure": False,
        **overrides,
    }


async def test_default_transport_is_aiohttp_and_serves_calls(target_edge: LocalEdge) -> None:
    async with AsyncTargetClient.create(loopback_options(target_edge)) as client:
        result = await client.get_offers(request=REQUEST)
        assert isinstance(client._transport.http._transport, _AiohttpTransport)
    assert result.response.execute.mboxes[0].options[0].content == "HOME OFFER"
    assert result.response.id.tnt_id.endswith(f".{target_edge.cluster}_0")
    recorded = target_edge.requests[0]
    assert recorded.host == f"127.0.0.1:{target_edge.port}"
    assert recorded.headers["x-exc-sdk"] == "target-async"
    assert recorded.headers["content-type"] == "application/json"


async def test_delivery_posts_skip_httpx_and_share_its_pool(target_edge: LocalEdge) -> None:
    session_id = "a&b=é+%20~"
    notification = {"id": "n-1", "type": "display", "timestamp": 1, "mbox": {"name": "home"}}
    async with AsyncTargetClient.create(loopback_options(target_edge)) as client:
        transport = client._transport
        await client.get_offers(request=REQUEST, session_id=session_id)
        await client.send_notifications(
            request={"notifications": [notification]}, session_id=session_id
        )
        assert transport._client is None  # no httpx client was needed for either call
        pool = transport._pool
        assert isinstance(pool, _AiohttpTransport)
        session = pool.session()
        # What does use httpx (artifacts, geo, the notification pipeline) goes through the same pool.
        assert transport.http._transport is pool
    assert session.closed
    with pytest.raises(ClientStateError):
        await transport.deliver("127.0.0.1", "s", b"{}")
    assert pool._session is None  # nothing reopened after close
    offers, notifications = target_edge.requests
    assert notifications.json["notifications"][0]["id"] == "n-1"
    for recorded in (offers, notifications):
        assert recorded.path == "/rest/v1/delivery"
        assert recorded.query == {"imsOrgId": target_edge.organization_id, "sessionId": session_id}
        assert recorded.headers["x-exc-sdk"] == "target-async"
        assert recorded.headers["x-exc-sdk-version"] == __version__
        assert recorded.headers["content-type"] == "application/json"
        assert recorded.headers["accept"] == "application/json"
        assert recorded.headers["user-agent"].startswith("python-httpx/")


async def test_each_attempt_has_its_own_request_id(target_edge: LocalEdge) -> None:
    retry = RetryPolicy(max_retries=2, initial_delay=0.01)
    async with AsyncTargetClient.create(loopback_options(target_edge, retry=retry)) as client:
        target_edge.faults.add(Fault(kind="status", status_code=503, retry_after=0, times=1))
        target_edge.faults.add(Fault(kind="reset", times=1))
        assert (await client.get_offers(request=REQUEST)).response.status == 200
    statuses = [recorded.status for recorded in target_edge.requests]
    assert statuses == [503, None, 200]
    request_ids = {recorded.headers["x-request-id"] for recorded in target_edge.requests}
    assert len(request_ids) == 3
    assert len({recorded.body for recorded in target_edge.requests}) == 1


async def test_delivery_posts_decode_a_compressed_answer() -> None:
    # The shared session leaves bodies encoded for httpx; direct posts must decode their own.
    answer = gzip.compress(json.dumps({"status": 200, "requestId": "r-1"}).encode())

    async def delivery(request: web.Request) -> web.Response:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return web.Response(body=answer, headers=headers)

    app = web.Application()
    app.router.add_post("/rest/v1/delivery", delivery)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        options = {"client": "c", "organization_id": "O@AdobeOrg", "secure": False}
        async with AsyncTargetClient.create({**options, "server_domain": f"127.0.0.1:{port}"}) as client:
            transport = client._transport
            assert await transport.deliver(f"127.0.0.1:{port}", "s", b"{}") == {
                "status": 200,
                "requestId": "r-1",
            }
            assert transport._client is None
    finally:
        await runner.cleanup()


async def test_default_transport_maps_failures_to_typed_errors(target_edge: LocalEdge) -> None:
    retry = RetryPolicy(max_retries=1, initial_delay=0.01)
    async with AsyncTargetClient.create(loopback_options(target_edge, timeout=300, retry=retry)) as client:
        target_edge.faults.add(Fault(kind="status", status_code=503, times=1))
        assert (await client.get_offers(request=REQUEST)).response.status == 200  # retried once

        target_edge.faults.add(Fault(kind="status", status_code=502, times=2, body='{"message":"down"}'))
        with pytest.raises(ServerError) as info:
            await client.get_offers(request=REQUEST)
        assert info.value.status_code == 502 and "down" in info.value.body

        target_edge.faults.add(Fault(kind="status", status_code=400, times=1))
        with pytest.raises(BadRequestError):
            await client.get_offers(request=REQUEST)

        target_edge.faults.add(Fault(kind="non_json", times=1))
        with pytest.raises(ResponseDecodingError):
            await client.get_offers(request=REQUEST)

        target_edge.faults.add(Fault(kind="reset", times=2))
        with pytest.raises(TargetConnectionError):
            await client.get_offers(request=REQUEST)

        target_edge.faults.add(Fault(kind="latency", delay=1.0, times=1))
        with anyio.fail_after(5), pytest.raises(TargetTimeoutError):
            await client.get_offers(request=REQUEST)

        assert (await client.get_offers(request=REQUEST)).response.status == 200


async def test_connection_refused_is_a_connection_error() -> None:
    async with LocalEdge() as edge:
        options = loopback_options(edge, retry=RetryPolicy(max_retries=0))
    # The edge is stopped: nothing listens on its port any more.
    async with AsyncTargetClient.create(options) as client:
        with anyio.fail_after(5), pytest.raises(TargetConnectionError) as info:
            await client.get_offers(request=REQUEST)
    assert not isinstance(info.value, TargetTimeoutError)


async def test_a_stalled_notification_request_does_not_hold_up_other_visitors(
    target_edge: LocalEdge,
) -> None:
    # One request stalls far longer than the bound below; the others must be delivered
    # while it stalls, not after it (on this route nothing needs to gate the pool).
    stall = target_edge.faults.add(Fault(kind="latency", delay=60, times=1))
    options = loopback_options(target_edge, notification_concurrency=16, timeout=30_000, shutdown_timeout=100)
    async with AsyncTargetClient.create(options) as client:
        for visitor in range(11):
            notification = {"id": f"{visitor}", "type": "display", "timestamp": 1}
            client.enqueue_notifications(request={"notifications": [notification]}, session_id=f"visitor-{visitor}")
        with anyio.fail_after(20):
            while client.notification_stats.sent < 10:  # noqa: ASYNC110 - counters, no event
                await anyio.sleep(0.01)
        assert target_edge.faults.applied(stall) == 1
        stats = client.notification_stats
        assert (stats.pending, stats.retried) == (1, 0)  # still stalled, never timed out
    assert client.notification_stats.failed == 1
