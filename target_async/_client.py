"""`AsyncTargetClient`: the one implementation of the SDK's calls."""

from __future__ import annotations

import enum
import functools
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, overload

import anyio
import attrs

from . import _serde
from ._attributes import AttributesProvider
from ._config import NO_OPTIONS, TargetConfig, create_options, parse_config
from ._cookies import LOCATION_HINT_COOKIE, TARGET_COOKIE, visitor_cookie_name
from ._delivery import (
    PreparedRequest,
    TargetDeliveryResponse,
    build_envelope,
    prepare_request,
    request_dict,
    structure_response,
    validate_request,
)
from ._events import EventEmitter
from ._exceptions import (
    ArtifactNotReadyError,
    ClientStateError,
    ResponseDecodingError,
    TargetConfigError,
    TargetValidationError,
)
from ._notifications import NotificationPipeline, NotificationStats
from ._options import CallOptions, parse_call_options
from ._telemetry import TelemetryStore
from ._transport import DeliveryTransport
from ._wire import check_request_json, check_request_shape
from .models import DecisioningMethod

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

if TYPE_CHECKING:
    from concurrent.futures import Executor

    import anyio.abc
    from typing_extensions import Unpack

    # Imported where used: callbacks (asyncio, concurrent.futures, anyio.from_thread) and
    # the telemetry of a call cost nothing to import until a call needs them.
    from ._future import TargetFuture
    from ._on_device import OnDeviceDecisioning
    from ._option_types import (
        AttributesCallbackOptions,
        CallbackOptions,
        ClientOptions,
        ErrCallbackOptions,
        RequestOptions,
    )

__all__ = ["AsyncTargetClient", "MboxNames"]

# Not `Sequence[str]`, which a single name (a str) also is: `get_attributes("flags")` is
# a mistake mypy reports.
MboxNames = list[str] | tuple[str, ...]


_call_telemetry_entry: Callable[..., dict[str, Any]] | None = None


def _load_call_telemetry_entry() -> Callable[..., dict[str, Any]]:
    """`telemetry_entry`, imported by the first call that records telemetry (it pulls in
    `decimal`); kept in a global because a function-level import costs a microsecond a call."""
    global _call_telemetry_entry
    from .decisioning._telemetry import telemetry_entry

    _call_telemetry_entry = telemetry_entry
    return telemetry_entry


def _check_notification_method(call: CallOptions) -> None:
    method = call.decisioning_method
    if method is not None and method is not DecisioningMethod.SERVER_SIDE:
        raise TargetValidationError(
            f"notifications always go to the edge: decisioning_method {method.value!r} does not apply to "
            "send_notifications or enqueue_notifications (leave it out)"
        )


class _State(enum.Enum):
    UNOPENED = 1
    OPENED = 2
    CLOSED = 3


class AsyncTargetClient:
    """Asynchronous Adobe Target client.

    Create it with `AsyncTargetClient.create(options)` and use it as an async context
    manager so its connection pool and background work are closed cleanly:

    ```python
    async with AsyncTargetClient.create({"client": "acme", "organization_id": "...@AdobeOrg"}) as client:
        result = await client.get_offers({"request": DeliveryRequest(execute=...)})
    ```

    Server-side calls also work on a client that was never entered (it opens lazily,
    like `httpx.AsyncClient`); close it with `await client.aclose()`.
    """

    TARGET_COOKIE_NAME = TARGET_COOKIE
    LOCATION_HINT_COOKIE_NAME = LOCATION_HINT_COOKIE

    def __init__(self, config: TargetConfig) -> None:
        if not isinstance(config, TargetConfig):
            raise TargetConfigError(
                "Create the client with AsyncTargetClient.create(options) (or keyword arguments), "
                f"not AsyncTargetClient(...): got {type(config).__name__}"
            )
        self._config = config
        self._pid = os.getpid()  # a copy in a forked child must not touch the parent's sockets
        self._state = _State.UNOPENED
        self._transport = DeliveryTransport(config)
        self._events = EventEmitter(config.events, config.logger)
        self._telemetry = TelemetryStore(enabled=config.telemetry_enabled, logger=config.logger)
        self._notifications = NotificationPipeline(config, self._transport, self._telemetry, self._events)
        self._exit_stack: AsyncExitStack | None = None
        self._task_group: anyio.abc.TaskGroup | None = None
        self._on_device: OnDeviceDecisioning | None = None

    @classmethod
    def create(cls, options: ClientOptions = NO_OPTIONS, /, **kwargs: Unpack[ClientOptions]) -> AsyncTargetClient:
        """Build a client from the official SDK's option mapping and/or keyword arguments.

        Raises `TargetConfigError` naming the first missing, unknown or mistyped option.
        """
        return cls(parse_config(create_options(options, kwargs)))

    @staticmethod
    def get_visitor_cookie_name(organization_id: str) -> str:
        """Name of the `AMCV_` (Experience Cloud visitor) cookie for an organization."""
        return visitor_cookie_name(organization_id)

    @property
    def config(self) -> TargetConfig:
        return self._config

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> AsyncTargetClient:
        if self._state is _State.CLOSED:
            raise ClientStateError("Cannot reopen a client instance, once it has been closed.")
        if self._exit_stack is not None:
            raise ClientStateError("Cannot open a client instance more than once.")
        stack = AsyncExitStack()
        await stack.__aenter__()
        self._exit_stack = stack
        try:
            self._task_group = await stack.enter_async_context(anyio.create_task_group())
            await self._start_background(self._task_group)
            await self._open()
        except BaseException as exc:
            # Whatever started must stop, and the task group must be exited in this task.
            await self.aclose()
            self._exit_stack = None
            await stack.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
        stack, self._exit_stack = self._exit_stack, None
        if stack is None:
            return
        try:
            await stack.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            # The task group wraps the body's own exception; the user gets it as raised.
            if exc is not None and len(group.exceptions) == 1 and group.exceptions[0] is exc:
                return
            raise

    async def _open(self) -> None:
        if self._state is _State.UNOPENED:
            self._state = _State.OPENED
            # On-device and hybrid clients are ready when their first artifact is in use:
            # the artifact provider emits `client_ready` then.
            if self._config.decisioning_method is DecisioningMethod.SERVER_SIDE:
                await self._events.emit("client_ready")

    def __del__(self) -> None:
        # A client that was used and never closed: say so (ResourceWarning, as for an unclosed
        # file) and how to avoid it, count the notifications it never sent (a WARNING line:
        # ResourceWarnings are hidden by default), and release its sockets, so that aiohttp
        # has nothing to warn about.
        try:
            if self._state is not _State.OPENED or self._pid != os.getpid():
                return
            pending = self._notifications.stats.pending
            lost = f"; {pending} queued notifications were never sent" if pending else ""
            warnings.warn(
                f"AsyncTargetClient was not closed{lost}. Use `async with AsyncTargetClient.create(...) as "
                "client:` or `await client.aclose()`",
                ResourceWarning,
                source=self,
                stacklevel=1,  # a finalizer has no caller worth pointing at
            )
            if pending:
                self._config.logger.warning(
                    "%d notifications were never sent: the AsyncTargetClient was not closed. Use `async with "
                    "AsyncTargetClient.create(...) as client:` or `await client.aclose()`, which sends them",
                    pending,
                )
            self._transport.abandon()
        except Exception:  # a finalizer must not raise (e.g. at interpreter shutdown)
            pass

    async def aclose(self) -> None:
        """Stop background work and close the connection pool. Safe to call twice."""
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        await self._stop_background()
        if self._task_group is not None:
            self._task_group.cancel_scope.cancel()
        # Cancelling the task group also cancels this task when it runs inside `async with`:
        # the pool must still be closed, so its sockets are released.
        with anyio.CancelScope(shield=True):
            await self._transport.aclose()

    async def _start_background(self, task_group: anyio.abc.TaskGroup) -> None:
        """Start the client's background work (runs once, in `__aenter__`)."""
        await task_group.start(self._notifications.run)
        if self._config.decisioning_method is DecisioningMethod.SERVER_SIDE:
            return
        # Imported here: a server-side client never loads the decisioning engine.
        from ._on_device import start_on_device

        self._on_device = await start_on_device(
            self._config, self._transport, self._events, self._telemetry, self._notifications, task_group
        )

    async def _stop_background(self) -> None:
        """Let background work finish within its deadline (runs once, in `aclose`)."""
        await self._notifications.aclose()

    def _check_open(self) -> None:
        if self._state is _State.CLOSED:
            raise ClientStateError("The client is closed; create a new one")

    # -- calls -------------------------------------------------------------------------

    # The callback forms return a `TargetFuture`: `callback` / `err_callback` given in the
    # mapping or as a keyword. A TypedDict admits keys it does not name, so mypy sees the
    # first overloads overlap the last; the runtime decides by the keys actually given.
    @overload
    async def get_offers(  # type: ignore[overload-overlap]
        self, options: CallbackOptions | ErrCallbackOptions, /, **kwargs: Unpack[RequestOptions]
    ) -> TargetFuture[TargetDeliveryResponse]: ...
    @overload
    async def get_offers(
        self, options: RequestOptions | None = None, /, **kwargs: Unpack[CallbackOptions]
    ) -> TargetFuture[TargetDeliveryResponse]: ...
    @overload
    async def get_offers(
        self, options: RequestOptions | None = None, /, **kwargs: Unpack[ErrCallbackOptions]
    ) -> TargetFuture[TargetDeliveryResponse]: ...
    @overload
    async def get_offers(
        self, options: RequestOptions | None = None, /, **kwargs: Unpack[RequestOptions]
    ) -> TargetDeliveryResponse: ...
    async def get_offers(
        self, options: Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> TargetDeliveryResponse | TargetFuture[TargetDeliveryResponse]:
        """Fetch offers (decide) for the mboxes, pageLoad and views of a `DeliveryRequest`.

        Options: `request` (required), `target_cookie`, `target_location_hint`,
        `session_id`, `customer_ids`, `consumer_id`, `decisioning_method`, `timeout` (ms),
        `callback`, `err_callback`. With a callback the call returns a `TargetFuture` at
        once and runs in the client's task group (see `TargetFuture`).
        """
        call = parse_call_options(options, kwargs)
        if call.request is None:
            raise TargetValidationError("Request object of type DeliveryRequest is required")
        if call.callback is not None or call.err_callback is not None:
            return self._start_with_callbacks(call, functools.partial(self._get_offers, call))
        return await self._get_offers(call)

    @overload
    async def get_attributes(  # type: ignore[overload-overlap]
        self,
        mbox_names: MboxNames,
        options: AttributesCallbackOptions | ErrCallbackOptions,
        /,
        **kwargs: Unpack[RequestOptions],
    ) -> TargetFuture[AttributesProvider]: ...
    @overload
    async def get_attributes(
        self,
        mbox_names: MboxNames,
        options: RequestOptions | None = None,
        /,
        **kwargs: Unpack[AttributesCallbackOptions],
    ) -> TargetFuture[AttributesProvider]: ...
    @overload
    async def get_attributes(
        self,
        mbox_names: MboxNames,
        options: RequestOptions | None = None,
        /,
        **kwargs: Unpack[ErrCallbackOptions],
    ) -> TargetFuture[AttributesProvider]: ...
    @overload
    async def get_attributes(
        self, mbox_names: MboxNames, options: RequestOptions | None = None, /, **kwargs: Unpack[RequestOptions]
    ) -> AttributesProvider: ...
    async def get_attributes(
        self,
        mbox_names: Sequence[str],
        options: Mapping[str, Any] | None = None,
        /,
        **kwargs: Any,
    ) -> AttributesProvider | TargetFuture[AttributesProvider]:
        """Fetch the JSON offers of `mbox_names` and read them as attributes.

        Mboxes not already in the request are added to `execute`. The other options
        (cookie, session, ...) are used as given, also when there is no `request`.
        With `callback` / `err_callback`, returns a `TargetFuture` at once.
        """
        if (
            isinstance(mbox_names, (str, bytes))
            or not isinstance(mbox_names, Sequence)
            or not all(isinstance(n, str) and n for n in mbox_names)
        ):
            raise TargetValidationError("mbox_names must be a list of non-empty mbox names")
        call = parse_call_options(options, kwargs)
        # The official SDK's default request when there is none: `{context: {channel: web}}`.
        body = (
            {"context": {"channel": "web"}}
            if call.request is None
            else request_dict(call.request, required_message="Request object of type DeliveryRequest is required")
        )
        # Read below before `get_offers` validates it: its shape must be checked first.
        check_request_json(body)
        check_request_shape(body)
        requested = {
            m.get("name")
            for section in ("execute", "prefetch")
            for m in (body.get(section) or {}).get("mboxes") or []
            if isinstance(m, dict) and isinstance(m.get("name"), str)
        }
        missing = [name for name in dict.fromkeys(mbox_names) if name not in requested]
        if missing:
            execute = dict(body.get("execute") or {})
            mboxes = list(execute.get("mboxes") or [])
            next_index = max([m["index"] for m in mboxes if isinstance(m, dict) and isinstance(m.get("index"), int)] + [0]) + 1
            mboxes += [{"name": name, "index": next_index + i} for i, name in enumerate(missing)]
            execute["mboxes"] = mboxes
            body["execute"] = execute
        call = attrs.evolve(call, request=body)
        if call.callback is not None or call.err_callback is not None:
            return self._start_with_callbacks(call, functools.partial(self._get_attributes, call))
        return await self._get_attributes(call)

    @overload
    async def send_notifications(  # type: ignore[overload-overlap]
        self, options: CallbackOptions | ErrCallbackOptions, /, **kwargs: Unpack[RequestOptions]
    ) -> TargetFuture[TargetDeliveryResponse]: ...
    @overload
    async def send_notifications(
        self, options: RequestOptions | None = None, /, **kwargs: Unpack[CallbackOptions]
    ) -> TargetFuture[TargetDeliveryResponse]: ...
    @overload
    async def send_notifications(
        self, options: RequestOptions | None = None, /, **kwargs: Unpack[ErrCallbackOptions]
    ) -> TargetFuture[TargetDeliveryResponse]: ...
    @overload
    async def send_notifications(
        self, options: RequestOptions | None = None, /, **kwargs: Unpack[RequestOptions]
    ) -> TargetDeliveryResponse: ...
    async def send_notifications(
        self, options: Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> TargetDeliveryResponse | TargetFuture[TargetDeliveryResponse]:
        """Report displayed or clicked content (`request.notifications`); always server-side.

        With `callback` / `err_callback`, returns a `TargetFuture` at once.
        """
        call = parse_call_options(options, kwargs)
        if call.request is None:
            raise TargetValidationError("Notifications list is required in request")
        _check_notification_method(call)
        self._check_open()
        prepared = prepare_request(self._config, call, notifications_required=True)
        if call.callback is not None or call.err_callback is not None:
            return self._start_with_callbacks(call, functools.partial(self._remote, call, prepared))
        return await self._remote(call, prepared)

    def enqueue_notifications(
        self, options: RequestOptions | None = None, /, **kwargs: Unpack[RequestOptions]
    ) -> bool:
        """Queue notifications to be sent in the background and return at once (no `await`).

        Takes the options of `send_notifications` and raises the same `TargetValidationError`
        for bad input, right away. Notifications of one visitor waiting at the same time go
        out in one request; connection errors, timeouts, 408, 429 and 5xx are retried
        (`notification_retry`), and each notification given up on is reported by the
        `send_notification_error` event. `timeout` (ms) bounds each delivery attempt.

        Returns False when the queue (`notification_queue_size`) was full and the
        notifications were dropped. Needs a client entered with `async with`; call it on the
        event loop's thread.
        """
        call = parse_call_options(options, kwargs)
        if call.request is None:
            raise TargetValidationError("Notifications list is required in request")
        if call.callback is not None or call.err_callback is not None:
            raise TargetValidationError(
                "enqueue_notifications takes no callback: the 'send_notification_error' event reports failures"
            )
        _check_notification_method(call)
        self._check_open()
        # Validated now (bad input raises here); the defaults are applied when it is sent.
        # An SDID only when the caller asks for A4T stitching (a visitor or a consumer id): a
        # new one per call would keep this visitor's notifications from sharing a request.
        body, session_id = validate_request(
            self._config,
            call,
            notifications_required=True,
            supplemental_data_id=call.visitor is not None or call.consumer_id is not None,
        )
        return self._notifications.submit(body, session_id, call.target_location_hint, call.timeout)

    async def flush(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 - ms, like every timeout of the client
        """Wait until every notification enqueued so far is sent or given up on.

        `timeout` in ms (None: no limit). True when all of them were delivered; False when
        some failed or were dropped, or the timeout passed first.
        """
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 0
        ):
            raise TargetValidationError(f"flush timeout must be a number >= 0 of ms or None, got {timeout!r}")
        return await self._notifications.flush(timeout)

    @property
    def notification_stats(self) -> NotificationStats:
        """Counters of the background notifications (enqueued, sent, retried, dropped, failed, ...)."""
        return self._notifications.stats

    async def _get_offers(self, call: CallOptions) -> TargetDeliveryResponse:
        self._check_open()
        prepared = prepare_request(self._config, call)
        method = call.decisioning_method or self._config.decisioning_method
        if method is not DecisioningMethod.SERVER_SIDE:
            # Set by `_start_background` for an on-device/hybrid client that was entered.
            on_device = self._on_device
            if on_device is not None:
                # A plain call: a local decision awaits nothing unless it needs a geo lookup.
                decided = on_device.decide_now(prepared, method)
                if isinstance(decided, TargetDeliveryResponse):
                    return decided
                if decided is not None:  # "geo lookup"
                    return await on_device.decide_after_geo_lookup(call, prepared)
            elif method is DecisioningMethod.ON_DEVICE:
                from ._on_device import NOT_READY_MESSAGE

                reason = (
                    "This client is server-side: create it with decisioning_method 'on-device' or 'hybrid'."
                    if self._config.decisioning_method is DecisioningMethod.SERVER_SIDE
                    else "On-device decisioning starts when the client is entered with `async with`."
                )
                raise ArtifactNotReadyError(f"{NOT_READY_MESSAGE} {reason}")
        return await self._remote(call, prepared)

    async def _remote(self, call: CallOptions, prepared: PreparedRequest) -> TargetDeliveryResponse:
        await self._open()
        self._telemetry.attach(prepared.body)
        timestamp_ms = int(time.time() * 1000)
        started = time.perf_counter()
        try:
            payload = _serde.dumps(prepared.body)
        except (TypeError, ValueError) as exc:  # a wire-JSON request holding what JSON cannot say
            raise TargetValidationError(f"The request cannot be sent as JSON: {exc}") from exc
        body = await self._transport.deliver(prepared.host, prepared.session_id, payload, timeout_ms=call.timeout)
        try:
            # Strict: a field of the wrong type (`"tntId": 5`) must not reach a cookie, a URL
            # or the typed result converted; the whole answer is refused.
            response = structure_response(body, strict=True)
        except (TypeError, ValueError) as exc:
            raise ResponseDecodingError(f"Delivery response is not a valid Delivery API response: {exc}") from exc
        if self._telemetry.enabled:
            telemetry_entry = _call_telemetry_entry or _load_call_telemetry_entry()
            self._telemetry.add(
                telemetry_entry(
                    prepared.body,
                    body,
                    decisioning_method=DecisioningMethod.SERVER_SIDE.value,
                    execution_ms=(time.perf_counter() - started) * 1000,
                    timestamp_ms=timestamp_ms,
                    telemetry_server_token=body.get("telemetryServerToken"),
                )
            )
        return build_envelope(prepared, body, decisioning_method=DecisioningMethod.SERVER_SIDE, response=response)

    # -- callback= / err_callback= -----------------------------------------------------

    # Set by `TargetClient`, whose users' callbacks must run on its pool, off the loop thread.
    _callback_executor: Executor | None = None

    def _start_with_callbacks(self, call: CallOptions, request: Callable[[], Any]) -> TargetFuture[Any]:
        from ._future import start_with_callbacks

        self._check_open()
        if self._task_group is None:
            raise ClientStateError(
                "callback / err_callback run the call in the client's task group: open the client with "
                "`async with AsyncTargetClient.create(...) as client:` first"
            )
        return start_with_callbacks(
            self._task_group,
            request,
            call.callback,
            call.err_callback,
            logger=self._config.logger,
            executor=self._callback_executor,
        )

    async def _get_attributes(self, call: CallOptions) -> AttributesProvider:
        return AttributesProvider(await self._get_offers(call))

