"""A small HTTP/1.1 server on an asyncio Protocol, enough to play Adobe's edge.

Keep-alive, pipelining (answered in order), `Content-Length` and chunked request bodies,
`Expect: 100-continue`, HEAD, and `Connection: close` from either side. The handler is a
plain function returning an `HttpReply`; a reply may ask for a delay, a connection reset or
a truncated body, so fault injection needs no task per request. No streaming responses:
every body is built in memory, which is all the edge needs and keeps the hot path short.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import time
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus
from typing import Literal

__all__ = ["HttpReply", "HttpRequest", "HttpServer"]

logger = logging.getLogger("target_async.testing")

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
JSON_CONTENT_TYPE = "application/json;charset=UTF-8"
SERVER_NAME = "target-async-local-edge"

_REASONS = {status.value: status.phrase for status in HTTPStatus}
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
# SO_LINGER on with a zero timeout makes close() send RST instead of FIN.
_LINGER_RESET = struct.pack("ii", 1, 0)

ReplyAction = Literal["answer", "reset", "truncate"]


class HttpRequest:
    """One parsed request. Header names are lower-cased; repeated headers are joined by ", "."""

    __slots__ = ("body", "headers", "keep_alive", "method", "target", "version")

    def __init__(
        self, method: str, target: str, version: str, headers: dict[str, str], keep_alive: bool
    ) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.keep_alive = keep_alive
        self.body = b""


class HttpReply:
    """What to answer: status, body and headers, after `delay` seconds.

    `action` "reset" aborts the connection with a TCP RST instead of answering; "truncate"
    sends the head and half of the body, then closes.
    """

    __slots__ = ("action", "body", "content_type", "delay", "headers", "status")

    def __init__(
        self,
        status: int,
        body: bytes = b"",
        *,
        content_type: str = JSON_CONTENT_TYPE,
        headers: tuple[tuple[str, str], ...] = (),
        delay: float = 0.0,
        action: ReplyAction = "answer",
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers
        self.delay = delay
        self.action = action


Handler = Callable[[HttpRequest], HttpReply]


class _ProtocolError(Exception):
    """The client broke HTTP/1.1; answered with `status` and the connection is closed."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _DateHeader:
    """The `Date` header value, formatted at most once a second."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def value(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._value = formatdate(second, usegmt=True)
        return self._value


_date_header = _DateHeader()


def _parse_head(head: bytes) -> tuple[HttpRequest, int]:
    """The request line and headers, and the body length (-1 for chunked)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise _ProtocolError(400)
    method, target, version = parts
    if version != "HTTP/1.1" and version != "HTTP/1.0":
        raise _ProtocolError(505)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        # Whitespace before the colon or a folded line is a request-smuggling vector: reject.
        if not colon or not name or name[-1] in " \t" or name[0] in " \t":
            raise _ProtocolError(400)
        key = name.lower()
        value = value.strip(" \t")
        headers[key] = headers[key] + ", " + value if key in headers else value

    tokens = {token.strip().lower() for token in headers.get("connection", "").split(",")}
    # HTTP/1.1 keeps the connection unless told not to; HTTP/1.0 closes unless asked to keep it.
    keep_alive = "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens
    request = HttpRequest(method, target, version, headers, keep_alive)

    transfer_encoding = headers.get("transfer-encoding")
    if transfer_encoding is not None:
        if transfer_encoding.lower() != "chunked":
            raise _ProtocolError(501)
        if "content-length" in headers:
            raise _ProtocolError(400)
        return request, -1
    content_length = headers.get("content-length")
    if content_length is None:
        return request, 0
    if not content_length.isdigit():
        raise _ProtocolError(400)
    length = int(content_length)
    if length > MAX_BODY_BYTES:
        raise _ProtocolError(413)
    return request, length


def _parse_chunked(buffer: bytearray) -> tuple[bytes, int] | None:
    """The decoded chunked body at the start of `buffer` and the bytes it used, or None if incomplete."""
    chunks: list[bytes] = []
    total = 0
    position = 0
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            if len(buffer) - position > MAX_HEAD_BYTES:
                raise _ProtocolError(400)
            return None
        size_field = bytes(buffer[position:line_end]).split(b";", 1)[0].strip()
        if not size_field or not _HEX_DIGITS.issuperset(size_field):
            raise _ProtocolError(400)
        size = int(size_field, 16)
        position = line_end + 2
        if size == 0:
            # Trailer fields up to an empty line; they are read and dropped.
            while True:
                line_end = buffer.find(b"\r\n", position)
                if line_end < 0:
                    return None
                if line_end == position:
                    return b"".join(chunks), line_end + 2
                position = line_end + 2
        total += size
        if total > MAX_BODY_BYTES:
            raise _ProtocolError(413)
        if len(buffer) < position + size + 2:
            return None
        if buffer[position + size : position + size + 2] != b"\r\n":
            raise _ProtocolError(400)
        chunks.append(bytes(buffer[position : position + size]))
        position += size + 2


class _Connection(asyncio.Protocol):
    """One client connection: parses requests from the byte stream and answers them in order."""

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._request: HttpRequest | None = None  # head parsed, body not complete yet
        self._body_length = 0
        self._pending: asyncio.TimerHandle | None = None  # a delayed reply not sent yet
        self._closing = False

    @property
    def idle(self) -> bool:
        transport = self._transport
        return (
            self._request is None
            and self._pending is None
            and not self._buffer
            and (transport is None or transport.get_write_buffer_size() == 0)
        )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._server.connections.discard(self)
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._pending is None and not self._closing:
            self._process()

    def close(self, *, abort: bool = False) -> None:
        self._closing = True
        if self._transport is not None:
            if abort:
                self._transport.abort()
            else:
                self._transport.close()

    def _process(self) -> None:
        try:
            self._process_requests()
        except _ProtocolError as error:
            self._fail(error.status)

    def _process_requests(self) -> None:
        buffer = self._buffer
        while not self._closing and self._pending is None:
            request = self._request
            if request is None:
                head_end = buffer.find(b"\r\n\r\n")
                if head_end < 0:
                    if len(buffer) > MAX_HEAD_BYTES:
                        raise _ProtocolError(431)
                    return
                if head_end > MAX_HEAD_BYTES:
                    raise _ProtocolError(431)
                request, self._body_length = _parse_head(bytes(buffer[:head_end]))
                del buffer[: head_end + 4]
                self._request = request
                self._expect_continue(request)

            length = self._body_length
            if length > 0:
                if len(buffer) < length:
                    return
                request.body = bytes(buffer[:length])
                del buffer[:length]
            elif length < 0:
                decoded = _parse_chunked(buffer)
                if decoded is None:
                    return
                request.body, used = decoded
                del buffer[:used]
            self._request = None

            try:
                reply = self._server.handler(request)
            except Exception:
                # A handler bug must show up as a 500 in the test, not as a silently dropped connection.
                logger.exception(
                    "local edge handler failed for %s %s", request.method, request.target
                )
                reply = HttpReply(500, b'{"status":500,"message":"Internal Server Error"}')
            if reply.delay > 0:
                loop = asyncio.get_running_loop()
                self._pending = loop.call_later(reply.delay, self._send_delayed, request, reply)
                return
            self._send(request, reply)

    def _expect_continue(self, request: HttpRequest) -> None:
        expect = request.headers.get("expect")
        if expect is None or self._transport is None:
            return
        if expect.lower() != "100-continue":
            raise _ProtocolError(417)
        if self._body_length != 0:
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _send_delayed(self, request: HttpRequest, reply: HttpReply) -> None:
        self._pending = None
        self._send(request, reply)
        if not self._closing and self._buffer:
            self._process()

    def _send(self, request: HttpRequest, reply: HttpReply) -> None:
        transport = self._transport
        if transport is None or self._closing:
            return
        if reply.action == "reset":
            self._reset(transport)
            return
        keep_alive = request.keep_alive and reply.action == "answer" and not self._server.closing
        body = reply.body
        head = (
            f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Unknown')}\r\n"
            f"Content-Type: {reply.content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"Date: {_date_header.value()}\r\n"
            f"Server: {SERVER_NAME}\r\n"
        )
        for name, value in reply.headers:
            head += f"{name}: {value}\r\n"
        if not keep_alive:
            head += "Connection: close\r\n"
        elif request.version == "HTTP/1.0":
            head += "Connection: keep-alive\r\n"
        data = (head + "\r\n").encode("latin-1")
        if request.method != "HEAD":
            data += body[: len(body) // 2] if reply.action == "truncate" else body
        transport.write(data)
        if not keep_alive:
            self.close()

    def _reset(self, transport: asyncio.Transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        self.close(abort=True)

    def _fail(self, status: int) -> None:
        message = _REASONS.get(status, "Bad Request")
        body = f'{{"status":{status},"message":"{message}"}}'.encode()
        request = HttpRequest("GET", "", "HTTP/1.1", {}, keep_alive=False)
        self._send(request, HttpReply(status, body))
        self.close()


class HttpServer:
    """Listens on a TCP address and hands every request to `handler` in the current loop."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections: set[_Connection] = set()
        self.closing = False
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Start listening; returns the bound port (useful with port 0)."""
        loop = asyncio.get_running_loop()
        # A deep backlog: hundreds of clients connecting at once must not hit SYN retries.
        self._server = await loop.create_server(lambda: _Connection(self), host, port, backlog=1024)
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def aclose(self) -> None:
        """Stop listening and close every connection; answers still pending are dropped."""
        server = self._server
        if server is None or self.closing:
            return
        self.closing = True
        server.close()
        for connection in list(self.connections):
            connection.close(abort=not connection.idle)
        await server.wait_closed()
