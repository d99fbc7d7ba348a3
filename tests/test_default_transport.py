"""The client's default transport (aiohttp behind httpx) against the local edge.

The other client tests route through `LocalEdge.transport()`; these use no `transport`
option at all, reaching the edge as `server_domain` over plain loopback HTTP. No request
here carries an edge cluster, so every host stays 127.0.0.1.
"""

from __future__ import annotations

import anyio
import pytest

from target_async import (
    AsyncTargetClient,
    BadRequestError,
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
