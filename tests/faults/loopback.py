"""A raw HTTP/1.1 server on 127.0.0.1 that answers the SDK's three services and misbehaves
on request: the faults `LocalEdge` cannot inject (slow drip, a body that lies about its
encoding, hostile JSON, huge bodies), written byte by byte.

It answers `POST /rest/v1/delivery` with a minimal Delivery response, the artifact path
(`.../rules.json`) with the bundled sample artifact and `GET /v1/geo` with a geo answer.
`fault` (None: behave) applies to the requests of its `route` ("delivery", "artifact",
"geo") until it is cleared. Every request's `Host` header is recorded in `hosts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import zlib
from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal

import attrs

from target_async._transport import MAX_RESPONSE_BYTES
from target_async.testing import DEFAULT_GEO, SAMPLE_ARTIFACT_PATH

__all__ = ["RawFault", "RawKind", "RawServer", "prepare_bodies", "raw_server"]

RawKind = Literal[
    "drip",  # the answer's bytes one by one, 50 ms apart, never in time
    "bad_gzip",  # `Content-Encoding: gzip` on a body that is not gzip
    "gzip_bomb",  # 100 KB of gzip that inflates to 100 MB
    "non_object",  # a JSON array where an object belongs
    "deep",  # 100,000 nested arrays
    "wrong_types",  # the answer's known fields with the wrong types
    "huge",  # a JSON object 1 MiB over the SDK's limit (`MAX_RESPONSE_BYTES`)
    "empty",  # 200 with no body
    "close",  # the connection closed before any answer
]
RouteName = Literal["delivery", "artifact", "geo"]


@attrs.frozen
class RawFault:
    kind: RawKind
    route: RouteName


_WRONG_TYPES: dict[RouteName, Any] = {
    "delivery": {"status": 200, "id": {"tntId": 5}, "edgeHost": 5, "execute": [1], "prefetch": "x"},
    "artifact": {"version": 1.0, "meta": [], "rules": 5, "responseTokens": 5},
    "geo": {"x-geo-latitude": "north", "x-geo-longitude": [1], "x-geo-city": 5},
}
@functools.cache
def _huge_body() -> bytes:
    return b'{"status": 200, "padding": "' + b"x" * (MAX_RESPONSE_BYTES + 2**20) + b'"}'


@functools.cache
def _gzip_bomb() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    block = b" " * 2**20
    return b"".join(compressor.compress(block) for _ in range(100)) + compressor.flush()


def prepare_bodies(kinds: Iterable[RawKind | None]) -> None:
    """Build the large bodies of these kinds now (a server builds them on first use)."""
    if "gzip_bomb" in kinds:
        _gzip_bomb()
    if "huge" in kinds:
        _huge_body()


class RawServer:
    def __init__(self) -> None:
        self.fault: RawFault | None = None
        self.hosts: list[str] = []
        self.requests: dict[RouteName, int] = {"delivery": 0, "artifact": 0, "geo": 0}
        self._artifact = SAMPLE_ARTIFACT_PATH.read_bytes()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            # Connections still open (a client's pooled ones, a drip in progress) end now.
            for task in self._connections:
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, target, *_ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (
                        line.partition(":") for line in head.decode("latin-1").split("\r\n")[1:] if line
                    )
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.hosts.append(headers.get("host", ""))
                if not await self._answer(method, target.split("?", 1)[0], body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _route(self, method: str, path: str) -> RouteName | None:
        if method == "POST" and path == "/rest/v1/delivery":
            return "delivery"
        if method == "GET" and path.endswith("/rules.json"):
            return "artifact"
        if method == "GET" and path == "/v1/geo":
            return "geo"
        return None

    def _good_body(self, route: RouteName, request: bytes) -> bytes:
        if route == "artifact":
            return self._artifact
        if route == "geo":
            return json.dumps(DEFAULT_GEO).encode()
        sent = json.loads(request or b"{}")
        return json.dumps(
            {"status": 200, "requestId": sent.get("requestId"), "client": "demo", "id": {"tntId": "abc.35_0"}}
        ).encode()

    async def _answer(self, method: str, path: str, request: bytes, writer: asyncio.StreamWriter) -> bool:
        """Write the answer; False when the connection must close after it."""
        route = self._route(method, path)
        if route is None:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return True
        self.requests[route] += 1
        fault = self.fault if self.fault is not None and self.fault.route == route else None
        kind = fault.kind if fault is not None else None
        body = self._good_body(route, request)
        headers = {"Content-Type": "application/json"}
        if kind == "close":
            return False
        if kind == "bad_gzip":
            headers["Content-Encoding"] = "gzip"
        elif kind == "gzip_bomb":
            headers["Content-Encoding"] = "gzip"
            body = _gzip_bomb()
        elif kind == "non_object":
            body = b"[1, 2, 3]"
        elif kind == "deep":
            body = b"[" * 100_000 + b"]" * 100_000
        elif kind == "wrong_types":
            body = json.dumps(_WRONG_TYPES[route]).encode()
        elif kind == "huge":
            body = _huge_body()
        elif kind == "empty":
            body = b""
        head = "HTTP/1.1 200 OK\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        writer.write(head.encode("latin-1"))
        if kind == "drip":
            for position in range(len(body)):
                writer.write(body[position : position + 1])
                await writer.drain()
                await asyncio.sleep(0.05)
        else:
            writer.write(body)
            await writer.drain()
        return True


@contextlib.asynccontextmanager
async def raw_server() -> AsyncIterator[RawServer]:
    server = RawServer()
    await server.start()
    try:
        yield server
    finally:
        await server.aclose()
