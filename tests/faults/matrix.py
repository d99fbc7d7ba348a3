"""The fault matrix: every fault of the edge, the CDN or the geo service, met on every request
path of the SDK, with the outcome each path documents.

`run_case` opens a client against a stage of its own (the local edge, or the raw loopback
server for the faults written byte by byte), injects one fault on the route the path uses, runs the
path once under a generous time bound, clears the fault and runs the path again, which
must then succeed on the same client. It returns the outcome, one of:

- the name of the `TargetError` subclass a call raised;
- "reported": an enqueued notification (or an on-device call's notification and telemetry)
  was given up on, counted as failed and reported by `send_notification_error`;
- "delivered": the notification went out anyway (a retry got through);
- "refused": the artifact was not used (`artifact_download_failed`), on-device calls raise
  `ArtifactNotReadyError` and hybrid calls go to the edge;
- "without geo": the on-device call was decided without the geo lookup's answer;
- "fields dropped": the geo lookup's answer was used without its fields of the wrong type;
- "ok": the path succeeded as if there had been no fault.

`docs/reliability.md` shows the table `benchmarks/chaos.py` builds with it.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import anyio
import attrs
import httpx
from loopback import RawFault, RawKind, RawServer, prepare_bodies, raw_server

from target_async import (
    ArtifactNotReadyError,
    AsyncTargetClient,
    TargetError,
    TargetEvent,
)
from target_async._config import RetryPolicy
from target_async.testing import DEFAULT_ORGANIZATION_ID, SAMPLE_ARTIFACT_PATH, Fault, LocalEdge

__all__ = [
    "FAULTS",
    "OPEN_CELLS",
    "PATHS",
    "TRANSPORTS",
    "Case",
    "FaultSpec",
    "cases_of",
    "expected_outcomes",
    "run_case",
    "run_cases",
]

Route = Literal["delivery", "artifact", "geo"]
Path = Literal[
    "get_offers", "get_attributes", "send_notifications", "enqueue_notifications", "telemetry", "artifact", "geo"
]
PATHS: tuple[Path, ...] = (
    "get_offers",
    "get_attributes",
    "send_notifications",
    "enqueue_notifications",
    "telemetry",
    "artifact",
    "geo",
)
_ROUTE_OF: dict[Path, Route] = {
    "get_offers": "delivery",
    "get_attributes": "delivery",
    "send_notifications": "delivery",
    "enqueue_notifications": "delivery",
    "telemetry": "delivery",
    "artifact": "artifact",
    "geo": "geo",
}
# Each bound is generous: it only tells a hang from a slow answer.
BOUND_S = 10.0
TIMEOUT_MS = 2000
# The runs without a fault: a cold client on a busy machine must not time out.
GOOD_TIMEOUT_MS = 5000
_FAST_RETRY = {"max_retries": 1, "initial_delay": 0.01, "max_delay": 0.05, "max_retry_after": 0.1}


@attrs.frozen
class FaultSpec:
    """One fault: on the local edge (`local`, a `Fault` for the route) or on the raw server."""

    name: str
    local: Callable[[Route], Fault] | None = None
    raw: RawKind | None = None


FAULTS: tuple[FaultSpec, ...] = (
    FaultSpec("HTTP 400", local=lambda route: Fault(kind="status", status_code=400, route=route)),
    FaultSpec("HTTP 404", local=lambda route: Fault(kind="status", status_code=404, route=route)),
    FaultSpec(
        "HTTP 429, Retry-After 3600",
        local=lambda route: Fault(kind="status", status_code=429, retry_after=3600, route=route),
    ),
    FaultSpec(
        "HTTP 503, Retry-After 1",
        local=lambda route: Fault(kind="status", status_code=503, retry_after=1, route=route),
    ),
    FaultSpec("HTTP 500", local=lambda route: Fault(kind="status", status_code=500, route=route)),
    FaultSpec("stall (5 s)", local=lambda route: Fault(kind="latency", delay=5.0, route=route)),
    FaultSpec("connection reset", local=lambda route: Fault(kind="reset", route=route)),
    FaultSpec("HTML instead of JSON", local=lambda route: Fault(kind="non_json", route=route)),
    FaultSpec("truncated body", local=lambda route: Fault(kind="truncated", route=route)),
    FaultSpec("closed before answering", raw="close"),
    FaultSpec("empty 200", raw="empty"),
    FaultSpec("JSON array, not object", raw="non_object"),
    FaultSpec("slow drip (a byte per 50 ms)", raw="drip"),
    FaultSpec("gzip header, body not gzip", raw="bad_gzip"),
    FaultSpec("gzip bomb (100 MB inflated)", raw="gzip_bomb"),
    FaultSpec("JSON nested 100,000 deep", raw="deep"),
    FaultSpec("fields of the wrong types", raw="wrong_types"),
    FaultSpec("body over 16 MiB", raw="huge"),
)


@attrs.frozen
class Case:
    fault: FaultSpec
    path: Path
    transport: Literal["default", "httpx"]

    @property
    def id(self) -> str:
        return f"{self.fault.name} / {self.path} / {self.transport}"


TRANSPORTS = ("default", "httpx")
# Cells not run (none today): a cell that fails on main waits here, named, for its fix.
OPEN_CELLS: frozenset[tuple[str | None, str, str]] = frozenset()


def cases_of(fault: FaultSpec) -> list[Case]:
    """The cases of one fault: every path on both transports, but the open cells."""
    return [
        Case(fault, path, transport)
        for path, transport in itertools.product(PATHS, TRANSPORTS)
        if (fault.raw, path, transport) not in OPEN_CELLS
    ]

# What each path may answer to a fault. A call raises a typed error; the background paths
# report (or deliver after a retry); the artifact is refused; the geo lookup is done without.
_CALL_ERRORS: Mapping[str, frozenset[str]] = {
    "HTTP 400": frozenset({"BadRequestError"}),
    "HTTP 404": frozenset({"NotFoundError"}),
    "HTTP 429, Retry-After 3600": frozenset({"RateLimitError"}),
    "HTTP 503, Retry-After 1": frozenset({"ServerError"}),
    "HTTP 500": frozenset({"ServerError"}),
    "stall (5 s)": frozenset({"TargetTimeoutError"}),
    "slow drip (a byte per 50 ms)": frozenset({"TargetTimeoutError"}),
    "connection reset": frozenset({"TargetConnectionError"}),
    "closed before answering": frozenset({"TargetConnectionError"}),
    "truncated body": frozenset({"TargetConnectionError", "ResponseDecodingError"}),
}


def expected_outcomes(case: Case) -> frozenset[str]:
    """The outcomes the SDK documents for a case."""
    path = case.path
    if path in ("get_offers", "get_attributes", "send_notifications"):
        return _CALL_ERRORS.get(case.fault.name, frozenset({"ResponseDecodingError"}))
    if path in ("enqueue_notifications", "telemetry"):
        return frozenset({"reported", "delivered"})
    if path == "artifact":
        return frozenset({"refused"})
    if case.fault.raw == "wrong_types":
        return frozenset({"fields dropped"})
    return frozenset({"without geo"})


class _Stage:
    """Where a case's faults are injected: the local edge or the raw server."""

    def __init__(self, edge: LocalEdge | RawServer) -> None:
        self.edge = edge

    @property
    def port(self) -> int:
        return self.edge.port

    def inject(self, fault: FaultSpec, route: Route) -> None:
        if isinstance(self.edge, LocalEdge):
            assert fault.local is not None
            self.edge.faults.add(fault.local(route))
        else:
            assert fault.raw is not None
            self.edge.fault = RawFault(fault.raw, route)

    def clear(self) -> None:
        if isinstance(self.edge, LocalEdge):
            self.edge.faults.clear()
        else:
            self.edge.fault = None


class _Events:
    def __init__(self) -> None:
        self.seen: list[TargetEvent] = []

    def handlers(self) -> dict[str, Callable[[TargetEvent], None]]:
        names = ("send_notification_error", "artifact_download_failed", "geo_location_updated", "client_ready")
        return dict.fromkeys(names, self.seen.append)

    def of(self, name: str) -> list[TargetEvent]:
        return [event for event in self.seen if event.type == name]


def client_options(port: int, transport: str, events: _Events, **overrides: Any) -> dict[str, Any]:
    """A client of the stage on `port`: short timeouts and quick, short retries."""
    options: dict[str, Any] = {
        "client": "demo",
        "organization_id": DEFAULT_ORGANIZATION_ID,
        "server_domain": f"127.0.0.1:{port}",
        "secure": False,
        "cdn_base_path": f"http://127.0.0.1:{port}",
        "timeout": TIMEOUT_MS,
        "retry": RetryPolicy(**_FAST_RETRY),
        "notification_retry": RetryPolicy(**_FAST_RETRY, retry_statuses=[408, 429, *range(500, 600)]),
        "shutdown_timeout": 1000,
        "events": events.handlers(),
    }
    if transport == "httpx":
        # A transport of the user's: the httpx route instead of the default (aiohttp) one.
        options["transport"] = httpx.AsyncHTTPTransport()
    options.update(overrides)
    return options


_SERVER_REQUEST = {"execute": {"mboxes": [{"name": "hero-banner", "index": 1}]}}
_NOTIFICATION = {"id": "n", "type": "display", "timestamp": 1_700_000_000_000, "mbox": {"name": "hero-banner"}}
_addresses = itertools.count(1)
_GEO_FIELDS = {"latitude", "longitude", "countryCode", "stateCode", "city"}


def _geo_request() -> dict[str, Any]:
    # A new address every time: the client caches each address's answer.
    number = next(_addresses)
    address = f"198.51.{number // 250 % 250}.{number % 250 + 1}"
    return {
        "context": {"channel": "web", "geo": {"ipAddress": address}},
        "execute": {"mboxes": [{"name": "checkout-promo", "index": 1}]},
    }


async def _call(client: AsyncTargetClient, path: Path, timeout_ms: float | None) -> str:
    """Run a call path once: "ok", or the name of the typed error it raised."""
    try:
        if path == "get_offers":
            await client.get_offers(request=_SERVER_REQUEST, timeout=timeout_ms)
        elif path == "get_attributes":
            await client.get_attributes(["hero-banner"], timeout=timeout_ms)
        else:
            await client.send_notifications(request={"notifications": [_NOTIFICATION]}, timeout=timeout_ms)
    except TargetError as error:
        return type(error).__name__
    return "ok"


async def _notify(client: AsyncTargetClient, path: Path, events: _Events, timeout_ms: float | None) -> str:
    """Run a background path once and wait for it: "delivered" or "reported"."""
    before = client.notification_stats
    reported_before = len(events.of("send_notification_error"))
    if path == "enqueue_notifications":
        assert client.enqueue_notifications(request={"notifications": [_NOTIFICATION]}, timeout=timeout_ms)
    else:  # an on-device decision: its display notification and the telemetry go out in the background
        result = await client.get_offers(request=_SERVER_REQUEST, timeout=timeout_ms)
        assert result.meta.decisioning_method == "on-device"
    delivered = await client.flush()
    stats = client.notification_stats
    if delivered:
        assert stats.sent > before.sent
        return "delivered"
    # Nothing is lost silently: what was not sent is counted and reported, with a typed error.
    assert stats.failed > before.failed and stats.pending == 0
    reports = events.of("send_notification_error")[reported_before:]
    assert reports and all(isinstance(event.payload["error"], TargetError) for event in reports)
    return "reported"


async def _geo(client: AsyncTargetClient, events: _Events, timeout_ms: float | None) -> str:
    updated_before = len(events.of("geo_location_updated"))
    result = await client.get_offers(request=_geo_request(), timeout=timeout_ms)
    assert result.meta.decisioning_method == "on-device"
    updates = events.of("geo_location_updated")[updated_before:]
    if not updates:
        return "without geo"
    return "ok" if set(updates[-1].payload["geo_context"]) >= _GEO_FIELDS else "fields dropped"


async def _artifact_case(stage: _Stage, case: Case, events: _Events) -> str:
    stage.inject(case.fault, "artifact")
    options = client_options(stage.port, case.transport, events, decisioning_method="hybrid")
    async with AsyncTargetClient.create(options) as client:
        # Refused: nothing ready, on-device calls say so, hybrid calls go to the edge.
        assert not events.of("client_ready")
        failures = events.of("artifact_download_failed")
        assert failures and isinstance(failures[-1].payload["error"], TargetError)
        try:
            await client.get_offers(request=_SERVER_REQUEST, decisioning_method="on-device")
        except ArtifactNotReadyError:
            pass
        else:
            raise AssertionError("an on-device call without an artifact must raise ArtifactNotReadyError")
        remote = await client.get_offers(request=_SERVER_REQUEST, timeout=GOOD_TIMEOUT_MS)
        assert remote.meta.decisioning_method == "server-side"
        # The same client takes the artifact once the CDN behaves (the next poll would).
        stage.clear()
        on_device = client._on_device
        assert on_device is not None
        assert await on_device.provider.refresh()
        local = await client.get_offers(request=_SERVER_REQUEST)
        assert local.meta.decisioning_method == "on-device"
    return "refused"


async def run_case(case: Case) -> str:
    """Run one case of the matrix (see the module's doc) against a stage of its own and
    return its outcome."""
    events = _Events()
    async with contextlib.AsyncExitStack() as stack:
        if case.fault.local is not None:
            edge: LocalEdge | RawServer = await stack.enter_async_context(LocalEdge(artifact=SAMPLE_ARTIFACT_PATH))
        else:
            edge = await stack.enter_async_context(raw_server())
        stage = _Stage(edge)
        with anyio.fail_after(BOUND_S):
            if case.path == "artifact":
                return await _artifact_case(stage, case, events)
            on_device = case.path in ("telemetry", "geo")
            options = client_options(
                stage.port, case.transport, events, decisioning_method="on-device" if on_device else "server-side"
            )
            async with AsyncTargetClient.create(options) as client:
                # A first good run opens the client's connection pool, so the fault meets a warm client.
                await _run_path(client, case.path, events, good=True)
                stage.inject(case.fault, _ROUTE_OF[case.path])
                try:
                    outcome = await _run_path(client, case.path, events)
                finally:
                    stage.clear()
                # The same client works once the fault is gone.
                await _run_path(client, case.path, events, good=True)
            return outcome


async def run_cases(cases: Iterable[Case]) -> dict[Case, str]:
    """Run cases side by side (each with its own stage); a case that fails its own checks
    gets the failure as its outcome."""
    outcomes: dict[Case, str] = {}

    async def run(case: Case) -> None:
        try:
            outcomes[case] = await run_case(case)
        except Exception as error:  # reported per case, with the others
            outcomes[case] = f"failed: {error!r}"

    # Built before the cases start: building them would hold up every case's event loop.
    await anyio.to_thread.run_sync(prepare_bodies, {case.fault.raw for case in cases})
    async with anyio.create_task_group() as task_group:
        for case in cases:
            task_group.start_soon(run, case)
    return outcomes


async def _run_path(client: AsyncTargetClient, path: Path, events: _Events, *, good: bool = False) -> str:
    """Run a path once; `good`: without a fault, so it must succeed (with time to spare)."""
    timeout_ms = GOOD_TIMEOUT_MS if good else None
    if path == "geo":
        outcome = await _geo(client, events, timeout_ms)
    elif path in ("enqueue_notifications", "telemetry"):
        outcome = await _notify(client, path, events, timeout_ms)
    else:
        outcome = await _call(client, path, timeout_ms)
    assert not good or outcome in ("ok", "delivered"), f"{path} without a fault: {outcome}"
    return outcome
