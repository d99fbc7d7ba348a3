"""A tiny artifact CDN and geo service on 127.0.0.1 for the on-device tests.

`LocalCdn` serves files by path (with `ETag` / `If-None-Match`), answers `GET /v1/geo`
from `geo`, can fail the next requests on purpose, and records what it received.
`routed_transport` sends the CDN host to it and every other host to a `LocalEdge`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from target_async.testing import LocalEdge
from target_async.testing._http import HttpReply, HttpRequest, HttpServer

CDN_HOST = "assets.adobetarget.com"
GEO_PATH = "/v1/geo"


class LocalCdn:
    """Serves artifacts and geo answers; the next `failures` requests get `failure_status`."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.headers: tuple[tuple[str, str], ...] = ()
        self.geo: Mapping[str, Any] | bytes | None = None
        self.failures = 0
        self.failure_status = 503
        self.delay = 0.0  # seconds before every answer
        self.requests: list[HttpRequest] = []
        self._server = HttpServer(self._handle)
        self._port: int | None = None

    def serve(self, path: str, body: bytes) -> str:
        """Serve `body` at `path` (with an ETag of its content); returns the ETag."""
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        self.files[path] = (body, etag)
        return etag

    def requests_to(self, path: str) -> list[HttpRequest]:
        return [request for request in self.requests if request.target.split("?")[0] == path]

    @property
    def port(self) -> int:
        assert self._port is not None, "LocalCdn is not started"
        return self._port

    def _handle(self, request: HttpRequest) -> HttpReply:
        self.requests.append(request)
        reply = self._reply(request)
        reply.delay = self.delay
        return reply

    def _reply(self, request: HttpRequest) -> HttpReply:
        if self.failures:
            self.failures -= 1
            return HttpReply(self.failure_status, b'{"message":"failing on purpose"}')
        path = request.target.split("?")[0]
        if path == GEO_PATH:
            if self.geo is None:
                return HttpReply(404, b"{}")
            if isinstance(self.geo, bytes):  # an answer as is, e.g. malformed
                return HttpReply(200, self.geo)
            return HttpReply(200, json.dumps(self.geo).encode())
        served = self.files.get(path)
        if served is None:
            return HttpReply(404, b'{"message":"not found"}')
        body, etag = served
        headers = (("ETag", etag), *self.headers)
        if request.headers.get("if-none-match") == etag:
            return HttpReply(304, headers=headers)
        return HttpReply(200, body, content_type="application/octet-stream", headers=headers)

    async def __aenter__(self) -> LocalCdn:
        self._port = await self._server.start("127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._server.aclose()


class _LoopbackRouter(httpx.AsyncBaseTransport):
    """Sends the CDN host to one port and every other host to another, as plain HTTP on
    127.0.0.1, keeping the original `Host` header (as `EdgeTransport` does)."""

    def __init__(self, cdn_port: int, edge_port: int) -> None:
        self._cdn_port = cdn_port
        self._edge_port = edge_port
        # Loopback only, never TLS: skipping certificate loading keeps each test's setup cheap.
        self._inner = httpx.AsyncHTTPTransport(verify=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        port = self._cdn_port if request.url.host == CDN_HOST else self._edge_port
        routed = httpx.Request(
            request.method,
            request.url.copy_with(scheme="http", host="127.0.0.1", port=port),
            headers=request.headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        return await self._inner.handle_async_request(routed)

    async def aclose(self) -> None:
        await self._inner.aclose()


def routed_transport(edge: LocalEdge, cdn: LocalCdn) -> httpx.AsyncBaseTransport:
    """`assets.adobetarget.com` to the CDN, every other host to the edge."""
    return _LoopbackRouter(cdn.port, edge.port)
