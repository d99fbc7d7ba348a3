"""On-device and hybrid decisioning in the client: the I/O around the pure engine.

`ArtifactProvider` loads the rules artifact (CDN URL, `artifact_location` URL or file,
`artifact_payload`) and keeps it fresh in the client's task group; `OnDeviceDecisioning`
resolves geo, decides locally and hands execute notifications and telemetry to the
client's notification pipeline. The client starts it with `start_on_device` when entered.

Readiness (`maximum_wait_ready`, ms): `async with client` waits for the first artifact at
most that long; None or -1 wait until the first load has finished, successfully or after
its retries (bounded by the retry policy and `timeout`: never forever on a dead CDN); 0
does not wait. Each download attempt, body included, must finish within `timeout`: a CDN
that trickles the body is cut off then, and not retried until the next poll.
`client_ready` is emitted when the first artifact is in use. Until an artifact is there,
on-device calls raise `ArtifactNotReadyError` (naming why, when a load failed) and hybrid
calls go to the edge.

No location-hint "ping" request is made at start: the client does not keep a learned hint
across calls (each call's hint comes from its own `mboxEdgeCluster` cookie or the config),
so the ping would cost a request at every start and change nothing.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Final, Literal

import anyio
import anyio.abc
import attrs
import httpx

from ._config import RetryPolicy, TargetConfig
from ._delivery import PreparedRequest, TargetDeliveryResponse, build_envelope
from ._events import EventEmitter
from ._exceptions import (
    ArtifactError,
    ArtifactNotReadyError,
    ClientStateError,
    DecisioningError,
    ResponseDecodingError,
)
from ._logging import redact_url
from ._notifications import NotificationPipeline
from ._options import CallOptions
from ._telemetry import TelemetryStore
from ._transport import DeliveryTransport, retry_delay
from .decisioning import (
    GEO_PATH,
    NOT_APPLICABLE,
    ArtifactInfo,
    ArtifactSource,
    CompiledArtifact,
    GeoCache,
    LocalDecision,
    artifact_source,
    artifact_telemetry_entry,
    compile_artifact,
    decide,
    geo_from_lookup,
    geo_lookup_headers,
    geo_lookup_key,
    load_artifact,
    needs_geo_lookup,
    notification_request,
    remote_dependency,
    telemetry_entry,
    with_geo,
)
from .models import DecisioningMethod

__all__ = [
    "ARTIFACT_RETRY",
    "NOT_READY_MESSAGE",
    "ArtifactProvider",
    "OnDeviceDecisioning",
    "start_on_device",
]

NOT_READY_MESSAGE: Final = "Unable to fulfill request; decisioning engine not ready."
# A failed download is retried a few times, quickly; the next poll tries again anyway.
ARTIFACT_RETRY = RetryPolicy(max_retries=4, initial_delay=0.25, max_delay=4.0)
# Without any artifact, try again sooner than the polling interval.
NOT_READY_RETRY_INTERVAL: Final = 30.0  # s
# At most one telemetry-only request per this many seconds (see `_report`).
TELEMETRY_ONLY_INTERVAL = 1.0
_ON_DEVICE: Final = DecisioningMethod.ON_DEVICE.value
# Parts of the decided request that also scope its notifications on the edge.
_REPORTED_REQUEST_KEYS: Final = ("property", "environmentId")


def _iso_now() -> str:
    """Now as JavaScript's `toISOString()` writes it (ms, `Z`)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@attrs.frozen
class _Download:
    """A fetched artifact file; `content` is None when unchanged (HTTP 304)."""

    content: bytes | None
    headers: Mapping[str, str]


class ArtifactProvider:
    """Loads the client's rules artifact and keeps the last good one.

    `run` (a background task) loads the first artifact, then refreshes it every
    `polling_interval` ms (0: never; every 30 s at most while there is no artifact yet). A
    download is retried with exponential backoff (`retry`, default `ARTIFACT_RETRY`); it
    sends `If-None-Match` and keeps the artifact on a 304. A load that fails (download, or an
    artifact that cannot be read or compiled, `artifact_payload` included) is logged and
    reported by `artifact_download_failed` with its `error`; the previous artifact stays in
    use, and until there is one `not_ready_error()` names what went wrong.
    """

    def __init__(
        self,
        config: TargetConfig,
        transport: DeliveryTransport,
        events: EventEmitter,
        telemetry: TelemetryStore,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._config = config
        self._transport = transport
        self._events = events
        self._telemetry = telemetry
        self._retry = retry or ARTIFACT_RETRY
        self.source: ArtifactSource = artifact_source(
            cdn_host=config.cdn_host,
            client=config.client,
            environment=config.environment,
            property_token=config.property_token,
            artifact_location=config.artifact_location,
        )
        self.artifact: CompiledArtifact | None = None
        self.info: ArtifactInfo | None = None
        self._etag: str | None = None
        self._retrievals = 0
        self._ready_announced = False
        self.first_load_done = anyio.Event()
        # Why the last load failed (None once one succeeded): the reason an on-device call
        # gets while there is no artifact.
        self.last_error: ArtifactError | None = None

    async def run(self) -> None:
        """Load the first artifact, then poll until cancelled."""
        try:
            if self._config.artifact_payload is not None:
                await self._install_payload(self._config.artifact_payload)
                await self._announce_ready()
            else:
                await self._refresh_in_background()
        finally:
            self.first_load_done.set()
        interval = self._config.polling_interval / 1000
        if interval <= 0:
            return
        while True:
            await anyio.sleep(
                interval if self.artifact is not None else min(interval, NOT_READY_RETRY_INTERVAL)
            )
            await self._refresh_in_background()

    async def _refresh_in_background(self) -> None:
        try:
            await self.refresh()
        except Exception:
            # A failing background task would take the client's task group (and the app) down.
            self._config.logger.exception("Artifact refresh failed unexpectedly")

    async def refresh(self) -> bool:
        """Fetch the artifact once (with retries). True when a new artifact is now in use."""
        location = self.source.location
        timestamp_ms = int(time.time() * 1000)
        started = time.perf_counter()
        try:
            download = await (self._read_file() if self.source.local else self._download())
            if download.content is None:
                return False
            fetched = time.perf_counter()
            artifact = await anyio.to_thread.run_sync(self._load, download.content)
        except Exception as exc:
            await self._failed(location, exc)
            return False
        self.last_error = None
        loaded = time.perf_counter()
        self._install(artifact, location, download.headers.get("etag"))
        self._telemetry.add(
            artifact_telemetry_entry(
                execution_ms=(loaded - started) * 1000,
                parsing_ms=(loaded - fetched) * 1000,
                timestamp_ms=timestamp_ms,
            )
        )
        await self._events.emit(
            "artifact_download_succeeded", artifact_location=location, artifact_payload=artifact.raw
        )
        await self._announce_ready()
        geo = geo_from_lookup(download.headers)
        if geo:
            await self._events.emit("geo_location_updated", geo_context=geo)
        return True

    async def _failed(self, location: str, exc: Exception) -> None:
        """A load failed: logged, kept as the reason for `not_ready_error`, and reported."""
        if isinstance(exc, ArtifactError):
            error = exc
        else:  # not expected: loading turns every failure into an ArtifactError
            error = ArtifactError(f"Loading the artifact failed unexpectedly: {exc!r}")
            error.__cause__ = exc
        self.last_error = error
        self._config.logger.error("Failed to load the artifact from %s: %s", redact_url(location), error)
        await self._events.emit("artifact_download_failed", artifact_location=location, error=error)

    def not_ready_error(self) -> ArtifactNotReadyError:
        """The error of an on-device call while there is no artifact: why, when a load failed."""
        error = self.last_error
        if error is None:
            return ArtifactNotReadyError(f"{NOT_READY_MESSAGE} The first artifact has not been loaded yet.")
        location = "artifact_payload" if self._config.artifact_payload is not None else self.source.location
        not_ready = ArtifactNotReadyError(f"{NOT_READY_MESSAGE} Loading the artifact from {redact_url(location)} failed: {error}")
        not_ready.__cause__ = error
        return not_ready

    async def _announce_ready(self) -> None:
        # An on-device client is usable once it has an artifact: `client_ready` fires then,
        # once, even when the first artifact arrives after `maximum_wait_ready` gave up.
        if self.artifact is not None and not self._ready_announced:
            self._ready_announced = True
            await self._events.emit("client_ready")

    def _load(self, content: bytes) -> CompiledArtifact:
        return load_artifact(
            content, obfuscated=self.source.obfuscated, organization_id=self._config.organization_id
        )

    async def _install_payload(self, payload: Mapping[str, Any]) -> None:
        try:
            artifact = compile_artifact(payload)
        except Exception as exc:  # ArtifactError, or anything a hostile payload raises
            await self._failed(NOT_APPLICABLE, exc)
            return
        self._install(artifact, NOT_APPLICABLE, None)

    def _install(self, artifact: CompiledArtifact, trace_location: str, etag: str | None) -> None:
        self.artifact = artifact
        self._etag = etag
        self._retrievals += 1
        self.info = ArtifactInfo(
            artifact_location=trace_location,
            polling_interval=self._config.polling_interval,
            polling_halted=self._config.polling_interval == 0,
            artifact_retrieval_count=self._retrievals,
            artifact_last_retrieved=_iso_now(),
        )

    async def _read_file(self) -> _Download:
        try:
            return _Download(await anyio.Path(self.source.location).read_bytes(), {})
        except (OSError, ValueError) as error:
            raise ArtifactError(f"Unable to read artifact file: {error}") from error

    async def _download(self) -> _Download:
        url = self.source.location
        policy = self._retry
        headers = {"If-None-Match": self._etag} if self._etag and self.artifact is not None else {}
        timeout = self._config.timeout / 1000
        attempt = 0
        while True:
            try:
                # The whole attempt, body included: httpx's read timeout restarts with each
                # chunk, so a trickling CDN would hold the first load (and `async with`) for long.
                with anyio.fail_after(timeout):
                    response, content = await self._transport.get_limited(url, headers=headers, read_timeout=timeout)
            except TimeoutError as error:
                raise ArtifactError(
                    f"Unable to retrieve artifact: the download took longer than the timeout of "
                    f"{self._config.timeout:.0f} ms"
                ) from error
            except (httpx.InvalidURL, ResponseDecodingError) as error:
                # Too large, or not as encoded: asking again would get the same.
                raise ArtifactError(f"Unable to retrieve artifact: {error}") from error
            except httpx.HTTPError as error:
                problem = repr(error)
            else:
                if response.status_code == 304:
                    return _Download(None, response.headers)
                if response.status_code == 200:
                    return _Download(content, response.headers)
                problem = f"HTTP {response.status_code}"
                if response.status_code not in policy.retry_statuses:
                    raise ArtifactError(f"Unable to retrieve artifact: {problem}")
            if attempt >= policy.max_retries:
                raise ArtifactError(
                    f"Unable to retrieve artifact after {attempt + 1} attempts: {problem}"
                )
            delay = retry_delay(policy, attempt)
            self._config.logger.debug(
                "Retrying artifact download after %s in %.3f s", problem, delay
            )
            attempt += 1
            await anyio.sleep(delay)


def _local_telemetry_entry(
    request: Mapping[str, Any],
    response: Mapping[str, Any],
    execution_ms: float,
    parsing_ms: float,
    timestamp_ms: int,
) -> dict[str, Any]:
    """The telemetry entry of one local decision (positional, for a cheap `functools.partial`)."""
    return telemetry_entry(
        request,
        response,
        decisioning_method=_ON_DEVICE,
        execution_ms=execution_ms,
        parsing_ms=parsing_ms,
        timestamp_ms=timestamp_ms,
    )


class OnDeviceDecisioning:
    """The client's on-device side: its artifact provider, geo lookups and local decisions."""

    def __init__(
        self,
        config: TargetConfig,
        transport: DeliveryTransport,
        events: EventEmitter,
        telemetry: TelemetryStore,
        notifications: NotificationPipeline,
        task_group: anyio.abc.TaskGroup,
    ) -> None:
        self._config = config
        self._transport = transport
        self._events = events
        self._telemetry = telemetry
        self._notifications = notifications
        self._task_group = task_group
        self.provider = ArtifactProvider(config, transport, events, telemetry)
        self._geo_cache = GeoCache()
        self._telemetry_sent_at = -math.inf

    async def start(self) -> None:
        """Start the provider and wait for the first artifact as `maximum_wait_ready` says."""
        self._task_group.start_soon(self.provider.run, name="target-async artifact provider")
        wait_ms = self._config.maximum_wait_ready
        if wait_ms is None or wait_ms < 0:
            await self.provider.first_load_done.wait()
        elif wait_ms > 0:
            with anyio.move_on_after(wait_ms / 1000):
                await self.provider.first_load_done.wait()

    def decide_now(
        self, prepared: PreparedRequest, method: DecisioningMethod
    ) -> TargetDeliveryResponse | Literal["geo lookup"] | None:
        """Decide a prepared request locally, without waiting (a plain call: no await on the
        hot path). None when it must go to the edge instead (hybrid); "geo lookup" when its
        IP address must be located first (then call `decide_after_geo_lookup`).

        Raises `ArtifactNotReadyError` for an on-device call before the first artifact.
        """
        artifact = self.provider.artifact
        if artifact is None:
            if method is DecisioningMethod.HYBRID:
                return None
            raise self.provider.not_ready_error()
        started = time.perf_counter()
        request = prepared.body
        try:
            if method is DecisioningMethod.HYBRID:
                mboxes, views = remote_dependency(artifact, request)
                if mboxes or views:
                    return None
            if needs_geo_lookup(artifact, request):
                return "geo lookup"
        except Exception as exc:
            raise self._decision_failed(exc) from exc
        return self._decide(artifact, prepared, started)

    async def decide_after_geo_lookup(self, call: CallOptions, prepared: PreparedRequest) -> TargetDeliveryResponse:
        """`decide_now` for a request that needs its geo first; decides without it when the
        lookup fails or takes longer than the call's timeout."""
        artifact = self.provider.artifact
        assert artifact is not None  # `decide_now` saw it, and an artifact is never unloaded
        started = time.perf_counter()
        geo = await self._lookup_geo(prepared.body, call.timeout or self._config.timeout)
        if geo:
            prepared = attrs.evolve(prepared, body=with_geo(prepared.body, geo))
        return self._decide(artifact, prepared, started)

    def _decide(self, artifact: CompiledArtifact, prepared: PreparedRequest, started: float) -> TargetDeliveryResponse:
        request = prepared.body
        now_ms = int(time.time() * 1000)
        parsed = time.perf_counter()
        try:
            decision = decide(
                artifact,
                request,
                client=self._config.client,
                session_id=prepared.session_id,
                location_hint=prepared.cluster,
                now_ms=now_ms,
                artifact_info=self.provider.info,
            )
        except Exception as exc:
            raise self._decision_failed(exc) from exc
        if self._telemetry.enabled:
            # Built when it is sent (the SDK changes neither the request nor the response after this).
            self._telemetry.add(
                functools.partial(
                    _local_telemetry_entry,
                    request,
                    decision.response,
                    (time.perf_counter() - parsed) * 1000,
                    (parsed - started) * 1000,
                    now_ms,
                )
            )
        self._report(prepared, decision)
        return build_envelope(
            prepared,
            decision.response,
            decisioning_method=DecisioningMethod.ON_DEVICE,
            remote_mboxes=decision.remote_mboxes,
            remote_views=decision.remote_views,
        )

    def _decision_failed(self, exc: Exception) -> DecisioningError:
        # Not expected (the artifact was checked when it was compiled): a typed error all the
        # same, so the documented `except TargetError` fallback catches it.
        self._config.logger.error("On-device decision failed unexpectedly: %r", exc)
        return DecisioningError(f"On-device decision failed: {exc!r}")

    def _report(self, decided: PreparedRequest, decision: LocalDecision) -> None:
        """Queue the execute notifications and the pending telemetry for the background sender.

        Telemetry rides along with notifications; without any, a telemetry-only request goes
        out at most every `TELEMETRY_ONLY_INTERVAL` (the entries of the calls in between wait
        in the store for the next request to the edge), so a busy client does not fill the
        notification queue with one request per call.
        """
        telemetry = self._telemetry
        if decision.notifications:
            # The pipeline attaches the waiting telemetry entries when it sends this.
            entries = []
        else:
            now = time.monotonic()
            if not telemetry or now - self._telemetry_sent_at < TELEMETRY_ONLY_INTERVAL:
                return
            self._telemetry_sent_at = now
            entries = telemetry.drain()
        # The decision is dropped after this: its notifications need no copies.
        payload = notification_request(decided.body, decision, telemetry_entries=entries, copy=False)
        if payload is None:
            return
        body: dict[str, Any] = payload["request"]
        for key in _REPORTED_REQUEST_KEYS:
            if key in decided.body:
                body[key] = decided.body[key]
        try:
            # The pipeline gives it its request id (the one default it lacks) when it is sent.
            self._notifications.submit(body, decided.session_id, decided.cluster)
        except ClientStateError as error:  # a call racing with aclose()
            self._config.logger.warning("On-device notifications not sent: %s", error)

    async def _lookup_geo(
        self, request: Mapping[str, Any], timeout_ms: float
    ) -> dict[str, Any] | None:
        """The geo of the request's IP address from the geo service; None when it cannot say
        within `timeout_ms` (the decision is then made without geo)."""
        address = geo_lookup_key(request)
        if address is None:
            return None
        cached = self._geo_cache.get(address, time.monotonic())
        if cached is not None:
            return cached
        url = self._config.cdn_host + GEO_PATH
        timeout = timeout_ms / 1000
        try:
            with anyio.fail_after(timeout):
                response, content = await self._transport.get_limited(
                    url, headers=geo_lookup_headers(address), read_timeout=timeout
                )
            response.raise_for_status()
            body = json.loads(content)
        except (httpx.HTTPError, TimeoutError, ValueError, RecursionError, ResponseDecodingError) as error:
            # RecursionError: an answer nested too deeply to decode.
            self._config.logger.warning("Geo lookup failed, deciding without geo: %r", error)
            return None
        if not isinstance(body, Mapping):
            self._config.logger.warning("Geo lookup answered %r, deciding without geo", body)
            return None
        geo = geo_from_lookup(body)
        self._geo_cache.put(address, geo, time.monotonic())
        await self._events.emit("geo_location_updated", geo_context=geo)
        return geo


async def start_on_device(
    config: TargetConfig,
    transport: DeliveryTransport,
    events: EventEmitter,
    telemetry: TelemetryStore,
    notifications: NotificationPipeline,
    task_group: anyio.abc.TaskGroup,
) -> OnDeviceDecisioning | None:
    """Start on-device decisioning for an on-device or hybrid client (None for server-side)."""
    if config.decisioning_method is DecisioningMethod.SERVER_SIDE:
        return None
    on_device = OnDeviceDecisioning(config, transport, events, telemetry, notifications, task_group)
    await on_device.start()
    return on_device
