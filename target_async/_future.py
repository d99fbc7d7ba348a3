"""`TargetFuture`: what a call returns when it is given `callback=` / `err_callback=`.

The official SDK returns a `multiprocessing` `AsyncResult` for such calls. Here the call
runs in the client's own task group and its `TargetFuture` is a `concurrent.futures.Future`
that also has the `AsyncResult` methods and can be awaited. As with `AsyncResult`, the
future becomes ready only after the callback has returned.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar, cast

import anyio
import anyio.abc
import anyio.from_thread
import anyio.lowlevel
import sniffio

from ._exceptions import ClientStateError, TargetValidationError

__all__ = ["TargetFuture", "start_with_callbacks"]

T = TypeVar("T")

# How long a closing client waits for the `err_callback` of each request it abandons.
CLOSING_CALLBACK_TIMEOUT = 1.0

_CallSoon = Callable[[Callable[[], object]], object]


class TargetFuture(concurrent.futures.Future[T]):
    """The pending result of a call made with `callback=` or `err_callback=`.

    A `concurrent.futures.Future` (`result()`, `exception()`, `add_done_callback()`;
    `cancel()` cancels the request) with the methods of the official SDK's `AsyncResult`
    (`get()`, `wait()`, `ready()`, `successful()`). It can be awaited from any event loop:

    ```python
    future = await client.get_offers(request=request, callback=on_offers)
    response = await future
    ```

    It becomes ready once `callback` (or `err_callback`) has returned, so `get()` returning
    means the callback ran. A cancelled call's `err_callback` gets a
    `concurrent.futures.CancelledError`.
    """

    def __init__(self) -> None:
        super().__init__()
        # Threads in which waiting for this pending future would never end: the event loop
        # running its request, and the thread running its callback.
        self._loop_thread: int | None = None
        self._callback_thread: int | None = None

    def _check_can_wait(self) -> None:
        if self.done():
            return
        here = threading.get_ident()
        if here == self._loop_thread:
            raise ClientStateError(
                "Blocking on a TargetFuture in the event loop that runs its request would wait "
                "forever; use `await future` there"
            )
        if here == self._callback_thread:
            raise ClientStateError(
                "A TargetFuture is ready only after its callback returns; inside the callback, "
                "use the value it was given"
            )

    def result(self, timeout: float | None = None) -> T:
        self._check_can_wait()
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._check_can_wait()
        return super().exception(timeout)

    def get(self, timeout: float | None = None) -> T:
        """The call's result, or raise its error, as `AsyncResult.get`.

        Raises `concurrent.futures.TimeoutError` (the builtin `TimeoutError` since Python
        3.11) when it is not ready within `timeout` seconds.
        """
        return self.result(timeout)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the call is ready or `timeout` seconds have passed."""
        self._check_can_wait()
        concurrent.futures.wait([self], timeout)

    def ready(self) -> bool:
        """Whether the call has completed (its callback included)."""
        return self.done()

    def successful(self) -> bool:
        """Whether the call succeeded; `ValueError` if it is not ready, as `AsyncResult.successful`."""
        if not self.done():
            raise ValueError(f"{self!r} is not ready")
        return not self.cancelled() and self.exception() is None

    def __await__(self) -> Generator[Any, None, T]:
        return self._wait_in_loop().__await__()

    async def _wait_in_loop(self) -> T:
        if not self.done():
            ready = anyio.Event()
            call_soon = _threadsafe_call_soon()

            def wake(_: concurrent.futures.Future[T]) -> None:
                try:
                    call_soon(ready.set)
                except RuntimeError:
                    pass  # the awaiting event loop has ended

            self.add_done_callback(wake)
            await ready.wait()
        return self.result()


def _threadsafe_call_soon() -> _CallSoon:
    """A function that runs a callable soon in the current event loop, from any thread."""
    if sniffio.current_async_library() == "asyncio":
        return asyncio.get_running_loop().call_soon_threadsafe
    token = anyio.lowlevel.current_token()
    loop_thread = threading.get_ident()

    def call_soon(func: Callable[[], object]) -> object:
        if threading.get_ident() == loop_thread:
            return func()
        return anyio.from_thread.run_sync(func, token=token)

    return call_soon


def start_with_callbacks(
    task_group: anyio.abc.TaskGroup,
    request: Callable[[], Awaitable[T]],
    callback: Callable[[T], object] | None,
    err_callback: Callable[[BaseException], object] | None,
    *,
    logger: logging.Logger,
    executor: concurrent.futures.Executor | None = None,
) -> TargetFuture[T]:
    """Start `request` in `task_group` and return its future at once.

    Its outcome goes to `callback` or `err_callback`, then to the future. Callbacks run in
    the event loop (coroutine functions are awaited), or on `executor` when one is given,
    where only plain functions are accepted. A callback that raises is logged on `logger`.
    """
    if executor is not None and any(inspect.iscoroutinefunction(cb) for cb in (callback, err_callback)):
        raise TargetValidationError(
            "TargetClient callbacks must be plain functions; use AsyncTargetClient for coroutine functions"
        )
    future: TargetFuture[T] = TargetFuture()
    future._loop_thread = threading.get_ident()
    report = functools.partial(_report, future, callback, err_callback, logger, executor)
    task_group.start_soon(_run, future, request, report)
    return future


async def _run(
    future: TargetFuture[T],
    request: Callable[[], Awaitable[T]],
    report: Callable[[T | None, Exception | None], Awaitable[None]],
) -> None:
    call_soon = _threadsafe_call_soon()
    value: T | None = None
    error: Exception | None = None
    try:
        with anyio.CancelScope() as scope:
            future.add_done_callback(functools.partial(_cancel_request, call_soon, scope))
            try:
                value = await request()
            except Exception as exc:
                error = exc
    except anyio.get_cancelled_exc_class():
        # The client is closing and abandons the request: report it as cancelled.
        future.cancel()
        with anyio.move_on_after(CLOSING_CALLBACK_TIMEOUT, shield=True):
            await report(value, error)
        raise
    await report(value, error)


def _cancel_request(call_soon: _CallSoon, scope: anyio.CancelScope, future: concurrent.futures.Future[Any]) -> None:
    if future.cancelled():
        try:
            call_soon(scope.cancel)
        except RuntimeError:
            pass  # the event loop has ended: nothing is left to cancel


async def _report(
    future: TargetFuture[T],
    callback: Callable[[T], object] | None,
    err_callback: Callable[[BaseException], object] | None,
    logger: logging.Logger,
    executor: concurrent.futures.Executor | None,
    value: T | None,
    error: Exception | None,
) -> None:
    """Call the user's callback for the outcome, then settle the future."""
    outcome: BaseException | None = concurrent.futures.CancelledError() if future.cancelled() else error
    if executor is not None:
        try:
            executor.submit(_deliver, future, callback, err_callback, logger, value, outcome)
            return
        except RuntimeError:
            pass  # the pool is shut down (the interpreter is exiting): deliver here
        _deliver(future, callback, err_callback, logger, value, outcome)
        return
    future._callback_thread = threading.get_ident()
    try:
        result = _call_user(callback, err_callback, logger, value, outcome)
        if inspect.isawaitable(result):
            try:
                await result
            except Exception:
                logger.exception("A callback of a Target call raised")
    finally:
        future._callback_thread = None
        _settle(future, value, outcome)


def _deliver(
    future: TargetFuture[T],
    callback: Callable[[T], object] | None,
    err_callback: Callable[[BaseException], object] | None,
    logger: logging.Logger,
    value: T | None,
    outcome: BaseException | None,
) -> None:
    future._callback_thread = threading.get_ident()
    try:
        _call_user(callback, err_callback, logger, value, outcome)
    finally:
        future._callback_thread = None
        _settle(future, value, outcome)


def _call_user(
    callback: Callable[[T], object] | None,
    err_callback: Callable[[BaseException], object] | None,
    logger: logging.Logger,
    value: T | None,
    outcome: BaseException | None,
) -> object:
    try:
        if outcome is not None:
            return None if err_callback is None else err_callback(outcome)
        return None if callback is None else callback(cast(T, value))
    except Exception:
        logger.exception("A callback of a Target call raised")
        return None


def _settle(future: TargetFuture[T], value: T | None, outcome: BaseException | None) -> None:
    try:
        if outcome is None:
            future.set_result(cast(T, value))
        elif not isinstance(outcome, concurrent.futures.CancelledError):
            future.set_exception(outcome)
    except concurrent.futures.InvalidStateError:
        pass  # cancelled meanwhile: the cancellation stands
