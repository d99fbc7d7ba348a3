"""A plain Starlette app personalised by Adobe Target.

Run it against the built-in local edge (no account, no network):

    python docs/examples/starlette_app.py
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from target_async import DeliveryRequest, ExecuteRequest, MboxRequest
from target_async.integrations.starlette import (
    get_target_client,
    set_target_cookies,
    target_lifespan,
    target_options,
)

HOME = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home", index=0)]))


async def home(request: Request) -> HTMLResponse:
    target = get_target_client(request)
    result = await target.get_offers(target_options(request, HOME))
    execute = result.response.execute
    mbox = execute.mboxes[0] if execute and execute.mboxes else None
    offer = mbox.options[0].content if mbox and mbox.options else "Welcome"
    # The page's Visitor API takes over the server's identity (its A4T id, customer ids); it
    # must run before AppMeasurement. "</" is escaped so the JSON cannot close the script.
    organization = json.dumps(target.config.organization_id)
    state = json.dumps(result.visitor_state).replace("</", "<\\/")
    response = HTMLResponse(
        f"<h1>{offer}</h1>\n<script>Visitor.getInstance({organization}, {{serverState: {state}}});</script>"
    )
    set_target_cookies(request, response, result)
    return response


def create_app(client_options: Mapping[str, Any]) -> Starlette:
    return Starlette(routes=[Route("/", home)], lifespan=target_lifespan(client_options))


if __name__ == "__main__":
    import uvicorn

    from target_async.testing import LocalEdge

    with LocalEdge.run_in_thread() as edge:
        uvicorn.run(create_app(edge.client_options()), host="127.0.0.1", port=8000)
