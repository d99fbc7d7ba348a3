"""The one place that talks HTTP to the Delivery API.

Owns the client's connection pool (one keep-alive pool per client) and its
`httpx.AsyncClient`, applies the call's time budget and the retry policy, and turns every
transport failure into a `TargetError`.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import json
import random
import re
import time
import urllib.parse
import urllib.request
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import anyio
import httpx
import sniffio

from ._config import RetryPolicy, TargetConfig
from ._exceptions import (
    ClientStateError,
    ResponseDecodingError,
    TargetConnectionError,
    TargetTimeoutError,
    status_error,
)
from ._logging import install_httpx_redaction
from ._version import __version__

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "MAX_RESPONSE_BYTES",
    "SDK_NAME",
    "DeliveryTransport",
    "PoolGate",
    "decode_body",
    "parse_retry_after",
    "read_limited",
    "retry_delay",
]

SDK_NAME = "target-async"
DELIVERY_PATH = "/rest/v1/delivery"
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""The largest body the client reads, before and after decompression (a Delivery answer is a
few kB, the largest rules artifacts a few MB): more is refused, not buffered."""
# What the client can decode within that bound; asked for explicitly, so that no other
# encoding (br, zstd) is negotiated when its package happens to be installed.
_ACCEPT_ENCODING = {"Accept-Encoding": "gzip, deflate"}


def _too_large(url: str) -> ResponseDecodingError:
    return ResponseDecodingError(
        f"Response from {url} is larger than {MAX_RESPONSE_BYTES} bytes; refused", url=url
    )


def _inflate(data: bytes, coding: str, url: str) -> bytes:
    if coding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif data[:1] and data[0] & 0x0F == 8 and int.from_bytes(data[:2], "big") % 31 == 0:
        wbits = zlib.MAX_WBITS  # deflate as RFC 9110 says: with a zlib header
    else:
        wbits = -zlib.MAX_WBITS  # raw deflate, which some servers send
    decompressor = zlib.decompressobj(wbits)
    try:
        # Never more than the limit plus one byte in memory, however well the input compresses.
        out = decompressor.decompress(data, MAX_RESPONSE_BYTES + 1)
    except zlib.error as exc:
        raise ResponseDecodingError(f"Response from {url} is not valid {coding}: {exc}", url=url) from exc
    if len(out) > MAX_RESPONSE_BYTES or decompressor.unconsumed_tail:
        raise _too_large(url)
    if not decompressor.eof:
        raise ResponseDecodingError(f"Response from {url} is truncated {coding} data", url=url)
    return out


def decode_body(raw: bytes, content_encoding: str | None, url: str) -> bytes:
    """A body as sent, decompressed per its `Content-Encoding` within `MAX_RESPONSE_BYTES`.

    Raises `ResponseDecodingError` for an encoding that is not gzip or deflate, for data that
    is not what its encoding says, and for a body that decompresses to more than the limit.
    """
    if not content_encoding:
        return raw
    data = raw
    for coding in reversed(content_encoding.lower().split(",")):
        coding = coding.strip()
        if coding in ("", "identity"):
            continue
        if coding not in ("gzip", "x-gzip", "deflate"):
            raise ResponseDecodingError(f"Response from {url} has an unsupported Content-Encoding {coding!r}", url=url)
        data = _inflate(data, coding, url)
    return data


async def read_limited(response: httpx.Response) -> bytes:
    """The decoded body of a streamed httpx response, within `MAX_RESPONSE_BYTES`.

    Reads the raw bytes (refusing more than the limit as they arrive) and decompresses them
    with `decode_body`: a compressed bomb never costs more than the limit.
    """
    url = str(response.request.url.copy_with(query=None))
    if response.is_stream_consumed:
        # Built in memory (a mock transport's `httpx.Response(content=...)`): httpx read and
        # decoded it already.
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise _too_large(url)
        return response.content
    length = response.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > MAX_RESPONSE_BYTES:
        raise _too_large(url)
    chunks = []
    size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise _too_large(url)
        chunks.append(chunk)
    return decode_body(b"".join(chunks), response.headers.get("Content-Encoding"), url)


def _describe_aiohttp_error(exc: BaseException) -> str:
    """An aiohttp error for a message: a response error without its request's URL and
    headers, which carry the visitor's session id."""
    import aiohttp

    if isinstance(exc, aiohttp.ClientResponseError):
        return f"{type(exc).__name__}(status={exc.status}, message={exc.message!r})"
    return repr(exc)


async def _read_aiohttp(response: aiohttp.ClientResponse, url: str) -> bytes:
    """The raw body of an aiohttp response (not decompressed), refused beyond the limit."""
    length = response.content_length
    if length is not None:
        if length > MAX_RESPONSE_BYTES:
            raise _too_large(url)
        return await response.read()  # aiohttp reads exactly `length` bytes
    chunks = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise _too_large(url)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retry_delay(policy: RetryPolicy, attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number `attempt` (0-based).

    Exponential backoff with jitter; a server's `Retry-After` is a floor, capped so a
    misbehaving edge cannot park a caller.
    """
    backoff: float = min(policy.initial_delay * 2.0**attempt, policy.max_delay) * (1 - 0.25 * random.random())
    if retry_after is not None:
        return max(backoff, min(retry_after, float(policy.max_retry_after)))
    return backoff


def _aiohttp_fits() -> bool:
    """The caller runs on asyncio, no proxy is set in the environment, aiohttp >= 3.10 is installed."""
    try:
        if sniffio.current_async_library() != "asyncio":
            return False
    except sniffio.AsyncLibraryNotFoundError:
        return False
    # httpx honours HTTP(S)_PROXY only with its own transport: keep it when one is set.
    if urllib.request.getproxies():
        return False
    try:
        import aiohttp
    except ImportError:
        return False
    # 3.10 added ConnectionTimeoutError, which tells connect timeouts from read timeouts.
    return hasattr(aiohttp, "ConnectionTimeoutError")


class _Reply(NamedTuple):
    """The edge's answer to one attempt, whichever HTTP stack carried it."""

    status: int
    content: bytes
    charset: str | None
    retry_after: str | None
    """The raw `Retry-After` header, if any."""

    def text(self) -> str:
        try:
            return self.content.decode(self.charset or "utf-8", errors="replace")
        except LookupError:  # a charset Python does not know: httpx falls back to UTF-8 too
            return self.content.decode("utf-8", errors="replace")


# One attempt: (url, params, body, X-Request-Id, budget in s) -> the answer. Raises
# TargetTimeoutError (never retried) or TargetConnectionError (retried per policy).
_Post = Callable[[str, Mapping[str, str], bytes, str, float], Awaitable[_Reply]]

_CLOSED_MESSAGE = "The client is closed; create a new one"
_SDK_HEADERS = {"X-EXC-SDK": SDK_NAME, "X-EXC-SDK-Version": __version__}
_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
# What the httpx route sends besides the headers aiohttp adds itself (Host, Accept-Encoding,
# Content-Length), User-Agent included, so the edge sees one client whichever route is taken.
_DIRECT_HEADERS = {
    "User-Agent": f"python-httpx/{httpx.__version__}",
    **_SDK_HEADERS,
    **_JSON_HEADERS,
    **_ACCEPT_ENCODING,
}


@functools.lru_cache(maxsize=64)
def _encoded_url(url: str) -> str:
    """`url` as httpx would put it on the wire (IDNA host, percent-encoded path)."""
    return str(httpx.URL(url))


class _AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp connection pool (asyncio only): httpx's transport, and direct Delivery posts.

    Bodies are read whole (Delivery API answers and artifacts are small) and aiohttp's
    errors become the httpx errors httpx's own transport raises for the same failure, so
    the client's timeouts, retries and error mapping do not change. Cookies and redirects
    stay httpx's: aiohttp keeps no cookie jar and follows nothing.
    """

    def __init__(self, limits: httpx.Limits) -> None:
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def session(self) -> aiohttp.ClientSession:
        """The pool's session, opened on first use (in the running loop, which it binds to)."""
        if self._closed:
            raise ClientStateError(_CLOSED_MESSAGE)
        if self._session is None:
            self._session = self._open()
        return self._session

    def _open(self) -> aiohttp.ClientSession:
        import aiohttp

        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=self._limits.keepalive_expiry,
            # The context httpx would build: certifi, or SSL_CERT_FILE / SSL_CERT_DIR.
            ssl=httpx.create_ssl_context(),
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            # No timers by default: httpx's requests bring their own timeouts, and direct
            # Delivery posts run under the caller's `fail_after`.
            timeout=aiohttp.ClientTimeout(),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import aiohttp
        from yarl import URL

        timeout = request.extensions.get("timeout", {})
        content = await request.aread()
        try:
            async with self.session().request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=request.headers.multi_items(),
                data=content or None,
                allow_redirects=False,
                # httpx already set every header it wants; aiohttp must not add a Content-Type.
                skip_auto_headers=("Content-Type",),
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            ) as response:
                url = str(request.url.copy_with(query=None))
                try:
                    # Decoded here, within the limit, so httpx gets a plain body to keep.
                    body = decode_body(await _read_aiohttp(response, url), response.headers.get("Content-Encoding"), url)
                except ResponseDecodingError as exc:
                    raise httpx.DecodingError(str(exc), request=request) from exc
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc), request=request) from exc
        except TimeoutError as exc:  # aiohttp's read timeouts are TimeoutErrors too
            raise httpx.ReadTimeout(str(exc), request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except (
            aiohttp.ServerDisconnectedError,
            aiohttp.ClientPayloadError,
            aiohttp.ClientResponseError,
        ) as exc:
            raise httpx.RemoteProtocolError(_describe_aiohttp_error(exc), request=request) from exc
        except aiohttp.InvalidURL as exc:
            raise httpx.UnsupportedProtocol(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(str(exc), request=request) from exc
        headers = [
            (name, value)
            for name, value in response.raw_headers
            if name.lower() not in (b"content-encoding", b"content-length")
        ]
        return httpx.Response(
            response.status,
            headers=headers,
            stream=httpx.ByteStream(body),
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode(),
            },
        )

    async def post_delivery(
        self, url: str, params: Mapping[str, str], body: bytes, request_id: str, budget: float
    ) -> _Reply:
        """One Delivery POST straight through aiohttp, skipping httpx's client layer.

        `budget` is not applied here: the caller's `fail_after` already bounds the call, and
        aiohttp's own timers would only add cost.
        """
        import aiohttp
        from yarl import URL

        # The query string exactly as httpx encodes `params`.
        target = URL(f"{_encoded_url(url)}?{urllib.parse.urlencode(params)}", encoded=True)
        try:
            async with self.session().post(
                target,
                data=body,
                headers={**_DIRECT_HEADERS, "X-Request-Id": request_id},
                allow_redirects=False,
            ) as response:
                raw = await _read_aiohttp(response, url)
        except aiohttp.ClientError as exc:
            raise TargetConnectionError(
                f"Delivery request to {url} failed: {_describe_aiohttp_error(exc)}", url=url
            ) from exc
        content = decode_body(raw, response.headers.get("Content-Encoding"), url)
        return _Reply(response.status, content, response.charset, response.headers.get("Retry-After"))

    def abandon(self) -> None:
        """Close the pool without the event loop (for a client nobody closed).

        Closes the pooled sockets where the loop still allows it and marks the session
        closed, so that aiohttp does not warn about an unclosed session: the client's own
        warning says what happened and how to avoid it.
        """
        self._closed = True
        session, self._session = self._session, None
        connector = session.connector if session is not None else None
        if connector is not None and not connector.closed:
            # The synchronous part of `connector.close()` (3.x), without scheduling on the loop.
            connector._close()

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            session, self._session = self._session, None
            # Shielded like httpcore's pool close: a cancelled caller must still release sockets.
            with anyio.CancelScope(shield=True):
                await session.close()


class PoolGate:
    """Lets one request at a time into httpx's connection pool, until it holds a connection.

    httpcore 1.0's pool gives the same idle connection to every request that queued in one
    pass; all but one then fail over and queue again. Under a steady stream of sends one
    request can lose that race hundreds of times in a row, until its timeout (seen with 8
    sends in flight: 609 times). A request holds its connection by httpcore's first trace
    event (`connect_tcp` on a new connection, `send_request_headers` on a kept-alive one),
    so the next may enter then. The aiohttp pool has no such race: its gate is open from
    the start (`needed=False`), so a request that stalls never holds up the others. A user
    transport that reports no trace events shows it with its first answer, and the gate
    stays open from then on.
    """

    def __init__(self, *, needed: bool = True) -> None:
        self._lock = anyio.Lock()
        self._needed = needed

    @contextlib.asynccontextmanager
    async def entry(self) -> AsyncIterator[dict[str, Any]]:
        """Pass the gate; yields the request `extensions` that open it for the next request."""
        if not self._needed:
            yield {}
            return
        await self._lock.acquire()
        holding = True

        async def trace(event: str, info: dict[str, Any]) -> None:
            nonlocal holding
            if holding:
                holding = False
                self._lock.release()

        try:
            yield {"trace": trace}
            if holding:
                self._needed = False
        finally:
            if holding:
                self._lock.release()


def _refuse_constant(name: str) -> Any:
    # JSON has no NaN or Infinity; Python's parser would accept them.
    raise ValueError(f"{name} is not JSON")


# A `\uD800`-`\uDFFF` escape, or those code points encoded as UTF-8 (which `json.loads`
# reads with `surrogatepass`): a pair makes one character, but a lone surrogate becomes a
# str that cannot be encoded again, in a cookie, a log line or the next request (telemetry
# carries the answer's token). Only an answer with one of these needs the full check.
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


def _has_lone_surrogate(content: bytes, data: Any) -> bool:
    if _SURROGATE.search(content) is None:
        return False
    try:
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    return False


class DeliveryTransport:
    """Sends Delivery API requests over one shared connection pool."""

    def __init__(self, config: TargetConfig) -> None:
        self._config = config
        self._client: httpx.AsyncClient | None = None
        self._pool: _AiohttpTransport | None = None
        self._post: _Post | None = None
        self._closed = False
        # Shared by every request through `http` (delivery calls and the notification pipeline).
        self.pool_gate = PoolGate()
        # httpx's pool gets slower per request as more requests queue on it; capping the
        # requests in flight at the pool size keeps the per-request cost flat.
        self._in_flight: anyio.Semaphore | None = None

    def _route(self) -> _Post:
        """How Delivery requests are sent, picked on first use (it depends on the running loop)."""
        if self._closed:
            raise ClientStateError(_CLOSED_MESSAGE)
        if self._post is None:
            config = self._config
            if config.transport is None and config.proxy is None and _aiohttp_fits():
                # Measured (`make bench`, docs/benchmarks.md): httpcore's pool scans every pooled
                # connection on each request, so its CPU per call grows with the pool and the
                # calls in flight. At 50 in flight a pool of 64 cost 8.3 ms of CPU per call and
                # httpx's default pool 2.7 ms; aiohttp's connector, behind httpx's API, 0.75 ms.
                # Of those, httpx's client layer (request and response models, header merging)
                # cost about 250 µs, so Delivery posts skip it and go straight to aiohttp: about
                # 400 µs per call, 3.6x the official SDK's throughput instead of 1.8x. The rest
                # (artifact, geo, notification pipeline) uses `http`, on this same pool.
                # The user's `transport`, a proxy, or trio keep httpx's own transport.
                self._pool = _AiohttpTransport(config.limits)
                self._post = self._pool.post_delivery
                self.pool_gate = PoolGate(needed=False)
            else:
                self._post = self.post_httpx
        return self._post

    @property
    def http(self) -> httpx.AsyncClient:
        """The shared `httpx.AsyncClient`, created on first use."""
        self._route()
        if self._client is None:
            install_httpx_redaction()
            config = self._config
            self._client = httpx.AsyncClient(
                transport=config.transport if self._pool is None else self._pool,
                proxy=config.proxy if config.transport is None else None,
                limits=config.limits,
                timeout=httpx.Timeout(config.timeout / 1000),
                headers={**_SDK_HEADERS, **_ACCEPT_ENCODING},
            )
        return self._client

    def abandon(self) -> None:
        """Release the pool without the event loop (a client nobody closed, being collected)."""
        self._closed = True
        if self._pool is not None:
            self._pool.abandon()

    async def aclose(self) -> None:
        self._closed = True
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
        if self._pool is not None:
            # Already closed with the httpx client when one was built; closing twice is a no-op.
            await self._pool.aclose()

    async def deliver(
        self,
        host: str,
        session_id: str,
        body: bytes,
        *,
        timeout_ms: float | None = None,
    ) -> dict[str, Any]:
        """POST a Delivery request and return the decoded response body."""
        config = self._config
        url = f"{config.scheme}://{host}{DELIVERY_PATH}"
        params = {"imsOrgId": config.organization_id, "sessionId": session_id}
        if config.version:
            params["version"] = config.version
        budget = (timeout_ms or config.timeout) / 1000
        if self._in_flight is None:
            self._in_flight = anyio.Semaphore(config.limits.max_connections or 64)
        try:
            with anyio.fail_after(budget):
                async with self._in_flight:
                    reply = await self._send_with_retries(url, params, body, budget)
        except TimeoutError as exc:
            raise TargetTimeoutError(
                f"Delivery request to {host} timed out after {budget * 1000:.0f} ms", url=url
            ) from exc
        return self._decode(reply, url)

    async def _send_with_retries(
        self, url: str, params: dict[str, str], body: bytes, budget: float
    ) -> _Reply:
        policy = self._config.retry
        logger = self._config.logger
        post = self._route()
        deadline = time.monotonic() + budget
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                reply = await post(url, params, body, str(uuid.uuid4()), budget)
            except TargetTimeoutError:
                raise
            except TargetConnectionError as exc:
                if attempt >= policy.max_retries:
                    raise
                delay = retry_delay(policy, attempt)
                logger.debug("Retrying Delivery request after %r in %.3f s", exc.__cause__, delay)
            else:
                elapsed_ms = (time.perf_counter() - started) * 1000
                logger.debug("Delivery request POST %s -> %d in %.1f ms", url, reply.status, elapsed_ms)
                if reply.status not in policy.retry_statuses or attempt >= policy.max_retries:
                    return reply
                retry_after = parse_retry_after(reply.retry_after)
                if retry_after is not None and retry_after > deadline - time.monotonic():
                    # The edge asks for more time than the call has: its answer is final now,
                    # rather than a timeout after waiting for nothing.
                    return reply
                delay = retry_delay(policy, attempt, retry_after)
                logger.debug("Retrying Delivery request after HTTP %d in %.3f s", reply.status, delay)
            attempt += 1
            await anyio.sleep(delay)

    async def get_limited(
        self, url: str, *, headers: Mapping[str, str], read_timeout: float
    ) -> tuple[httpx.Response, bytes]:
        """A GET through `http` (artifact, geo) and its body, read within `MAX_RESPONSE_BYTES`.

        Raises httpx's errors, and `ResponseDecodingError` for a body over the limit or not
        what its `Content-Encoding` says (a gzip bomb costs no more than the limit).
        """
        http = self.http
        response = await http.send(http.build_request("GET", url, headers=headers, timeout=read_timeout), stream=True)
        try:
            content = await read_limited(response)
        finally:
            await response.aclose()
        return response, content

    async def post_httpx(
        self, url: str, params: Mapping[str, str], body: bytes, request_id: str, budget: float
    ) -> _Reply:
        """One Delivery POST through the httpx client (a user `transport`, a proxy, trio)."""
        headers = {**_JSON_HEADERS, "X-Request-Id": request_id}
        http = self.http  # first: it picks the route, and with it whether the gate is needed
        try:
            async with self.pool_gate.entry() as extensions:
                request = http.build_request(
                    "POST", url, params=params, content=body, headers=headers, timeout=budget, extensions=extensions
                )
                response = await http.send(request, stream=True)
            try:
                content = await read_limited(response)
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise TargetTimeoutError(f"Delivery request to {url} timed out", url=url) from exc
        except httpx.TransportError as exc:
            raise TargetConnectionError(f"Delivery request to {url} failed: {exc!r}", url=url) from exc
        except httpx.DecodingError as exc:  # the aiohttp carrier refused the body (see `decode_body`)
            raise ResponseDecodingError(f"Delivery response from {url} could not be read: {exc}", url=url) from exc
        return _Reply(
            response.status_code,
            content,
            response.charset_encoding,
            response.headers.get("retry-after"),
        )

    @staticmethod
    def _decode(reply: _Reply, url: str) -> dict[str, Any]:
        if reply.status == 204:
            return {}
        if not 200 <= reply.status < 300:
            raise status_error(reply.status, reply.text(), url=url, retry_after=parse_retry_after(reply.retry_after))
        try:
            data = json.loads(reply.content, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            # RecursionError: nesting deeper than Python's stack allows is no Delivery answer.
            raise ResponseDecodingError(
                f"Delivery response is not JSON: {reply.content[:100]!r}", url=url
            ) from exc
        if not isinstance(data, dict):
            raise ResponseDecodingError(
                f"Delivery response is not a JSON object: {reply.content[:100]!r}", url=url
            )
        if _has_lone_surrogate(reply.content, data):
            raise ResponseDecodingError("Delivery response holds a lone UTF-16 surrogate, which is not text", url=url)
        return data
