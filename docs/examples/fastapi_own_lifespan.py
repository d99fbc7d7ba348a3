"""A FastAPI app that has its own lifespan: it opens the Target client next to its other
resources, and reports clicks in the background.

Run it against the built-in local edge (no account, no network):

    python docs/examples/fastapi_own_lifespan.py
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response

from target_async import (
    AsyncTargetClient,
    DeliveryRequest,
    MetricType,
    Notification,
    NotificationMbox,
)
from target_async.integrations.starlette import (
    STATE_KEY,
    get_target_client,
    set_target_cookies,
    target_options,
)

Target = Annotated[AsyncTargetClient, Depends(get_target_client)]


def create_app(client_options: Mapping[str, Any]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        # Open your database pool and other clients here too.
        async with AsyncTargetClient.create(client_options) as target:
            yield {STATE_KEY: target}  # "target_client"
        # Closed: the clicks still queued were sent first.

    app = FastAPI(lifespan=lifespan)

    @app.get("/checkout")
    async def checkout(request: Request, response: Response, target: Target) -> dict[str, Any]:
        flags = await target.get_attributes(["feature-flags"], target_options(request))
        set_target_cookies(request, response, flags)
        return {"flow": flags.get_value("feature-flags", "checkoutFlow")}

    @app.post("/clicked/{mbox}")
    async def clicked(mbox: str, request: Request, target: Target) -> dict[str, bool]:
        click = Notification(
            id=str(uuid.uuid4()),
            type=MetricType.CLICK,
            timestamp=int(time.time() * 1000),
            mbox=NotificationMbox(name=mbox),
        )
        # Fire-and-forget: queued for this visitor, sent in the background.
        queued = target.enqueue_notifications(target_options(request, DeliveryRequest(notifications=[click])))
        return {"queued": queued}

    return app


if __name__ == "__main__":
    import uvicorn

    from target_async.testing import LocalEdge

    with LocalEdge.run_in_thread() as edge:
        uvicorn.run(create_app(edge.client_options()), host="127.0.0.1", port=8000)
