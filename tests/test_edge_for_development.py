"""Pointing an application at a separately running local edge (`target-async edge serve`).

The documented way is `transport=EdgeTransport(host, port)`: every host the SDK computes goes
to the edge, so a returning visitor, whose tntId names an edge cluster, stays on it too.
"""

from __future__ import annotations

import pytest

from target_async import AsyncTargetClient, DeliveryRequest, ExecuteRequest, MboxRequest
from target_async.testing import SAMPLE_ARTIFACT_PATH, EdgeTransport, LocalEdge

pytestmark = pytest.mark.anyio

REQUEST = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="hero-banner")]))
# A returning visitor: its tntId carries edge cluster 28, so the SDK aims at mboxedge28.
RETURNING_VISITOR_COOKIE = "session#dev-session#9999999999|PC#returning-visitor.28_0#9999999999"


async def test_returning_visitor_stays_on_the_local_edge() -> None:
    # Served from another thread, standing in for `target-async edge serve` in another process:
    # the application knows only its address.
    with LocalEdge.run_in_thread(artifact=SAMPLE_ARTIFACT_PATH) as edge:
        options = {
            "client": edge.client,
            "organization_id": edge.organization_id,
            "transport": EdgeTransport("127.0.0.1", edge.port),
        }
        async with AsyncTargetClient.create(options) as client:
            first = await client.get_offers(request=REQUEST)
            returning = await client.get_offers(request=REQUEST, target_cookie=RETURNING_VISITOR_COOKIE)
            again = await client.get_offers(
                request=REQUEST, target_cookie=returning.target_cookie.value
            )

    hosts = [r.host for r in edge.requests if r.path == "/rest/v1/delivery"]
    assert hosts == ["demo.tt.omtrdc.net", "mboxedge28.tt.omtrdc.net", "mboxedge28.tt.omtrdc.net"]
    assert first.response.execute.mboxes[0].options
    assert returning.response.execute.mboxes[0].options
    assert again.response.id.tnt_id.startswith("returning-visitor.28")
