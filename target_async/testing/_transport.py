"""An httpx transport that sends every request to the local edge over loopback TCP."""

from __future__ import annotations

import httpx

__all__ = ["DEFAULT_EDGE_LIMITS", "EdgeTransport"]

# Keep as many idle connections as may be open: a pool that drops idle connections makes
# benchmarks measure TCP handshakes instead of the SDK.
DEFAULT_EDGE_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=100, keepalive_expiry=5.0
)


class EdgeTransport(httpx.AsyncBaseTransport):
    """Rewrites scheme, host and port to the edge's; keeps the original `Host` header.

    So `https://mboxedge28.tt.omtrdc.net/rest/v1/delivery` is sent as plain HTTP to
    `127.0.0.1:<port>` with `Host: mboxedge28.tt.omtrdc.net`, and the edge records where the
    SDK aimed. The response keeps pointing at the original request (httpx sets it), so error
    messages show the real host.
    """

    def __init__(self, host: str, port: int, *, limits: httpx.Limits = DEFAULT_EDGE_LIMITS) -> None:
        self._host = host
        self._port = port
        self._inner = httpx.AsyncHTTPTransport(limits=limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url.copy_with(scheme="http", host=self._host, port=self._port)
        # `stream=` keeps the headers exactly as built for the original URL, Host included.
        routed = httpx.Request(
            request.method,
            url,
            headers=request.headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        return await self._inner.handle_async_request(routed)

    async def aclose(self) -> None:
        await self._inner.aclose()
