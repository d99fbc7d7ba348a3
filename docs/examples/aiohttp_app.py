"""An aiohttp app personalised by Adobe Target: one client for the app, cookies per visitor.

Run it against the built-in local edge (no account, no network):

    python docs/examples/aiohttp_app.py
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from target_async import DeliveryRequest, ExecuteRequest, MboxRequest
from target_async.integrations.aiohttp import (
    TARGET_RESULT,
    get_target_client,
    target_cleanup_ctx,
    target_cookies_middleware,
    target_options,
)

HOME = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home", index=0)]))

routes = web.RouteTableDef()


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    target = get_target_client(request)
    result = await target.get_offers(target_options(request, HOME))
    execute = result.response.execute
    mbox = execute.mboxes[0] if execute and execute.mboxes else None
    response = web.json_response(
        {
            "offer": mbox.options[0].content if mbox and mbox.options else None,
            "tnt_id": result.response.id.tnt_id if result.response.id else None,
            "edge_host": result.response.edge_host,
            # For the page's Visitor API: Visitor.getInstance(org, {serverState: visitor_state})
            "visitor_state": result.visitor_state,
        }
    )
    request[TARGET_RESULT] = result  # the middleware sets the visitor's cookies
    return response


@routes.get("/flags")
async def flags(request: web.Request) -> web.Response:
    target = get_target_client(request)
    attributes = await target.get_attributes(["feature-flags"], target_options(request))
    request[TARGET_RESULT] = attributes
    return web.json_response(attributes.as_object("feature-flags"))


def create_app(client_options: Mapping[str, Any]) -> web.Application:
    app = web.Application(middlewares=[target_cookies_middleware()])
    app.cleanup_ctx.append(target_cleanup_ctx(client_options))
    app.add_routes(routes)
    return app


if __name__ == "__main__":
    from target_async.testing import LocalEdge

    with LocalEdge.run_in_thread() as edge:
        web.run_app(create_app(edge.client_options()), host="127.0.0.1", port=8000)
