"""A FastAPI app personalised by Adobe Target: one client for the app, cookies per visitor.

Run it against the built-in local edge (no account, no network):

    python docs/examples/fastapi_app.py

With your account, build the app with your options instead:
`create_app({"client": "acme", "organization_id": "...@AdobeOrg"})`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response

from target_async import AsyncTargetClient, DeliveryRequest, ExecuteRequest, MboxRequest
from target_async.integrations.starlette import (
    get_target_client,
    set_target_cookies,
    target_lifespan,
    target_options,
)

Target = Annotated[AsyncTargetClient, Depends(get_target_client)]

HOME = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home", index=0)]))


def create_app(client_options: Mapping[str, Any]) -> FastAPI:
    app = FastAPI(lifespan=target_lifespan(client_options))

    @app.get("/")
    async def home(request: Request, response: Response, target: Target) -> dict[str, Any]:
        result = await target.get_offers(target_options(request, HOME))
        set_target_cookies(request, response, result)
        execute = result.response.execute
        mbox = execute.mboxes[0] if execute and execute.mboxes else None
        return {
            "offer": mbox.options[0].content if mbox and mbox.options else None,
            "tnt_id": result.response.id.tnt_id if result.response.id else None,
            "edge_host": result.response.edge_host,
            # For the page's Visitor API: Visitor.getInstance(org, {serverState: visitor_state})
            "visitor_state": result.visitor_state,
        }

    @app.get("/flags")
    async def flags(request: Request, response: Response, target: Target) -> dict[str, Any]:
        attributes = await target.get_attributes(["feature-flags"], target_options(request))
        set_target_cookies(request, response, attributes)
        return attributes.as_object("feature-flags")

    return app


if __name__ == "__main__":
    import uvicorn

    from target_async.testing import LocalEdge

    with LocalEdge.run_in_thread() as edge:
        uvicorn.run(create_app(edge.client_options()), host="127.0.0.1", port=8000)
