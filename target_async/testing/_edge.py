"""LocalEdge: a real HTTP server on loopback that answers like Adobe Target's edge and CDN."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

import anyio
import httpx
import sniffio

from target_async._exceptions import ClientStateError, TargetConfigError
from target_async._option_types import ClientOptions
from target_async.testing._artifact import (
    ARTIFACT_PATH,
    ArtifactSource,
    ServedArtifact,
    artifact_url,
)
from target_async.testing._delivery import (
    GLOBAL_MBOX,
    OfferCatalog,
    OffersSource,
    build_artifact_response,
    build_delivery_response,
    event_token,
    state_token,
    validate_delivery_request,
)
from target_async.testing._faults import FaultSet, RouteName
from target_async.testing._http import HttpReply, HttpRequest, HttpServer
from target_async.testing._records import RecordedNotification, RecordedRequest
from target_async.testing._transport import DEFAULT_EDGE_LIMITS, EdgeTransport

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_CLIENT",
    "DEFAULT_CLUSTER",
    "DEFAULT_ENVIRONMENT",
    "DEFAULT_GEO",
    "DEFAULT_ORGANIZATION_ID",
    "LocalEdge",
]

DEFAULT_CLIENT = "demo"
DEFAULT_ORGANIZATION_ID = "DEMO00000000000000000000@AdobeOrg"
DEFAULT_CLUSTER = "35"
DEFAULT_ENVIRONMENT = "production"
DELIVERY_PATH = "/rest/v1/delivery"
GEO_PATH = "/v1/geo"
GEO_KEYS = frozenset(
    {"x-geo-latitude", "x-geo-longitude", "x-geo-country-code", "x-geo-region-code", "x-geo-city"}
)
DEFAULT_GEO: Mapping[str, Any] = {
    "x-geo-latitude": 37.3307,
    "x-geo-longitude": -121.8940,
    "x-geo-country-code": "US",
    "x-geo-region-code": "CA",
    "x-geo-city": "SAN JOSE",
}
"""What `/v1/geo` answers for an address without an answer of its own (Adobe's San Jose office)."""
_NON_OFFERS_METHODS = frozenset({"on-device", "hybrid"})

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


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {candidate.strip().removeprefix("W/") for candidate in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def _check_geo(answer: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(answer) - GEO_KEYS
    if unknown:
        raise TargetConfigError(
            f"geo answers use the keys {sorted(GEO_KEYS)}; unknown: {sorted(unknown)}", key="geo"
        )
    return dict(answer)


class _Call:
    """One request as the routes see it."""

    __slots__ = ("headers", "host", "json", "path", "query", "record_effects")

    def __init__(
        self,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: Any,
        record_effects: bool,
    ) -> None:
        self.path = path
        self.query = query
        self.headers = headers
        self.host = headers.get("host", "")  # the Host header as sent, port included
        self.json = body
        # False when a fault spoils the answer: the client never learns the request was
        # processed, so it must not count as received (notifications retried, not doubled).
        self.record_effects = record_effects


_Route = Callable[[_Call], HttpReply]
_RouteEntry = tuple[RouteName, dict[str, _Route]]


class LocalEdge:
    """A local stand-in for Adobe Target's edge and CDN, serving over real HTTP.

    Use it in async code (the server runs in the current asyncio loop):

    ```python
    async with LocalEdge(offers={"home": [{"type": "html", "content": "HI"}]}) as edge:
        async with httpx.AsyncClient(transport=edge.transport()) as http:
            await http.post("https://demo.tt.omtrdc.net/rest/v1/delivery?...", json=...)
        assert edge.requests[0].host == "demo.tt.omtrdc.net"
    ```

    or from sync code, with the server in its own thread:

    ```python
    with LocalEdge.run_in_thread() as edge:
        ...
    ```

    To test on-device decisioning, serve an artifact and let the client download it:

    ```python
    async with LocalEdge(artifact=SAMPLE_ARTIFACT_PATH) as edge:
        options = edge.client_options(decisioning_method="on-device")
        async with AsyncTargetClient.create(options) as client:
            ...
    ```

    It answers from offers or from a rules artifact:

    - `offers`: a mapping or JSON file as described in `target_async.testing._delivery`
      (None: the bundled sample offers, `SAMPLE_OFFERS_PATH`);
    - `artifact`: a rules artifact (mapping or JSON file; `SAMPLE_ARTIFACT_PATH` is a bundled
      one). `POST /rest/v1/delivery` then decides server-side with the project's decisioning
      engine, and the artifact is served at the CDN paths
      `/{client}/{environment}/v1/[{property}/]rules.json` and `rules.bin` (obfuscated for
      `organization_id`), with `ETag` and `304`, for this edge's `client` and `environment`
      only (any property). Given too, `offers` answer the mboxes and views the artifact
      leaves to the edge (its remote ones).

    `GET /v1/geo` answers `geo` (`x-geo-*` keys, default `DEFAULT_GEO`; see `set_geo`).
    `cluster` is the edge cluster that answers requests aimed at a host without one
    (`demo.tt.omtrdc.net`); a request to `mboxedgeNN.tt.omtrdc.net` is answered by cluster
    NN, as on the real edge. `seed` seeds the fault draws.
    """

    def __init__(
        self,
        offers: OffersSource | None = None,
        *,
        artifact: ArtifactSource | None = None,
        client: str = DEFAULT_CLIENT,
        organization_id: str = DEFAULT_ORGANIZATION_ID,
        environment: str = DEFAULT_ENVIRONMENT,
        cluster: str = DEFAULT_CLUSTER,
        geo: Mapping[str, Any] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int | None = 0,
    ) -> None:
        self.client = client
        self.organization_id = organization_id
        self.environment = environment.lower()
        self.cluster = cluster
        self.requests: list[RecordedRequest] = []
        self.notifications: list[RecordedNotification] = []
        self.faults = FaultSet(seed)
        self._artifact = ServedArtifact.load(artifact) if artifact is not None else None
        self._offers_source = offers
        self._catalog = self._load_catalog()
        self._geo = _check_geo(DEFAULT_GEO if geo is None else geo)
        self._geo_by_ip: dict[str, dict[str, Any]] = {}
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._server: HttpServer | None = None
        self._state: _State = "new"
        self._routes: dict[str, _RouteEntry] = {
            DELIVERY_PATH: ("delivery", {"POST": self._delivery}),
            GEO_PATH: ("geo", {"GET": self._geo_lookup, "HEAD": self._geo_lookup}),
            "/": ("info", {"GET": self._info, "HEAD": self._info}),
        }
        self._artifact_route: _RouteEntry = (
            "artifact",
            {"GET": self._serve_artifact, "HEAD": self._serve_artifact},
        )

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
        try:
            self._port = await server.start(self._host, self._requested_port)
        except BaseException:
            self._state = "closed"
            raise
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
        artifact: ArtifactSource | None = None,
        client: str = DEFAULT_CLIENT,
        organization_id: str = DEFAULT_ORGANIZATION_ID,
        environment: str = DEFAULT_ENVIRONMENT,
        cluster: str = DEFAULT_CLUSTER,
        geo: Mapping[str, Any] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int | None = 0,
    ) -> Iterator[LocalEdge]:
        """A started edge whose server runs in its own loop in a daemon thread (for sync code)."""
        edge = cls(
            offers,
            artifact=artifact,
            client=client,
            organization_id=organization_id,
            environment=environment,
            cluster=cluster,
            geo=geo,
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
        """The offers mapping being served; assign a mapping or a JSON file path to replace it.

        Assigning None restores the default: the sample offers, or none with an artifact.
        """
        return self._catalog.source

    @offers.setter
    def offers(self, offers: OffersSource | None) -> None:
        self._offers_source = offers
        self._catalog = self._load_catalog()

    @property
    def artifact(self) -> Mapping[str, Any] | None:
        """The rules artifact being served (None: the edge answers from offers).

        Assign a mapping or a JSON file path to serve another one (a new `ETag`, so polling
        clients download it), or None to go back to offers.
        """
        return self._artifact.raw if self._artifact is not None else None

    @artifact.setter
    def artifact(self, artifact: ArtifactSource | None) -> None:
        self._artifact = ServedArtifact.load(artifact) if artifact is not None else None
        self._catalog = self._load_catalog()

    def _load_catalog(self) -> OfferCatalog:
        if self._offers_source is None and self._artifact is not None:
            return OfferCatalog({})
        return OfferCatalog.load(self._offers_source)

    def artifact_url(self, *, property_token: str | None = None, obfuscated: bool = False) -> str:
        """The CDN URL the SDK computes for this edge's client and environment (`rules.bin` if
        `obfuscated`); `edge.transport()` routes it here."""
        return artifact_url(
            self.client, self.environment, property_token=property_token, obfuscated=obfuscated
        )

    def set_geo(self, answer: Mapping[str, Any], *, ip: str | None = None) -> None:
        """What `/v1/geo` answers (the `x-geo-*` keys) for `ip`, or for every other address.

        The Delivery route uses the same answers to place a request's `context.geo.ipAddress`.
        """
        checked = _check_geo(answer)
        if ip is None:
            self._geo = checked
        else:
            self._geo_by_ip[ip] = checked

    def geo_for(self, ip: str | None) -> dict[str, Any]:
        """The geo answer for an address (None: the caller's own, i.e. the default answer)."""
        if ip is not None and ip in self._geo_by_ip:
            return dict(self._geo_by_ip[ip])
        return dict(self._geo)

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

    def client_options(self, **overrides: Unpack[ClientOptions]) -> ClientOptions:
        """Options for `AsyncTargetClient.create` that make the SDK talk to this edge.

        With `decisioning_method="on-device"` (or "hybrid") the client downloads this edge's
        artifact from the CDN URL it computes, which `transport()` routes here.
        """
        options: ClientOptions = {
            "client": self.client,
            "organization_id": self.organization_id,
            "transport": self.transport(),
        }
        if self.environment != DEFAULT_ENVIRONMENT:
            options["environment"] = self.environment
        options.update(overrides)
        method = options.get("decisioning_method")
        if (
            getattr(method, "value", method) in _NON_OFFERS_METHODS
            and self._artifact is None
            and options.get("artifact_payload") is None
            and options.get("artifact_location") is None
        ):
            raise ClientStateError(
                f"decisioning_method {getattr(method, 'value', method)!r} needs an artifact: "
                "this edge serves offers only (give it artifact=...)"
            )
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
        route = self._resolve(path)
        route_name = route[0] if route is not None else None
        fault = (
            self.faults.pick(request.method, path, _host_without_port(host), route_name)
            if self.faults
            else None
        )

        if fault is None or fault.kind == "latency" or fault.kind == "truncated":
            call = _Call(
                path,
                query,
                request.headers,
                body,
                record_effects=fault is None or fault.kind == "latency",
            )
            reply = self._route(request.method, path, route, call)
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
                route=route_name,
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

    def _resolve(self, path: str) -> _RouteEntry | None:
        route = self._routes.get(path)
        if route is None and ARTIFACT_PATH.fullmatch(path):
            route = self._artifact_route
        return route

    def _route(self, method: str, path: str, entry: _RouteEntry | None, call: _Call) -> HttpReply:
        if entry is None:
            return _error_reply(404, f"no route for {path}")
        methods = entry[1]
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
        cluster = self._cluster_for(call.host)
        served = self._artifact
        if served is None:
            response = build_delivery_response(
                request, self._catalog, client=self.client, cluster=cluster
            )
        elif served.compiled is None:
            return _error_reply(
                500, f"the local edge cannot decide from its artifact: {served.compile_error}"
            )
        else:
            response = build_artifact_response(
                request,
                served,
                served.compiled,
                self._catalog,
                client=self.client,
                cluster=cluster,
                session_id=call.query["sessionId"],
                geo=self.geo_for,
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

    def _forwarded_ip(self, call: _Call) -> str | None:
        """The client address a proxy names (the SDK sends the visitor's IP this way)."""
        first = call.headers.get("x-forwarded-for", "").split(",")[0].strip()
        return first or None

    def _geo_lookup(self, call: _Call) -> HttpReply:
        return _json_reply(200, self.geo_for(self._forwarded_ip(call)))

    def _serve_artifact(self, call: _Call) -> HttpReply:
        served = self._artifact
        if served is None:
            return _error_reply(404, "this local edge serves offers, no artifact")
        match = ARTIFACT_PATH.fullmatch(call.path)
        assert match is not None  # the route is only resolved for matching paths
        if match["client"] != self.client or match["environment"] != self.environment:
            return _error_reply(
                404,
                f"no artifact for client {match['client']!r} in environment "
                f"{match['environment']!r}; this edge serves {self.client!r} in {self.environment!r}",
            )
        if match["format"] == "bin":
            data, etag = served.obfuscated(self.organization_id)
            content_type = "application/octet-stream"
        else:
            data, etag = served.json_bytes, served.json_etag
            content_type = "application/json"
        # The CDN places the caller as the geo service does and says so in x-geo-* headers.
        geo = self.geo_for(self._forwarded_ip(call))
        headers = (("ETag", etag), *((name, str(value)) for name, value in geo.items()))
        if _etag_matches(call.headers.get("if-none-match"), etag):
            return HttpReply(304, headers=headers)
        return HttpReply(200, data, content_type=content_type, headers=headers)

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
