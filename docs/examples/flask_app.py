"""A Flask app personalised by Adobe Target through the blocking `TargetClient`.

Run it against the built-in local edge (no account, no network):

    python docs/examples/flask_app.py
"""

from __future__ import annotations

import atexit
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, request

from target_async import DeliveryRequest, ExecuteRequest, MboxRequest, TargetClient
from target_async.integrations import (
    COOKIE_PATH,
    TargetResult,
    request_context,
    response_cookies,
    visitor_options,
)

HOME = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home", index=0)]))


def create_app(client_options: Mapping[str, Any]) -> Flask:
    app = Flask(__name__)
    # One client (one connection pool, one event loop thread) for the whole process.
    target = TargetClient.create(client_options)
    atexit.register(target.close)
    app.extensions["target_client"] = target
    organization_id = client_options["organization_id"]

    def options(delivery_request: DeliveryRequest | None = None) -> dict[str, Any]:
        # The visitor's mbox / mboxEdgeCluster / AMCV_ cookies and the page context.
        context = request_context(request.url, request.headers, request.remote_addr)
        return visitor_options(
            request.cookies, delivery_request, organization_id=organization_id, context=context
        )

    def set_target_cookies(response: Response, result: TargetResult) -> None:
        for cookie in response_cookies(result):
            response.set_cookie(
                cookie.name,
                cookie.value,
                max_age=cookie.max_age,
                path=COOKIE_PATH,
                secure=request.is_secure,
                samesite="Lax",
            )

    @app.get("/")
    def home() -> Response:
        result = target.get_offers(options(HOME))
        execute = result.response.execute
        mbox = execute.mboxes[0] if execute and execute.mboxes else None
        response = jsonify(
            offer=mbox.options[0].content if mbox and mbox.options else None,
            tnt_id=result.response.id.tnt_id if result.response.id else None,
            edge_host=result.response.edge_host,
            # For the page's Visitor API: Visitor.getInstance(org, {serverState: visitor_state})
            visitor_state=result.visitor_state,
        )
        set_target_cookies(response, result)
        return response

    @app.get("/flags")
    def flags() -> Response:
        attributes = target.get_attributes(["feature-flags"], options())
        response = jsonify(attributes.as_object("feature-flags"))
        set_target_cookies(response, attributes)
        return response

    return app


if __name__ == "__main__":
    from target_async.testing import LocalEdge

    with LocalEdge.run_in_thread() as edge:
        create_app(edge.client_options()).run(host="127.0.0.1", port=8000)
