"""Starlette and FastAPI integration: one client per app, visitor cookies in and out.

Install the extra: `pip install target-async[starlette]` (FastAPI brings Starlette).
The "FastAPI and Starlette" page of the docs shows a complete app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

try:
    from starlette.requests import HTTPConnection
    from starlette.responses import Response
except ImportError as error:
    raise ImportError(
        "target_async.integrations.starlette needs Starlette: pip install target-async[starlette]"
    ) from error

from .._client import AsyncTargetClient
from .._exceptions import ClientStateError
from .._option_types import ClientOptions
from ..models import DeliveryRequest
from ._visitor import (
    COOKIE_PATH,
    SameSite,
    TargetResult,
    request_context,
    response_cookies,
    visitor_options,
)

__all__ = [
    "STATE_KEY",
    "get_target_client",
    "set_target_cookies",
    "target_lifespan",
    "target_options",
]

STATE_KEY = "target_client"
"""The key of the client in the lifespan state (`request.state.target_client`)."""


def target_lifespan(
    options: ClientOptions,
) -> Callable[[Any], AbstractAsyncContextManager[dict[str, Any]]]:
    """A lifespan that opens one `AsyncTargetClient` for the app's whole life.

    `Starlette(lifespan=target_lifespan(options))` / `FastAPI(lifespan=...)`. The client
    is created and entered at startup (so its pool and background work live in the
    server's event loop) and closed at shutdown, which flushes what it still has to
    send. Handlers get it with `get_target_client`. An app with its own lifespan yields
    `{"target_client": client}` itself (see the docs).
    """

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        async with AsyncTargetClient.create(options) as client:
            yield {STATE_KEY: client}

    return lifespan


def _app_client(connection: HTTPConnection) -> AsyncTargetClient | None:
    # Read from the scope, not `request.state`: the state may be typed as a TypedDict.
    client = connection.scope.get("state", {}).get(STATE_KEY)
    return client if isinstance(client, AsyncTargetClient) else None


def get_target_client(request: HTTPConnection) -> AsyncTargetClient:
    """The app's client, from the lifespan state; usable as a FastAPI dependency.

    Raises `ClientStateError` when the app was not started with `target_lifespan` (or a
    lifespan yielding `{"target_client": client}`).
    """
    client = _app_client(request)
    if client is None:
        raise ClientStateError(
            "No Target client in the lifespan state: create the app with "
            f"lifespan=target_lifespan(options), or yield {{{STATE_KEY!r}: client}} from your lifespan"
        )
    return client


def target_options(
    request: HTTPConnection,
    delivery_request: DeliveryRequest | Mapping[str, Any] | None = None,
    /,
    *,
    result: TargetResult | None = None,
    organization_id: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """The call options for this visitor: pass them to `get_offers` (or any other call).

    Reads the `mbox` and `mboxEdgeCluster` cookies and the `AMCV_<org>` Experience Cloud
    id (org: `organization_id`, by default the app client's), and fills the request's
    unset `context` from the page request: URL, referrer, user agent and client hints,
    visitor IP. `result`: an earlier result for this visitor in the same handler, whose
    cookies then win. See `target_async.integrations.visitor_options`.
    """
    if organization_id is None:
        client = _app_client(request)
        organization_id = client.config.organization_id if client is not None else None
    return visitor_options(
        request.cookies,
        delivery_request,
        organization_id=organization_id,
        context=request_context(str(request.url), request.headers, request.client.host if request.client else None),
        result=result,
        **options,
    )


def set_target_cookies(
    request: HTTPConnection,
    response: Response,
    result: TargetResult,
    *,
    secure: bool | None = None,
    same_site: SameSite = "lax",
    domain: str | None = None,
    http_only: bool = False,
) -> None:
    """Set the `mbox` and `mboxEdgeCluster` cookies of `result` on `response`.

    Path `/` and the max-age Target gives. `secure` defaults to whether the page was
    requested over HTTPS (behind a TLS-terminating proxy, let the server trust its
    `X-Forwarded-Proto`, or pass `secure=True`). Not HttpOnly by default, so at.js on
    the same pages can read them.
    """
    for cookie in response_cookies(result):
        response.set_cookie(
            cookie.name,
            cookie.value,
            max_age=cookie.max_age,
            path=COOKIE_PATH,
            domain=domain,
            secure=request.url.scheme in ("https", "wss") if secure is None else secure,
            httponly=http_only,
            samesite=same_site,
        )
