"""Fire-and-forget notifications: a bounded background pipeline inside the client.

`AsyncTargetClient.enqueue_notifications` validates a request synchronously, exactly as
`send_notifications` does, and hands the request body to `NotificationPipeline.submit`,
which only appends it to a list and wakes the dispatcher. Nothing else happens on the
caller's path: the dispatcher files each request under its visitor and works out its
request defaults that cannot fail (request id, context, ...) and its edge host.

The dispatcher runs in the client's task group. Whenever one of the
`notification_concurrency` send slots is free, it takes the visitor group that has waited
longest and coalesces its waiting requests into one Delivery request (up to
`notification_batch_size` notifications). Requests share a batch only when they have the
same session id and edge host and the same request apart from their notifications, so
one Delivery request never mixes visitors, contexts or properties. Telemetry entries
waiting in the client's `TelemetryStore` ride along.

Retries: connection errors, timeouts and the `notification_retry` statuses (408, 429,
5xx by default) are retried with exponential backoff and jitter, `Retry-After` honoured as
a floor up to the policy's cap; other answers are final. A batch releases its send slot
while it backs off, and every notification counts against the queue bound until it is
sent or given up on, so memory stays bounded however long the edge is down.

`aclose()` stops accepting, lets the queue drain for `shutdown_timeout` ms, then cancels
what is left, counts it as failed and logs how many notifications were not delivered.

Isolation: nothing one request holds can stop the dispatcher. A request the pipeline cannot
file, complete or encode as JSON (which `enqueue_notifications` validation should already
have refused) is given up on alone: counted as failed, logged without its content, and
reported by `send_notification_error`; the other requests of its batch go out.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Literal

import anyio
import attrs

from . import _serde
from ._config import TargetConfig
from ._delivery import apply_request_defaults, edge_route, new_uuid4
from ._events import EventEmitter
from ._exceptions import (
    ClientStateError,
    ResponseDecodingError,
    TargetConnectionError,
    TargetError,
    TargetRequestError,
    TargetTimeoutError,
    TargetValidationError,
    status_error,
)
from ._telemetry import TelemetryStore
from ._transport import DELIVERY_PATH, DeliveryTransport, parse_retry_after, retry_delay

if TYPE_CHECKING:
    # Types only: anyio.abc loads typing_extensions, which first use does not need.
    import anyio.abc

__all__ = ["NotificationPipeline", "NotificationStats"]

SEND_ERROR_EVENT = "send_notification_error"
# A full queue logs one WARNING per interval (with the count), not one per dropped item.
_DROP_WARNING_INTERVAL = 10.0  # s
# The parts of a body that belong to one enqueued request. Everything else (visitor ids,
# customer ids, context, property, experienceCloud, ...) must be equal to share a batch.
_PER_REQUEST_KEYS = frozenset({"notifications", "requestId", "telemetry"})
_State = Literal["new", "running", "closing", "closed"]
_NO_FIELDS: dict[str, Any] = {}  # read-only stand-in for an absent object (saves allocating one)


@attrs.frozen
class NotificationStats:
    """What the notification pipeline has done so far. Counts notifications, except `requests`."""

    enqueued: int
    """Accepted by `enqueue_notifications` (or an on-device decision)."""
    sent: int
    """Acknowledged by the edge."""
    retried: int
    """Sent again after a retryable failure (once per retry)."""
    dropped: int
    """Refused because the queue was full."""
    failed: int
    """Given up on: a final error, retries exhausted, or still queued when the shutdown deadline passed."""
    pending: int
    """Queued, in flight or backing off right now."""
    requests: int
    """Delivery requests made (coalescing makes this lower than `sent`)."""


class _Generation:
    """The requests submitted between two `flush()` calls."""

    __slots__ = ("done", "failed", "pending")

    def __init__(self) -> None:
        self.pending = 0
        self.failed = 0
        self.done: anyio.Event | None = None  # created by the flush that waits for it


class _Item:
    """One submitted request."""

    __slots__ = ("body", "count", "generation", "location_hint", "session_id", "timeout")

    def __init__(
        self,
        body: dict[str, Any],
        session_id: str,
        location_hint: str | None,
        count: int,
        timeout: float | None,
        generation: _Generation,
    ) -> None:
        self.body = body
        self.session_id = session_id
        self.location_hint = location_hint
        self.count = count
        self.timeout = timeout
        self.generation = generation


# `submit`'s arguments: body, session id, location hint, notification count, timeout, generation.
_Submitted = tuple[dict[str, Any], str, str | None, int, float | None, _Generation]


class _Batch:
    """Requests going out as one Delivery request (to one edge host)."""

    __slots__ = ("count", "host", "items", "last_error")

    def __init__(self, items: list[_Item], host: str) -> None:
        self.items = items
        self.host = host
        self.count = sum(item.count for item in items)
        self.last_error: TargetError | None = None


class _NothingToSend(Exception):
    """Every request of a batch was given up on while it was being encoded."""


@attrs.frozen
class _Failure:
    error: TargetError
    retryable: bool
    retry_after: float | None = None


def _same_envelope(first: dict[str, Any], other: dict[str, Any]) -> bool:
    keys = first.keys() - _PER_REQUEST_KEYS
    return keys == other.keys() - _PER_REQUEST_KEYS and all(first[key] == other[key] for key in keys)


class NotificationPipeline:
    """The client's background notification sender (see the module docstring).

    `submit` is the one entry point: `enqueue_notifications` uses it, and so does
    on-device decisioning for its `execute` notifications and telemetry.
    """

    def __init__(
        self,
        config: TargetConfig,
        transport: DeliveryTransport,
        telemetry: TelemetryStore,
        events: EventEmitter,
    ) -> None:
        self._config = config
        self._transport = transport
        self._telemetry = telemetry
        self._events = events
        self._logger = config.logger.getChild("notifications")
        self._capacity = config.notification_queue_size
        self._batch_size = config.notification_batch_size
        self._retry = config.notification_retry
        self._params = {"imsOrgId": config.organization_id}
        if config.version:
            self._params["version"] = config.version
        self._state: _State = "new"
        # What `submit` took since the dispatcher last looked, in order.
        self._submitted: list[_Submitted] = []
        # Requests waiting to be sent, by visitor; dict order is the order groups go out.
        self._groups: dict[tuple[Any, ...], list[_Item]] = {}
        self._in_flight: set[_Batch] = set()
        self._queued = 0  # weight of everything not yet settled, in flight included
        self._generation = _Generation()
        self._unsettled: list[_Generation] = []
        self._wakeup: anyio.Event | None = None
        self._scope: anyio.CancelScope | None = None
        self._finished: anyio.Event | None = None
        self._dropped_since_warning = 0
        self._last_drop_warning = -_DROP_WARNING_INTERVAL
        # Requests given up on by the dispatcher's synchronous steps, waiting to be reported.
        self._rejected: list[tuple[_Batch, TargetError]] = []
        self._enqueued = self._sent = self._retried = self._dropped = self._failed = self._requests = 0

    @property
    def stats(self) -> NotificationStats:
        return NotificationStats(
            enqueued=self._enqueued,
            sent=self._sent,
            retried=self._retried,
            dropped=self._dropped,
            failed=self._failed,
            pending=self._enqueued - self._sent - self._failed,
            requests=self._requests,
        )

    # -- the caller's side -------------------------------------------------------------

    def submit(
        self, body: dict[str, Any], session_id: str, location_hint: str | None = None, timeout: float | None = None
    ) -> bool:
        """Queue a validated notifications request (and/or telemetry) for background sending.

        `body` and `session_id` as `validate_request` gives them; the pipeline takes `body`
        over: it applies `apply_request_defaults` to it and attaches the waiting telemetry
        when it sends it, to the edge `edge_route` picks with `location_hint`.

        `timeout`: ms per delivery attempt (default: the client's `timeout`). Returns False
        when the queue is full and the request was dropped (counted, WARNING logged).
        Must be called on the event loop thread; raises `ClientStateError` unless the
        pipeline is running (the client was entered with `async with` and not closed).
        """
        if self._state != "running":
            raise ClientStateError(
                "Background notifications need an open client: use `async with AsyncTargetClient.create(...)`"
                if self._state == "new"
                else "The client is closed; create a new one"
            )
        count = len(body.get("notifications") or ())
        # A telemetry-only request has no notification but still takes room in the queue.
        weight = count or 1
        if self._queued + weight > self._capacity:
            self._drop(count)
            return False
        # Filed under its visitor by the dispatcher (`_file_submitted`), off the caller's path.
        self._submitted.append((body, session_id, location_hint, count, timeout, self._generation))
        self._queued += weight
        self._enqueued += count
        self._generation.pending += 1
        if self._wakeup is not None:
            self._wake()
        return True

    def _drop(self, count: int) -> None:
        self._dropped += count
        self._generation.failed += 1
        self._dropped_since_warning += count
        now = time.monotonic()
        if now - self._last_drop_warning >= _DROP_WARNING_INTERVAL:
            self._logger.warning(
                "Notification queue full (notification_queue_size=%d): dropped %d notifications "
                "(logged at most every %d s; notification_stats.dropped counts them all)",
                self._capacity,
                self._dropped_since_warning,
                _DROP_WARNING_INTERVAL,
            )
            self._last_drop_warning = now
            self._dropped_since_warning = 0

    async def flush(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 - the public API takes ms like every other timeout
        """Wait until everything submitted so far is sent or given up on.

        `timeout` in ms (None: no limit). True when all of it was delivered; False when
        some of it failed or was dropped, or when the timeout passed first. A failure is
        reported by the flush that waits for it (later flushes don't repeat it).
        """
        sealed = self._generation
        self._generation = _Generation()
        waiting = [*self._unsettled, sealed]
        self._unsettled = waiting
        with anyio.move_on_after(None if timeout is None else timeout / 1000):
            for generation in waiting:
                if generation.pending:
                    if generation.done is None:
                        generation.done = anyio.Event()
                    await generation.done.wait()
        self._unsettled = [g for g in self._unsettled if g.pending]
        return all(g.pending == 0 and g.failed == 0 for g in waiting)

    # -- lifecycle ---------------------------------------------------------------------

    async def run(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        """The dispatcher; start it with `await task_group.start(pipeline.run)`.

        It returns once `aclose()` began and the queue is empty, or when `aclose()` cancels
        it at the shutdown deadline. Shielded: when the task hosting the client is cancelled
        (an app shutting down), the queue must still drain while `aclose()` waits for it.
        `task_status` has no default: `anyio.TASK_STATUS_IGNORED` would load anyio.abc at import.
        """
        slots = anyio.Semaphore(self._config.notification_concurrency)
        self._finished = anyio.Event()
        try:
            with anyio.CancelScope(shield=True) as self._scope:
                async with anyio.create_task_group() as task_group:
                    self._state = "running"
                    task_status.started()
                    await self._dispatch(task_group, slots)
        finally:
            self._finished.set()

    async def aclose(self) -> None:
        """Stop accepting, drain within `shutdown_timeout`, then give up on the rest. Idempotent."""
        if self._state != "running":
            self._state = "closed"
            return
        self._state = "closing"
        self._wake()
        finished, scope = self._finished, self._scope
        assert finished is not None and scope is not None
        deadline_ms = self._config.shutdown_timeout
        # Shielded: closing inside a cancelled task (a lifespan being torn down) still drains.
        with anyio.CancelScope(shield=True):
            with anyio.move_on_after(deadline_ms / 1000):
                await finished.wait()
            if not finished.is_set():
                scope.cancel()
                await finished.wait()
            self._state = "closed"
            await self._give_up_on_remaining(deadline_ms)

    async def _give_up_on_remaining(self, deadline_ms: float) -> None:
        self._file_submitted()
        rejected, self._rejected = self._rejected, []
        leftovers: list[tuple[_Batch, TargetError | None]] = [
            (_Batch(group, ""), None) for group in self._groups.values()
        ]
        leftovers += [(batch, batch.last_error) for batch in self._in_flight]
        self._groups.clear()
        self._in_flight.clear()
        lost = sum(batch.count for batch, _ in leftovers)
        for batch, _ in leftovers:
            self._settle(batch, delivered=False)
        stats = self.stats
        if lost:
            self._logger.warning(
                "%d notifications were not delivered: still queued or in flight when the "
                "shutdown_timeout of %d ms passed (in all: %d sent, %d failed, %d dropped)",
                lost,
                deadline_ms,
                stats.sent,
                stats.failed,
                stats.dropped,
            )
        else:
            self._logger.debug(
                "Notification queue drained: %d sent, %d failed, %d dropped", stats.sent, stats.failed, stats.dropped
            )
        if not (lost or rejected) or not self._events.has(SEND_ERROR_EVENT):
            return
        # Event handlers get their own deadline: a slow one must not hold up the close.
        with anyio.move_on_after(deadline_ms / 1000):
            for batch, rejection in rejected:
                await self._report(batch, rejection)
            for batch, error in leftovers:
                await self._report(
                    batch,
                    error
                    or ClientStateError(
                        f"The client closed before this notification was sent (shutdown_timeout {deadline_ms} ms)"
                    ),
                )

    # -- the worker's side -------------------------------------------------------------

    def _wake(self) -> None:
        wakeup = self._wakeup
        if wakeup is not None:
            self._wakeup = None
            wakeup.set()

    async def _dispatch(self, task_group: anyio.abc.TaskGroup, slots: anyio.Semaphore) -> None:
        while True:
            while not self._groups and not self._submitted:
                if self._state != "running":
                    return
                self._wakeup = wakeup = anyio.Event()
                await wakeup.wait()
            # Take the batch only once a slot is free: requests arriving meanwhile join it.
            await slots.acquire()
            batch = None
            try:
                self._file_submitted()
                if self._groups:
                    batch = self._take_batch()
            except Exception as exc:  # a last resort: the steps above isolate each request
                if self._groups:
                    self._reject(self._groups.pop(next(iter(self._groups))), exc)
            if batch is None:
                slots.release()
            else:
                self._in_flight.add(batch)
                task_group.start_soon(self._send, batch, slots)
            while self._rejected:
                task_group.start_soon(self._report, *self._rejected.pop())

    def _file_submitted(self) -> None:
        """File each submitted request under its visitor, in the order they came."""
        submitted, self._submitted = self._submitted, []
        groups = self._groups
        property_token = self._config.property_token
        for body, session_id, location_hint, count, timeout, generation in submitted:
            item = _Item(body, session_id, location_hint, count, timeout, generation)
            try:
                visitor = body.get("id") or _NO_FIELDS
                # Everything the edge host and the visitor depend on; the property token falls
                # back to the configured one, which the defaults give the request.
                key = (
                    session_id,
                    location_hint,
                    visitor.get("tntId"),
                    visitor.get("thirdPartyId"),
                    visitor.get("marketingCloudVisitorId"),
                    (body.get("property") or _NO_FIELDS).get("token") or property_token,
                )
                group = groups.get(key)
            except Exception as exc:
                self._reject([item], exc)
                continue
            if group is None:
                groups[key] = [item]
            else:
                group.append(item)

    def _take_batch(self) -> _Batch | None:
        """The next batch of the group that waited longest; None when each request looked
        at had to be given up on (`_reject`)."""
        key = next(iter(self._groups))
        group = self._groups.pop(key)
        taken: list[_Item] = []
        count = 0
        position = 0
        while position < len(group):
            item = group[position]
            if taken and count + item.count > self._batch_size:
                break
            try:
                # Given to each request looked at (a second time changes nothing): requests
                # compare as they will be sent.
                apply_request_defaults(self._config, item.body)
                joins = not taken or _same_envelope(taken[0].body, item.body)
            except Exception as exc:
                self._reject([item], exc)
                position += 1
                continue
            if not joins:
                break
            taken.append(item)
            count += item.count
            position += 1
        if position < len(group):
            # Re-inserted last, so one busy visitor cannot starve the others.
            self._groups[key] = group[position:]
        if not taken:
            return None
        try:
            host = self._host(taken[0])
        except Exception as exc:
            self._reject(taken, exc)
            return None
        return _Batch(taken, host)

    def _reject(self, items: list[_Item], exc: Exception) -> None:
        """Give up on requests the pipeline cannot handle, alone: counted as failed, logged
        (without their content: it holds tokens and visitor ids) and queued for reporting."""
        batch = _Batch(items, "")
        self._settle(batch, delivered=False)
        self._logger.error(
            "Gave up on %d notifications: their request could not be prepared for sending (%s)",
            batch.count,
            type(exc).__name__,
        )
        self._logger.debug("Preparing a notification request failed", exc_info=exc)
        error = TargetValidationError(f"The notification request could not be prepared for sending: {exc!r}")
        error.__cause__ = exc
        self._rejected.append((batch, error))

    def _host(self, item: _Item) -> str:
        """The edge host of `item`'s group: its key holds all that picks it (tntId, location hint)."""
        return edge_route(self._config, item.body, item.location_hint)[1]

    def _batch_body(self, batch: _Batch, *, with_stored_telemetry: bool = True) -> dict[str, Any]:
        items = batch.items
        if len(items) == 1:
            body = items[0].body
        else:
            first = items[0].body
            body = {key: value for key, value in first.items() if key not in _PER_REQUEST_KEYS}
            body["requestId"] = first["requestId"]
            notifications = [n for item in items for n in item.body.get("notifications") or ()]
            if notifications:
                body["notifications"] = notifications
            entries = [e for item in items for e in (item.body.get("telemetry") or {}).get("entries") or ()]
            if entries:
                body["telemetry"] = {"entries": entries}
        if with_stored_telemetry:
            self._telemetry.attach(body)
        return body

    def _encode(self, batch: _Batch) -> bytes:
        """The batch's Delivery request as JSON. A request JSON cannot carry (NaN, a set, ...)
        is given up on alone, and the batch shrinks to the others."""
        try:
            return _serde.dumps(self._batch_body(batch))
        except (TypeError, ValueError, RecursionError) as exc:
            error = exc
        good = []
        for item in batch.items:
            try:
                _serde.dumps(item.body)
            except (TypeError, ValueError, RecursionError) as exc:
                self._reject([item], exc)
            else:
                good.append(item)
        if not good:
            batch.items, batch.count = [], 0
            raise _NothingToSend
        if len(good) == len(batch.items):
            # Each request encodes alone: the telemetry taken from the store cannot. It is best
            # effort, so the batch goes without it.
            self._telemetry.dropped += 1
            self._logger.debug("Pending telemetry dropped: it could not be encoded", exc_info=error)
        batch.items = good
        batch.count = sum(item.count for item in good)
        return _serde.dumps(self._batch_body(batch, with_stored_telemetry=False))

    async def _send(self, batch: _Batch, slots: anyio.Semaphore) -> None:
        """Deliver a batch; the dispatcher acquired a slot for its first attempt."""
        error = await self._deliver(batch, slots)
        self._in_flight.discard(batch)
        if batch.items:
            self._settle(batch, delivered=error is None)
        if error is not None:
            await self._report(batch, error)
        while self._rejected:
            await self._report(*self._rejected.pop())

    async def _deliver(self, batch: _Batch, slots: anyio.Semaphore) -> TargetError | None:
        """Send with retries; the final error, or None once the edge accepted the batch.

        The one place notifications are retried. `DeliveryTransport.deliver` retries inside
        a caller's time budget and its errors don't carry `Retry-After`; a background send
        wants its own, longer policy that honours it and frees the slot while it backs off.
        So this posts through the client's connection pool itself, one attempt at a time.
        """
        holding_slot = True
        policy = self._retry
        host = batch.host
        try:
            try:
                payload = self._encode(batch)
            except _NothingToSend:
                return None  # each request was given up on (`_reject`) and is settled
            timeout = max(item.timeout or self._config.timeout for item in batch.items) / 1000
            attempt = 0
            while True:
                failure = await self._post(batch, payload, timeout)
                slots.release()
                holding_slot = False
                if failure is None:
                    return None
                batch.last_error = failure.error
                if not failure.retryable or attempt >= policy.max_retries:
                    self._logger.warning(
                        "Gave up on %d notifications to %s after %d attempts: %s",
                        batch.count,
                        host,
                        attempt + 1,
                        failure.error,
                    )
                    return failure.error
                delay = retry_delay(policy, attempt, failure.retry_after)
                self._logger.debug(
                    "Retrying %d notifications to %s in %.3f s after: %s", batch.count, host, delay, failure.error
                )
                self._retried += batch.count
                attempt += 1
                await anyio.sleep(delay)
                await slots.acquire()
                holding_slot = True
        except Exception as exc:
            # A background task must never take the client's task group (and the app) down.
            self._logger.exception("Sending %d notifications to %s failed unexpectedly", batch.count, host)
            error = TargetRequestError(f"Sending notifications failed unexpectedly: {exc!r}")
            error.__cause__ = exc
            return error
        finally:
            if holding_slot:
                slots.release()

    async def _post(self, batch: _Batch, payload: bytes, budget: float) -> _Failure | None:
        first = batch.items[0]
        url = f"{self._config.scheme}://{batch.host}{DELIVERY_PATH}"
        params = {**self._params, "sessionId": first.session_id}
        self._requests += 1
        try:
            # One attempt through the client's shared httpx pool; this pipeline does its own retrying.
            with anyio.fail_after(budget):
                reply = await self._transport.post_httpx(url, params, payload, new_uuid4(), budget)
        except (TimeoutError, TargetTimeoutError) as exc:
            error = TargetTimeoutError(
                f"Notification request to {batch.host} timed out after {budget * 1000:.0f} ms", url=url
            )
            error.__cause__ = exc
            return _Failure(error, retryable=True)
        except TargetConnectionError as exc:
            return _Failure(exc, retryable=True)
        except ResponseDecodingError as exc:  # a body too large or not what its encoding says
            return _Failure(exc, retryable=False)
        if 200 <= reply.status < 300:
            return None
        retry_after = parse_retry_after(reply.retry_after)
        return _Failure(
            status_error(reply.status, reply.text(), url=url, retry_after=retry_after),
            retryable=reply.status in self._retry.retry_statuses,
            retry_after=retry_after,
        )

    def _settle(self, batch: _Batch, *, delivered: bool) -> None:
        if delivered:
            self._sent += batch.count
        else:
            self._failed += batch.count
        for item in batch.items:
            self._queued -= item.count or 1  # the weight `submit` counted it with
            generation = item.generation
            generation.pending -= 1
            if not delivered:
                generation.failed += 1
            if generation.pending == 0 and generation.done is not None:
                generation.done.set()

    async def _report(self, batch: _Batch, error: TargetError) -> None:
        if not self._events.has(SEND_ERROR_EVENT):
            return
        for item in batch.items:
            for notification in item.body.get("notifications") or ():
                await self._events.emit(SEND_ERROR_EVENT, notification=notification, error=error)
