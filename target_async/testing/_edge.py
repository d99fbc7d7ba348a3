"""LocalEdge: a real HTTP server on loopback that answers like Adobe Target's edge."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl

import anyio
import httpx
import sniffio

from target_async._exceptions import ClientStateError
from target_async.testing._delivery import (
    GLOBAL_MBOX,
    OfferCatalog,
    OffersSource,
    build_delivery_response,
    event_token,
    state_token,
    validate_delivery_request,
)
from target_async.testing._faults import FaultSet
from target_async.testing._http import HttpReply, HttpRequest, HttpServer
from target_async.testing._records import RecordedNotification, RecordedRequest
from target_async.testing._transport import DEFAULT_EDGE_LIMITS, EdgeTransport

__all__ = ["DEFAULT_CLIENT", "DEFAULT_CLUSTER", "DEFAULT_ORGANIZATION_ID", "LocalEdge"]

DEFAULT_CLIENT = "demo"
DEFAULT_ORGANIZATION_ID = "DEMO00000000000000000000@AdobeOrg"
DEFAULT_CLUSTER = "35"
DELIVERY_PATH = "/rest/v1/delivery"

_EDGE_HOST = re.compile(r"mboxedge(\d+)\.tt\.omtrdc\.net")
_NON_JSON_BODY = (
    b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
)

_State = Literal["new", "open", "closed"]


def _json_reply(status: int, payload: Any) -> HttpReply:
    return HttpReply(status, json.dumps(payload, separators=(",", ":")).encode())


def _error_reply(status: int, message: str, headers: tuple[tuple[str, str], ...] = ()) -> HttpReply:
    return HttpReply(
        status,
        json.dumps({"status": status, "message": message}, separators=(",", ":")).encode(),
        headers=headers,
    )


def _host_without_port(host: str) -> str:
    if host.startswith("["):  # [::1]:8080
        return host[1 : host.find("]")].lower()
    return host.rsplit(":", 1)[0].lower() if host.count(":") == 1 else host.lower()


class _Call:
    """One request as the routes see it."""

    __slots__ = ("host", "json", "query", "record_effects")

    def __init__(self, query: dict[str, str], host: str, body: Any, record_effects: bool) -> None:
        self.query = query
        self.host = host  # the Host header as sent, port included
        self.json = body
        # False when a fault spoils the answer: the client never learns the request was
        # processed, so it must not count as received (notifications retried, not doubled).
        self.record_effects = record_effects


_Route = Callable[[_Call], HttpReply]


class LocalEdge:
    """A local stand-in for Adobe Target's edge, serving the Delivery API over real HTTP.

    Use it in async code (the server runs in the current asyncio loop)::

        async with LocalEdge(offers={"home": [{"type": "html", "content": "HI"}]}) as edge:
            async with httpx.AsyncClient(transport=edge.transport()) as http:
                await http.post("https://demo.tt.omtrdc.net/rest/v1/delivery?...", json=...)
            assert edge.requests[0].host == "demo.tt.omtrdc.net"

    or from sync code, with the server in its own thread::

        with LocalEdge.run_in_thread() as edge:
            ...

    `offers`: a mapping or JSON file as described in `target_async.testing._delivery`
    (None: the bundled sample offers, `SAMPLE_OFFERS_PATH`). `cluster` is the edge cluster
    that answers requests aimed at a host without one (`demo.tt.omtrdc.net`); a request to
    `mboxedgeNN.tt.omtrdc.net` is answered by cluster NN, as on the real edge. `seed` seeds
    the fault draws.
    """

    def __init__(
        self,
        offers: OffersSource | None = None,
        *,
        client: str = DEFAULT_CLIENT,
        organization_id: str = DEFAULT_ORGANIZATION_ID,
        cluster: str = DEFAULT_CLUSTER,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int | None = 0,
    ) -> None:
        self.client = client
        self.organization_id = organization_id
        self.cluster = cluster
        self.requests: list[RecordedRequest] = []
        self.notifications: list[RecordedNotification] = []
        self.faults = FaultSet(seed)
        self._catalog = OfferCatalog.load(offers)
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._server: HttpServer | None = None
        self._state: _State = "new"
        self._routes: dict[str, dict[str, _Route]] = {
            DELIVERY_PATH: {"POST": self._delivery},
            "/": {"GET": self._info, "HEAD": self._info},
        }

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening in the running asyncio loop."""
        try:
            library: str | None = sniffio.current_async_library()
        except sniffio.AsyncLibraryNotFoundError:
            library = None
        if library != "asyncio":
            raise ClientStateError(
                f"LocalEdge serves from an asyncio loop, not {library}; "
                "use LocalEdge.run_in_thread() instead"
            )
        if self._state != "new":
            raise ClientStateError(f"LocalEdge cannot be started: it is {self._state}")
        self._state = "open"
        server = HttpServer(self._handle)
        self._port = await server.start(self._host, self._requested_port)
        self._server = server

    async def aclose(self) -> None:
        """Stop serving and close every connection. Idempotent."""
        if self._state == "closed":
            return
        self._state = "closed"
        if self._server is not None:
            await self._server.aclose()

    async def __aenter__(self) -> LocalEdge:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    @classmethod
    @contextlib.contextmanager
    def run_in_thread(
        cls,
        offers: OffersSource | None = None,
        *,
        client: str = DEFAULT_CLIENT,
        organization_id: str = DEFAULT_ORGANIZATION_ID,
        cluster: str = DEFAULT_CLUSTER,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int | None = 0,
    ) -> Iterator[LocalEdge]:
        """A started edge whose server runs in its own loop in a daemon thread (for sync code)."""
        edge = cls(
            offers,
            client=client,
            organization_id=organization_id,
            cluster=cluster,
            host=host,
            port=port,
            seed=seed,
        )
        with edge._serving_in_thread():
            yield edge

    @contextlib.contextmanager
    def _serving_in_thread(self) -> Iterator[None]:
        started = threading.Event()
        failure: list[BaseException] = []
        stop: list[Callable[[], object]] = []

        async def serve() -> None:
            stopped = asyncio.Event()
            loop = asyncio.get_running_loop()
            stop.append(lambda: loop.call_soon_threadsafe(stopped.set))
            try:
                async with self:
                    started.set()
                    await stopped.wait()
            except Exception as error:
                # Reported to the caller below; raising here would only reach threading.excepthook.
                failure.append(error)
            finally:
                started.set()

        thread = threading.Thread(
            target=asyncio.run, args=(serve(),), name="local-edge", daemon=True
        )
        thread.start()
        started.wait()
        if failure:
            thread.join()
            raise failure[0]
        try:
            yield
        finally:
            stop[0]()
            thread.join()

    # -- where it listens ------------------------------------------------------------------

    @property
    def host(self) -> str:
        """The address it listens on."""
        return self._host

    @property
    def port(self) -> int:
        """The port it listens on (known once started)."""
        if self._port is None:
            raise ClientStateError("LocalEdge has no port before it is started")
        return self._port

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    # -- what it serves ---------------------------------------------------------------------

    @property
    def offers(self) -> dict[str, Any]:
        """The offers mapping being served; assign a mapping or a JSON file path to replace it."""
        return self._catalog.source

    @offers.setter
    def offers(self, offers: OffersSource | None) -> None:
        self._catalog = OfferCatalog.load(offers)

    def event_token(self, mbox: str, option_index: int = 0) -> str:
        """The eventToken prefetch answers carry for option `option_index` of `mbox`.

        Use `GLOBAL_MBOX` ("target-global-mbox") for pageLoad options. An `eventToken` set
        in the offers themselves wins over this one.
        """
        entry = self._catalog.mboxes.get(mbox)
        if entry is not None and option_index < len(entry.prefetch_options):
            token: str = entry.prefetch_options[option_index]["eventToken"]
            return token
        return event_token("mbox", mbox, option_index)

    def view_event_token(self, view: str, option_index: int = 0) -> str:
        """The eventToken of option `option_index` of a prefetched view."""
        entry = self._catalog.views.get(view)
        if entry is not None and option_index < len(entry.prefetch_options):
            token: str = entry.prefetch_options[option_index]["eventToken"]
            return token
        return event_token("view", view, option_index)

    def state_token(self, mbox: str = GLOBAL_MBOX) -> str:
        """The `state` prefetch answers carry for `mbox`."""
        return state_token("mbox", mbox)

    # -- what it received -------------------------------------------------------------------

    def clear(self) -> None:
        """Forget the recorded requests and notifications (fault rules stay)."""
        self.requests.clear()
        self.notifications.clear()

    async def wait_for_notifications(
        self,
        count: int,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a default bound keeps a broken test from hanging
    ) -> list[RecordedNotification]:
        """Wait until at least `count` notifications arrived (e.g. sent in the background).

        Raises `TimeoutError` after `timeout` seconds. Works from any loop or thread.
        """
        # Polling, not an Event: the edge may record from another thread's loop.
        with anyio.fail_after(timeout):
            while len(self.notifications) < count:  # noqa: ASYNC110
                await anyio.sleep(0.005)
        return list(self.notifications)

    # -- how clients reach it -----------------------------------------------------------------

    def transport(self, *, limits: httpx.Limits = DEFAULT_EDGE_LIMITS) -> httpx.AsyncBaseTransport:
        """An httpx transport sending every request, whatever its host, to this edge."""
        return EdgeTransport(self._host, self.port, limits=limits)

    def client_options(self, **overrides: Any) -> dict[str, Any]:
        """Options for `AsyncTargetClient.create` that make the SDK talk to this edge."""
        options: dict[str, Any] = {
            "client": self.client,
            "organization_id": self.organization_id,
            "transport": self.transport(),
        }
        options.update(overrides)
        return options

    # -- serving ------------------------------------------------------------------------------

    def _handle(self, request: HttpRequest) -> HttpReply:
        path, _, query_string = request.target.partition("?")
        query = dict(parse_qsl(query_string, keep_blank_values=True)) if query_string else {}
        host = request.headers.get("host", "")
        body: Any = None
        if request.body:
            try:
                body = json.loads(request.body)
            except ValueError:
                body = None
        fault = (
            self.faults.pick(request.method, path, _host_without_port(host))
            if self.faults
            else None
        )

        if fault is None or fault.kind == "latency" or fault.kind == "truncated":
            call = _Call(query, host, body, record_effects=fault is None or fault.kind == "latency")
            reply = self._route(request.method, path, call)
            if fault is not None:
                reply.delay = fault.delay
                if fault.kind == "truncated":
                    reply.action = "truncate"
        elif fault.kind == "status":
            if fault.body is not None:
                reply = HttpReply(
                    fault.status_code, fault.body.encode(), headers=fault.response_headers()
                )
            else:
                message = httpx.codes.get_reason_phrase(fault.status_code) or "Error"
                reply = _error_reply(fault.status_code, message, fault.response_headers())
            reply.delay = fault.delay
        elif fault.kind == "reset":
            reply = HttpReply(0, delay=fault.delay, action="reset")
        else:  # non_json
            reply = HttpReply(200, _NON_JSON_BODY, content_type="text/html", delay=fault.delay)

        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=path,
                query=query,
                headers=request.headers,
                host=host,
                body=request.body,
                json=body,
                time=time.time(),
                status=None if reply.action == "reset" else reply.status,
                fault=fault,
            )
        )
        return reply

    def _route(self, method: str, path: str, call: _Call) -> HttpReply:
        methods = self._routes.get(path)
        if methods is None:
            return _error_reply(404, f"no route for {path}")
        route = methods.get(method)
        if route is None:
            return _error_reply(
                405, f"{method} not allowed", (("Allow", ", ".join(sorted(methods))),)
            )
        return route(call)

    def _cluster_for(self, host: str) -> str:
        match = _EDGE_HOST.fullmatch(_host_without_port(host))
        return match.group(1) if match else self.cluster

    def _delivery(self, call: _Call) -> HttpReply:
        error = validate_delivery_request(call.query, call.json)
        if error is not None:
            return _error_reply(400, error)
        request: dict[str, Any] = call.json
        response = build_delivery_response(
            request, self._catalog, client=self.client, cluster=self._cluster_for(call.host)
        )
        notifications = request.get("notifications")
        if notifications and call.record_effects:
            visitor = request.get("id")
            tnt_id = visitor.get("tntId") if isinstance(visitor, Mapping) else None
            session_id = call.query["sessionId"]
            now = time.time()
            self.notifications.extend(
                RecordedNotification(
                    data=notification,
                    session_id=session_id,
                    tnt_id=tnt_id,
                    host=call.host,
                    time=now,
                )
                for notification in notifications
            )
        return _json_reply(200, response)

    def _info(self, call: _Call) -> HttpReply:
        cluster = self._cluster_for(call.host)
        return _json_reply(
            200,
            {
                "status": 200,
                "service": "target-async local edge",
                "client": self.client,
                "edgeHost": f"mboxedge{cluster}.tt.omtrdc.net",
            },
        )
