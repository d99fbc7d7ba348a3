"""`make demo`: the seed example of the official docs, then a tour of server-side,
on-device and hybrid decisioning, against the built-in local edge.

No account and no network: the local edge runs on 127.0.0.1 and the client is pointed
at it through the `transport` option, so the SDK computes real edge host names.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ._client import AsyncTargetClient
from ._demo_tour import run_tour
from .models import (
    DeliveryRequest,
    MboxRequest,
    MetricType,
    Notification,
    NotificationMbox,
    PrefetchRequest,
)
from .testing import SAMPLE_OFFERS_PATH, LocalEdge


def _show(title: str, data: Any) -> None:
    print(f"\n== {title}")
    print(json.dumps(data, indent=2, default=str))


async def run_demo() -> None:
    offers = json.loads(SAMPLE_OFFERS_PATH.read_text())
    async with LocalEdge(offers=offers) as edge:
        print(f"Local Target edge listening on {edge.url}")
        async with AsyncTargetClient.create(edge.client_options()) as target_client:
            # The seed page, as written, with `await` added.
            mboxes = [MboxRequest(name="home"), MboxRequest(name="product1")]
            prefetch = PrefetchRequest(mboxes=mboxes)
            delivery_request = DeliveryRequest(prefetch=prefetch)
            response = await target_client.get_offers({"request": delivery_request})

            prefetched = response["response"].prefetch
            assert prefetched is not None and prefetched.mboxes is not None
            _show(
                "Prefetched offers",
                [
                    {"mbox": m.name, "content": [o.content for o in m.options or []], "state": m.state}
                    for m in prefetched.mboxes
                ],
            )
            _show(
                "Cookies to set on the visitor's browser",
                {
                    "mbox": response.target_cookie.value,
                    "mboxEdgeCluster": response.target_location_hint_cookie
                    and response.target_location_hint_cookie.value,
                },
            )

            product1 = next(m for m in prefetched.mboxes if m.name == "product1")
            product1_options = product1.options or []
            notification_mbox = NotificationMbox(name="product1", state=product1.state)
            notification = Notification(
                id="1",
                type=MetricType.DISPLAY,
                timestamp=int(time.time() * 1000),  # Epoch time in milliseconds
                mbox=notification_mbox,
                tokens=[o.event_token for o in product1_options if o.event_token],
            )
            notification_request = DeliveryRequest(notifications=[notification])
            result = await target_client.send_notifications(
                {"request": notification_request, "target_cookie": response.target_cookie.value}
            )
            _show(
                "Display notification for product1",
                {
                    "status": result.response.status,
                    "notifications acknowledged": [n.id for n in result.response.notifications or []],
                    "received by the edge": len(edge.notifications),
                },
            )
        await run_tour(edge)
    print("\nLocal edge stopped. Done.")
