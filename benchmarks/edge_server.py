"""A cheap Delivery API edge for benchmark runs, in its own process.

The benchmarks measure clients, so the server must cost next to nothing: a bare asyncio
Protocol speaking HTTP/1.1 keep-alive, answering every delivery request with a response
built once at start-up (the local edge's answer to `TYPICAL_REQUEST`). Only notification
requests are parsed, to echo their ids as the real edge does. `GET /__stats` reports the
requests served and the CPU seconds this process spent, so the runner can check that the
edge was never the bottleneck.

Run: `python -m benchmarks.edge_server [--port N]`; it prints its port on the first line
of stdout and serves until stdin closes or it is terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import stat
import sys
import time
from typing import Any

from target_async.testing._delivery import OfferCatalog, build_delivery_response

__all__ = ["DELIVERY_PATH", "STATS_PATH", "TYPICAL_REQUEST", "canned_response", "main"]

DELIVERY_PATH = b"/rest/v1/delivery"
STATS_PATH = b"/__stats"
CLIENT = "demo"
ORGANIZATION_ID = "DEMO00000000000000000000@AdobeOrg"

# What a web page asks for: two mboxes with parameters, the context of a browser.
TYPICAL_REQUEST: dict[str, Any] = {
    "context": {
        "channel": "web",
        "address": {
            "url": "https://shop.example.com/products/42",
            "referringUrl": "https://www.example.com/",
        },
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
        "screen": {"width": 1920, "height": 1080},
        "browser": {"host": "shop.example.com"},
    },
    "execute": {
        "mboxes": [
            {"name": "home", "index": 1, "parameters": {"category": "shoes", "size": "42"}},
            {"name": "feature-flags", "index": 2},
        ]
    },
}


def canned_response() -> bytes:
    """The body answered to every delivery request (two mboxes, response tokens, a tntId)."""
    response = build_delivery_response(
        TYPICAL_REQUEST, OfferCatalog.load(None), client=CLIENT, cluster="35"
    )
    response["requestId"] = "00000000-0000-4000-8000-000000000000"
    return json.dumps(response, separators=(",", ":")).encode()


def _head(status: int, reason: bytes, length: int, keep_alive: bool) -> bytes:
    connection = b"keep-alive" if keep_alive else b"close"
    return (
        b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n"
        % (status, reason, length, connection)
    )


class _Stats:
    def __init__(self) -> None:
        self.requests = 0
        self.connections = 0


class _EdgeProtocol(asyncio.Protocol):
    """One connection: parse heads by hand, answer in order, keep the connection open."""

    def __init__(self, delivery_body: bytes, stats: _Stats) -> None:
        self._delivery_body = delivery_body
        self._stats = stats
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._stats.connections += 1

    def data_received(self, data: bytes) -> None:
        self._buffer = self._buffer + data if self._buffer else data
        while self._transport is not None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self._buffer[:end]
            length = 0
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17 : stop if stop >= 0 else None])
            if len(self._buffer) < end + 4 + length:
                return
            body = self._buffer[end + 4 : end + 4 + length]
            self._buffer = self._buffer[end + 4 + length :]
            keep_alive = b"\r\nconnection: close" not in lower
            self._answer(head, body, keep_alive)

    def _answer(self, head: bytes, body: bytes, keep_alive: bool) -> None:
        transport = self._transport
        assert transport is not None
        method, _, rest = head.partition(b" ")
        path = rest.partition(b" ")[0].partition(b"?")[0]
        if method == b"POST" and path == DELIVERY_PATH:
            self._stats.requests += 1
            payload = self._delivery_body
            if b'"notifications"' in body:
                payload = _notifications_response(body)
            transport.write(_head(200, b"OK", len(payload), keep_alive) + payload)
        elif method == b"GET" and path == STATS_PATH:
            stats = {
                "requests": self._stats.requests,
                "connections": self._stats.connections,
                "cpu_seconds": time.process_time(),
            }
            payload = json.dumps(stats).encode()
            transport.write(_head(200, b"OK", len(payload), keep_alive) + payload)
        else:
            payload = b'{"status":404,"message":"no route"}'
            transport.write(_head(404, b"Not Found", len(payload), keep_alive) + payload)
        if not keep_alive:
            transport.close()
            self._transport = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


def _notifications_response(body: bytes) -> bytes:
    request = json.loads(body)
    ids = [{"id": n.get("id")} for n in request.get("notifications") or [] if isinstance(n, dict)]
    response = {
        "status": 200,
        "requestId": request.get("requestId") or "00000000-0000-4000-8000-000000000001",
        "id": request.get("id") or {"tntId": "00000000000000000000000000000000.35_0"},
        "client": CLIENT,
        "edgeHost": "mboxedge35.tt.omtrdc.net",
        "notifications": ids,
    }
    return json.dumps(response, separators=(",", ":")).encode()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    body = canned_response()
    stats = _Stats()
    server = await loop.create_server(lambda: _EdgeProtocol(body, stats), host, port, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    stopped = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopped.set)
    stdin = sys.stdin.fileno()
    if stat.S_ISFIFO(os.fstat(stdin).st_mode):
        # The runner holds our stdin open and closes it when done (or dies): never outlive it.
        loop.add_reader(stdin, lambda: None if os.read(stdin, 1024) else stopped.set())
    async with server:
        await stopped.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
