"""aiohttp integration: one client per app through `cleanup_ctx`, visitor cookies in and out.

Install the extra: `pip install target-async[aiohttp]`. The "aiohttp" page of the docs
shows a complete app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, cast

try:
    from aiohttp import web
    from aiohttp.typedefs import Middleware
except ImportError as error:
    raise ImportError(
        "target_async.integrations.aiohttp needs aiohttp: pip install target-async[aiohttp]"
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
    "TARGET_CLIENT",
    "TARGET_RESULT",
    "get_target_client",
    "set_target_cookies",
    "target_cleanup_ctx",
    "target_cookies_middleware",
    "target_options",
]

TARGET_CLIENT = web.AppKey("target_client", AsyncTargetClient)
"""Where `target_cleanup_ctx` keeps the app's client: `request.app[TARGET_CLIENT]`."""

# aiohttp 3.14 warns about plain string keys on requests and offers `web.RequestKey`.
TARGET_RESULT: Any = (
    web.RequestKey("target_result", object) if hasattr(web, "RequestKey") else "target_async.result"
)
"""Where a handler leaves its Target result for `target_cookies_middleware`:
`request[TARGET_RESULT] = result`."""


def target_cleanup_ctx(options: ClientOptions) -> Callable[[web.Application], AsyncIterator[None]]:
    """A `cleanup_ctx` entry that opens one `AsyncTargetClient` for the app's whole life.

    `app.cleanup_ctx.append(target_cleanup_ctx(options))`: the client is entered at
    startup, in the server's event loop, stored as `app[TARGET_CLIENT]`, and closed at
    cleanup, which flushes what it still has to send.
    """

    async def target_client_ctx(app: web.Application) -> AsyncIterator[None]:
        async with AsyncTargetClient.create(options) as client:
            app[TARGET_CLIENT] = client
            yield

    return target_client_ctx


def get_target_client(request: web.Request) -> AsyncTargetClient:
    """The app's client; raises `ClientStateError` when `target_cleanup_ctx` is not installed."""
    client = request.app.get(TARGET_CLIENT)
    if client is None:
        raise ClientStateError(
            "No Target client on the app: app.cleanup_ctx.append(target_cleanup_ctx(options)), "
            "or store one as app[TARGET_CLIENT]"
        )
    return client


def target_options(
    request: web.Request,
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
        client = request.app.get(TARGET_CLIENT)
        organization_id = client.config.organization_id if client is not None else None
    return visitor_options(
        request.cookies,
        delivery_request,
        organization_id=organization_id,
        context=request_context(str(request.url), request.headers, request.remote),
        result=result,
        **options,
    )


def set_target_cookies(
    request: web.BaseRequest,
    response: web.StreamResponse,
    result: TargetResult,
    *,
    secure: bool | None = None,
    same_site: SameSite = "lax",
    domain: str | None = None,
    http_only: bool = False,
) -> None:
    """Set the `mbox` and `mboxEdgeCluster` cookies of `result` on `response`.

    Path `/` and the max-age Target gives. `secure` defaults to `request.secure` (behind
    a TLS-terminating proxy, pass `secure=True` or trust its headers with
    `aiohttp-remotes`). Not HttpOnly by default, so at.js on the same pages can read them.
    """
    for cookie in response_cookies(result):
        response.set_cookie(
            cookie.name,
            cookie.value,
            max_age=cookie.max_age,
            path=COOKIE_PATH,
            domain=domain,
            secure=request.secure if secure is None else secure,
            httponly=http_only,
            samesite=same_site.capitalize(),
        )


def target_cookies_middleware(
    *,
    secure: bool | None = None,
    same_site: SameSite = "lax",
    domain: str | None = None,
    http_only: bool = False,
) -> Middleware:
    """A middleware that sets the visitor's Target cookies on every response that has a result.

    `web.Application(middlewares=[target_cookies_middleware()])`; a handler stores the result
    of its last Target call as `request[TARGET_RESULT]` and no longer calls
    `set_target_cookies` itself. A response already sent (streamed) is left alone. The
    keywords are those of `set_target_cookies`.
    """

    @web.middleware
    async def target_cookies(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        response = await handler(request)
        result = cast("TargetResult | None", request.get(TARGET_RESULT))
        if result is not None and not response.prepared:
            set_target_cookies(
                request,
                response,
                result,
                secure=secure,
                same_site=same_site,
                domain=domain,
                http_only=http_only,
            )
        return response

    return target_cookies
