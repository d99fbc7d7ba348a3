"""`TargetClient`: the blocking client, for code without an event loop (Flask, Django, scripts).

It adds no logic: one event loop thread, started with the client and kept for its whole
life, runs an `AsyncTargetClient` (and so its connection pool, which must never cross
loops); every method is a `BlockingPortal.call` of the same async method.

Two process-level concerns live here too:

- fork: a client copied into a child process by `os.fork()` (a pre-forking server) has
  no loop thread there; its first call in the child starts a new one.
- exit: a client nobody closed is closed when the interpreter exits, within
  `EXIT_TIMEOUT`, so pending notifications are flushed and the process does not hang.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

import anyio
import anyio.abc
from anyio.from_thread import BlockingPortal

from ._attributes import AttributesProvider
from ._client import AsyncTargetClient, MboxNames
from ._config import NO_OPTIONS, TargetConfig, create_options, parse_config
from ._delivery import TargetDeliveryResponse
from ._exceptions import ClientStateError, TargetConfigError
from ._future import TargetFuture
from ._notifications import NotificationStats

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._option_types import (
        AttributesCallbackOptions,
        CallbackOptions,
        ClientOptions,
        ErrCallbackOptions,
        RequestOptions,
    )

__all__ = ["CALLBACK_WORKERS", "EXIT_TIMEOUT", "TargetClient"]

T = TypeVar("T")

# Threads running the callbacks of one client's `callback=` calls: a slow callback delays
# other callbacks only, never requests.
CALLBACK_WORKERS = 4
# Seconds a client nobody closed gets to close (and flush its notifications) at exit.
EXIT_TIMEOUT = 5.0

logger = logging.getLogger("target_async")
_callback_worker = threading.local()
_live_clients: weakref.WeakSet[TargetClient] = weakref.WeakSet()


class _Runtime:
    """One process's event loop thread, the async client living in it, and the callback pool."""

    def __init__(self, config: TargetConfig) -> None:
        self.pid = os.getpid()
        started: concurrent.futures.Future[BlockingPortal] = concurrent.futures.Future()
        # Our own thread rather than `start_blocking_portal()`: that context manager's
        # generator, collected in a forked child, would call into the parent's loop and hang.
        self.thread = threading.Thread(
            target=_serve_portal, args=(started,), name="target-async-loop", daemon=True
        )
        self.thread.start()
        self.portal = started.result()
        self.loop_thread = self.thread.ident
        self.callbacks = concurrent.futures.ThreadPoolExecutor(
            CALLBACK_WORKERS, thread_name_prefix="target-async-callback", initializer=_mark_callback_worker
        )
        try:
            self.client = self.portal.call(AsyncTargetClient, config)
            self.client._callback_executor = self.callbacks
            self._lifetime, self._closing = self.portal.start_task(_keep_open, self.client, self.portal)
        except BaseException:
            with contextlib.suppress(RuntimeError):  # already stopped if `_keep_open` ran
                self.portal.call(self.portal.stop)
            self.thread.join()
            self.callbacks.shutdown()
            raise

    def close(self, timeout: float | None) -> None:
        """Close the async client, stop the loop thread and the callback pool, within `timeout` s."""
        if self.pid != os.getpid():
            return  # a copy made by fork: its thread and connections belong to the parent
        if threading.get_ident() == self.loop_thread:
            # A finalizer run by the garbage collector in the loop thread: it cannot wait for itself.
            self._closing.set()
            self.callbacks.shutdown(wait=False)
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        with contextlib.suppress(RuntimeError):  # the loop has already stopped
            self.portal.call(self._closing.set)
        try:
            self._lifetime.result(_remaining(deadline))  # the async client's aclose()
            self.thread.join(_remaining(deadline))  # calls in flight end, then the loop stops
        except concurrent.futures.TimeoutError:
            pass
        finally:
            stopped = not self.thread.is_alive()
            if not stopped:
                pending = self.client.notification_stats.pending
                logger.warning(
                    "The Target client did not close within %s s; abandoning its thread%s",
                    timeout,
                    f" and the {pending} notifications it had not sent" if pending else "",
                )
            self.callbacks.shutdown(wait=stopped and not getattr(_callback_worker, "active", False))


def _serve_portal(started: concurrent.futures.Future[BlockingPortal]) -> None:
    async def serve() -> None:
        async with BlockingPortal() as portal:
            started.set_result(portal)
            await portal.sleep_until_stopped()

    try:
        anyio.run(serve)
    except BaseException as exc:
        if started.done():
            raise
        started.set_exception(exc)


async def _keep_open(
    client: AsyncTargetClient,
    portal: BlockingPortal,
    *,
    task_status: anyio.abc.TaskStatus[anyio.Event],
) -> None:
    """Hold the async client open (one host task, as its task group needs) until told to close."""
    try:
        async with client:
            closing = anyio.Event()
            task_status.started(closing)
            await closing.wait()
    finally:
        await portal.stop()


def _mark_callback_worker() -> None:
    _callback_worker.active = True


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _reset_locks_in_child() -> None:
    # A lock held by another thread at fork time would stay held forever in the child.
    for client in list(_live_clients):
        client._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_locks_in_child)


class TargetClient:
    """Blocking Adobe Target client, with the methods of `AsyncTargetClient`.

    Create it once and share it between threads:

    ```python
    with TargetClient.create({"client": "acme", "organization_id": "...@AdobeOrg"}) as client:
        result = client.get_offers({"request": DeliveryRequest(execute=...)})
    ```

    or keep it for the life of the process (`client.close()` when done; a client nobody
    closed is closed at exit). It runs an `AsyncTargetClient` in its own event loop thread,
    so do not call it from inside an async framework: use `AsyncTargetClient` there.

    With `callback=` / `err_callback=` a call returns a `TargetFuture` at once; the
    callbacks run on a small pool of the client's threads, never on its loop thread.
    """

    TARGET_COOKIE_NAME = AsyncTargetClient.TARGET_COOKIE_NAME
    LOCATION_HINT_COOKIE_NAME = AsyncTargetClient.LOCATION_HINT_COOKIE_NAME
    get_visitor_cookie_name = staticmethod(AsyncTargetClient.get_visitor_cookie_name)

    def __init__(self, config: TargetConfig) -> None:
        if not isinstance(config, TargetConfig):
            raise TargetConfigError(
                "Create the client with TargetClient.create(options) (or keyword arguments), "
                f"not TargetClient(...): got {type(config).__name__}"
            )
        self._config = config
        self._lock = threading.Lock()
        self._closed = False
        self._runtime = _Runtime(config)
        self._close_at_exit = weakref.finalize(self, self._runtime.close, EXIT_TIMEOUT)
        _live_clients.add(self)

    @classmethod
    def create(cls, options: ClientOptions = NO_OPTIONS, /, **kwargs: Unpack[ClientOptions]) -> TargetClient:
        """Build a client from the official SDK's option mapping and/or keyword arguments.

        Takes the options of `AsyncTargetClient.create`; raises `TargetConfigError` naming
        the first missing, unknown or mistyped option.
        """
        return cls(parse_config(create_options(options, kwargs)))

    @property
    def config(self) -> TargetConfig:
        return self._config

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> TargetClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Flush pending notifications, close the connections and stop the client's threads.

        Calls with a callback still running are cancelled (their `err_callback` runs).
        Safe to call twice.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._close_at_exit.detach()
        _live_clients.discard(self)
        self._runtime.close(timeout=None)

    def _current_runtime(self) -> _Runtime:
        if self._closed:
            raise ClientStateError("The client is closed; create a new one")
        runtime = self._runtime
        if runtime.pid != os.getpid():
            runtime = self._runtime_after_fork()
        if threading.get_ident() == runtime.loop_thread:
            raise ClientStateError(
                "TargetClient was called from its own event loop thread (from code the client "
                "runs, such as an event handler), where it would wait for itself forever; "
                "use AsyncTargetClient in async code"
            )
        return runtime

    def _runtime_after_fork(self) -> _Runtime:
        with self._lock:
            runtime = self._runtime
            if runtime.pid == os.getpid():
                return runtime  # another thread of this child has restarted it
            if self._config.transport is not None:
                raise ClientStateError(
                    "This TargetClient was created before os.fork() with a custom `transport`, "
                    "whose connections cannot be shared with a child process; create the client "
                    "in the child (with gunicorn, in a post_fork hook)"
                )
            runtime = self._runtime = _Runtime(self._config)
            self._close_at_exit.detach()
            self._close_at_exit = weakref.finalize(self, runtime.close, EXIT_TIMEOUT)
            return runtime

    def _await(self, method: Callable[[AsyncTargetClient], Awaitable[T]]) -> T:
        """Await `method(async_client)` in the loop thread and return its result."""
        result: T = self._start(method).result()
        return result

    def _call(self, method: Callable[[AsyncTargetClient], T]) -> T:
        """Call `method(async_client)` in the loop thread and return its result."""
        result: T = self._start(method).result()
        return result

    def _start(self, method: Callable[[AsyncTargetClient], Any]) -> concurrent.futures.Future[Any]:
        runtime = self._current_runtime()
        try:
            return runtime.portal.start_task_soon(method, runtime.client)
        except RuntimeError as exc:  # the portal has stopped: closed meanwhile
            raise ClientStateError("The client is closed; create a new one") from exc

    # -- calls -------------------------------------------------------------------------

    # The overloads of `AsyncTargetClient`'s calls: the callback forms return a `TargetFuture`.
    @overload
    def get_offers(  # type: ignore[overload-overlap]
        self, options: CallbackOptions | ErrCallbackOptions, /, **kwargs: Unpack[RequestOptions]
    ) -> TargetFuture[TargetDeliveryResponse]: ...
    @overload
    def get_offers(
        self, options: RequestOptions | None = None, /, **kwargs: Unpack[CallbackOptions]
    ) -> TargetFuture[TargetDeliveryResponse]: ...
    @overload
    def get_offers(
        self, options: RequestOptions | None = None, /, **kwargs: Unpack[ErrCallbackOptions]
    ) -> TargetFuture[TargetDeliveryResponse]: ...
    @overload
    def get_offers(
        self, options: RequestOptions | None = None, /, **kwargs: Unpack[RequestOptions]
    ) -> TargetDeliveryResponse: ...
    def get_offers(
        self, options: Any = None, /, **kwargs: Any
    ) -> TargetDeliveryResponse | TargetFuture[TargetDeliveryResponse]:
        """`AsyncTargetClient.get_offers`, blocking."""
        result: TargetDeliveryResponse | TargetFuture[TargetDeliveryResponse] = self._await(
            lambda client: client.get_offers(options, **kwargs)
        )
        return result

    @overload
    def get_attributes(  # type: ignore[overload-overlap]
        self,
        mbox_names: MboxNames,
        options: AttributesCallbackOptions | ErrCallbackOptions,
        /,
        **kwargs: Unpack[RequestOptions],
    ) -> TargetFuture[AttributesProvider]: ...
    @overload
    def get_attributes(
        self,
        mbox_names: MboxNames,
        options: RequestOptions | None = None,
        /,
        **kwargs: Unpack[AttributesCallbackOptions],
    ) -> TargetFuture[AttributesProvider]: ...
    @overload
    def get_attributes(
        self,
        mbox_names: MboxNames,
        options: RequestOptions | None = None,
        /,
        **kwargs: Unpack[ErrCallbackOptions],
    ) -> TargetFuture[AttributesProvider]: ...
    @overload
    def get_attributes(
        self, mbox_names: MboxNames, options: RequestOptions | None = None, /, **kwargs: Unpack[RequestOptions]
    ) -> AttributesProvider: ...
    def get_attributes(
        self, mbox_names: Any, options: Any = None, /, **kwargs: Any
    ) -> AttributesProvider | TargetFuture[AttributesProvider]:
        """`AsyncTargetClient.get_attributes`, blocking."""
        result: AttributesProvider | TargetFuture[AttributesProvider] = self._await(
            lambda client: client.get_attributes(mbox_names, options, **kwargs)
        )
        return result

    @overload
    def send_notifications(  # type: ignore[overload-overlap]
        self, options: CallbackOptions | ErrCallbackOptions, /, **kwargs: Unpack[RequestOptions]
    ) -> TargetFuture[TargetDeliveryResponse]: ...
    @overload
    def send_notifications(
        self, options: RequestOptions | None = None, /, **kwargs: Unpack[CallbackOptions]
    ) -> TargetFuture[TargetDeliveryResponse]: ...
    @overload
    def send_notifications(
        self, options: RequestOptions | None = None, /, **kwargs: Unpack[ErrCallbackOptions]
    ) -> TargetFuture[TargetDeliveryResponse]: ...
    @overload
    def send_notifications(
        self, options: RequestOptions | None = None, /, **kwargs: Unpack[RequestOptions]
    ) -> TargetDeliveryResponse: ...
    def send_notifications(
        self, options: Any = None, /, **kwargs: Any
    ) -> TargetDeliveryResponse | TargetFuture[TargetDeliveryResponse]:
        """`AsyncTargetClient.send_notifications`, blocking."""
        result: TargetDeliveryResponse | TargetFuture[TargetDeliveryResponse] = self._await(
            lambda client: client.send_notifications(options, **kwargs)
        )
        return result

    def enqueue_notifications(
        self, options: RequestOptions | None = None, /, **kwargs: Unpack[RequestOptions]
    ) -> bool:
        """`AsyncTargetClient.enqueue_notifications`: queue notifications, return at once."""
        return self._call(lambda client: client.enqueue_notifications(options, **kwargs))

    def flush(self, timeout: float | None = None) -> bool:
        """`AsyncTargetClient.flush`: wait until enqueued notifications are sent (`timeout` in ms)."""
        return self._await(lambda client: client.flush(timeout))

    @property
    def notification_stats(self) -> NotificationStats:
        """`AsyncTargetClient.notification_stats`."""
        return self._call(lambda client: client.notification_stats)
