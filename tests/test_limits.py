"""Numbers and sizes: options that are not finite numbers are refused, and edge answers are
read within `MAX_RESPONSE_BYTES`, before and after decompression, on both carriers."""

from __future__ import annotations

import gzip
import math
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiohttp import web

from target_async import (
    AsyncTargetClient,
    ResponseDecodingError,
    RetryPolicy,
    TargetConfigError,
    TargetValidationError,
)
from target_async._config import parse_config
from target_async._transport import MAX_RESPONSE_BYTES, decode_body
from target_async.testing import LocalEdge

BASE_CONFIG = {"client": "acme", "organization_id": "ACME@AdobeOrg"}
REQUEST = {"execute": {"mboxes": [{"name": "home", "index": 0}]}}


# -- numeric options -------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["timeout", "shutdown_timeout", "polling_interval", "maximum_wait_ready"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -5])
def test_numeric_options_must_be_finite_and_not_negative(key: str, value: float) -> None:
    if key == "maximum_wait_ready" and value == math.inf:
        return  # the official SDK's "wait indefinitely": see the next test
    with pytest.raises(TargetConfigError) as info:
        parse_config({**BASE_CONFIG, key: value})
    assert info.value.key == key
    assert key in str(info.value)


def test_infinite_maximum_wait_ready_waits_until_the_first_load() -> None:
    assert parse_config({**BASE_CONFIG, "maximum_wait_ready": math.inf}).maximum_wait_ready == -1


@pytest.mark.parametrize("field", ["initial_delay", "max_delay", "max_retry_after"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0, "1"])
def test_retry_policy_delays_must_be_finite_seconds(field: str, value: Any) -> None:
    with pytest.raises(TargetConfigError) as info:
        RetryPolicy(**{field: value})
    assert info.value.key == field


def test_retry_policy_retries_must_be_a_count() -> None:
    for value in (-1, 1.5, True):
        with pytest.raises(TargetConfigError):
            RetryPolicy(max_retries=value)


@pytest.mark.anyio
@pytest.mark.parametrize("value", [math.nan, math.inf, -1, 0])
async def test_call_timeout_must_be_a_finite_positive_number(target_edge: LocalEdge, value: float) -> None:
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        with pytest.raises(TargetValidationError, match="timeout"):
            await client.get_offers(request=REQUEST, timeout=value)
        with pytest.raises(TargetValidationError, match="timeout"):
            client.enqueue_notifications(
                request={"notifications": [{"id": "n", "type": "display", "timestamp": 1}]}, timeout=value
            )
        if value != 0 and value != math.inf:
            with pytest.raises(TargetValidationError, match="flush timeout"):
                await client.flush(value)
        assert (await client.get_offers(request=REQUEST)).response.status == 200


# -- body sizes and encodings -------------------------------------------------------------------


def _padded_answer(size: int) -> bytes:
    """A valid Delivery answer of about `size` bytes."""
    return b'{"status": 200, "requestId": "r", "pad": "' + b"a" * size + b'"}'


def _gzip_stream(size: int) -> bytes:
    """gzip of `_padded_answer(size)`, compressed piece by piece (never all of it in memory)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(b'{"status": 200, "requestId": "r", "pad": "')]
    block = b"a" * (1 << 20)
    for _ in range(size >> 20):
        parts.append(compressor.compress(block))
    parts.append(compressor.compress(b'"}'))
    parts.append(compressor.flush())
    return b"".join(parts)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class EdgeStub:
    """A raw Delivery endpoint on loopback whose answer each test sets."""

    def __init__(self) -> None:
        self.handler: Handler | None = None
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def delivery(request: web.Request) -> web.StreamResponse:
            await request.read()
            assert self.handler is not None
            return await self.handler(request)

        app = web.Application()
        app.router.add_post("/rest/v1/delivery", delivery)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def aclose(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def answer(self, body: bytes, *, encoding: str | None = None, chunked: bool = False) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            headers = {"Content-Type": "application/json"}
            if encoding:
                headers["Content-Encoding"] = encoding
            if not chunked:
                return web.Response(body=body, headers=headers)
            response = web.StreamResponse(headers=headers)
            response.enable_chunked_encoding()
            await response.prepare(request)
            for start in range(0, len(body), 1 << 16):
                await response.write(body[start : start + (1 << 16)])
            await response.write_eof()
            return response

        self.handler = handler


@pytest.fixture
async def stub(anyio_backend: Any) -> AsyncIterator[EdgeStub]:
    server = EdgeStub()
    await server.start()
    try:
        yield server
    finally:
        await server.aclose()


def _options(stub: EdgeStub, route: str) -> dict[str, Any]:
    options: dict[str, Any] = {
        **BASE_CONFIG,
        "server_domain": f"127.0.0.1:{stub.port}",
        "secure": False,
        "retry": RetryPolicy(max_retries=0),
        "notification_retry": RetryPolicy(max_retries=0),
    }
    if route == "httpx":
        options["transport"] = httpx.AsyncHTTPTransport()
    return options


def _client(stub: EdgeStub, route: str) -> AsyncTargetClient:
    return AsyncTargetClient.create(_options(stub, route))


ROUTES = pytest.mark.parametrize("route", ["aiohttp", "httpx"])


@pytest.mark.anyio
@ROUTES
async def test_a_gzip_bomb_is_refused_without_inflating_it(stub: EdgeStub, route: str) -> None:
    bomb = _gzip_stream(128 << 20)  # 128 MiB of valid JSON in about 128 kB
    assert len(bomb) < MAX_RESPONSE_BYTES // 100
    stub.answer(bomb, encoding="gzip")
    async with _client(stub, route) as client:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseDecodingError, match="larger than"):
                await client.get_offers(request=REQUEST, timeout=10_000)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    # Decompressing up to the limit costs about twice the limit; inflating it all, 128 MiB or more.
    assert peak < 3 * MAX_RESPONSE_BYTES


@pytest.mark.anyio
@ROUTES
@pytest.mark.parametrize("chunked", [False, True])
async def test_an_answer_larger_than_the_limit_is_refused(stub: EdgeStub, route: str, chunked: bool) -> None:
    stub.answer(_padded_answer(MAX_RESPONSE_BYTES + 1), chunked=chunked)
    async with _client(stub, route) as client:
        with pytest.raises(ResponseDecodingError, match="larger than"):
            await client.get_offers(request=REQUEST, timeout=10_000)
        # Just under the limit is read.
        stub.answer(_padded_answer(MAX_RESPONSE_BYTES - 100), chunked=chunked)
        assert (await client.get_offers(request=REQUEST, timeout=10_000)).response.status == 200


@pytest.mark.anyio
@ROUTES
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
async def test_a_body_that_is_not_what_its_encoding_says_is_a_decoding_error(
    stub: EdgeStub, route: str, encoding: str
) -> None:
    stub.answer(b'{"status": 200}', encoding=encoding)
    async with _client(stub, route) as client:
        with pytest.raises(ResponseDecodingError):
            await client.get_offers(request=REQUEST)
        stub.answer(gzip.compress(b'{"status": 200}'), encoding="gzip")
        assert (await client.get_offers(request=REQUEST)).response.status == 200


@pytest.mark.anyio
@ROUTES
async def test_notifications_answered_with_a_bad_encoding_fail_typed(stub: EdgeStub, route: str) -> None:
    stub.answer(b"not gzip", encoding="gzip")
    errors: list[Any] = []
    client = AsyncTargetClient.create(
        {**_options(stub, route), "events": {"send_notification_error": lambda event: errors.append(event.error)}}
    )
    async with client:
        assert client.enqueue_notifications(
            request={"notifications": [{"id": "n", "type": "display", "timestamp": 1}]}
        )
        assert not await client.flush(10_000)
        assert client.notification_stats.failed == 1
    assert len(errors) == 1 and isinstance(errors[0], ResponseDecodingError)


@pytest.mark.anyio
@ROUTES
@pytest.mark.parametrize(
    "body", [b"[" * 100_000 + b"]" * 100_000, b'{"status": 200, "pad": NaN}', b'{"status": Infinity}']
)
async def test_hostile_json_is_a_decoding_error(stub: EdgeStub, route: str, body: bytes) -> None:
    stub.answer(body)
    async with _client(stub, route) as client:
        with pytest.raises(ResponseDecodingError):
            await client.get_offers(request=REQUEST)


def test_decode_body_reads_what_servers_send() -> None:
    data = b'{"status": 200}'
    url = "http://edge.example/rest/v1/delivery"
    assert decode_body(data, None, url) == data
    assert decode_body(data, "identity", url) == data
    assert decode_body(gzip.compress(data), "gzip", url) == data
    assert decode_body(zlib.compress(data), "deflate", url) == data
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert decode_body(raw.compress(data) + raw.flush(), "deflate", url) == data
    assert decode_body(gzip.compress(gzip.compress(data)), "gzip, gzip", url) == data
    with pytest.raises(ResponseDecodingError, match="truncated"):
        decode_body(gzip.compress(data)[:-10], "gzip", url)
    with pytest.raises(ResponseDecodingError, match="unsupported"):
        decode_body(data, "zstd", url)


# -- Retry-After beyond the call's time --------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("route", ["aiohttp", "httpx"])
async def test_a_retry_after_longer_than_the_call_has_fails_at_once(target_edge: LocalEdge, route: str) -> None:
    from target_async import RateLimitError
    from target_async.testing import Fault

    options: dict[str, Any] = {
        "client": target_edge.client,
        "organization_id": target_edge.organization_id,
        "server_domain": f"127.0.0.1:{target_edge.port}",
        "secure": False,
        "retry": RetryPolicy(max_retries=3),
    }
    if route == "httpx":
        options["transport"] = httpx.AsyncHTTPTransport()
    async with AsyncTargetClient.create(options) as client:
        target_edge.faults.add(Fault(kind="status", status_code=429, retry_after=3600, times=1))
        with pytest.raises(RateLimitError) as info:
            await client.get_offers(request=REQUEST, timeout=2000)
        assert info.value.retry_after == 3600
        assert info.value.status_code == 429
        assert "Retry-After: 3600 s" in str(info.value)
        # Not retried: the edge saw one request, and the next call is served.
        assert len(target_edge.requests) == 1
        assert (await client.get_offers(request=REQUEST)).response.status == 200


@pytest.mark.anyio
async def test_a_retry_after_within_the_call_is_waited_for(target_edge: LocalEdge) -> None:
    from target_async.testing import Fault

    async with AsyncTargetClient.create(target_edge.client_options(retry=RetryPolicy(max_retries=1))) as client:
        target_edge.faults.add(Fault(kind="status", status_code=503, retry_after=0.05, times=1))
        assert (await client.get_offers(request=REQUEST, timeout=5000)).response.status == 200
    assert [recorded.status for recorded in target_edge.requests] == [503, 200]


@pytest.mark.anyio
async def test_status_errors_carry_the_retry_after_they_were_given(target_edge: LocalEdge) -> None:
    from target_async import ServerError
    from target_async.testing import Fault

    async with AsyncTargetClient.create(target_edge.client_options(retry=RetryPolicy(max_retries=0))) as client:
        target_edge.faults.add(Fault(kind="status", status_code=503, retry_after=7, times=1))
        with pytest.raises(ServerError) as info:
            await client.get_offers(request=REQUEST)
        assert info.value.retry_after == 7
        target_edge.faults.add(Fault(kind="status", status_code=503, times=1))
        with pytest.raises(ServerError) as info:
            await client.get_offers(request=REQUEST)
        assert info.value.retry_after is None
