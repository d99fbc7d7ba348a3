"""`callback=` / `err_callback=` on both clients: the `TargetFuture` they return, where the
callbacks run, cancellation, and that nothing leaks. Against the local edge over loopback."""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from target_async import (
    AsyncTargetClient,
    AttributesProvider,
    BadRequestError,
    ClientStateError,
    DeliveryRequest,
    ExecuteRequest,
    MboxRequest,
    MetricType,
    Notification,
    NotificationMbox,
    TargetDeliveryResponse,
    TargetValidationError,
)
from target_async._future import TargetFuture
from target_async._sync import CALLBACK_WORKERS, TargetClient
from target_async.testing import SAMPLE_ARTIFACT_PATH, Fault, LocalEdge

HOME = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home")]))
NOTIFICATION = DeliveryRequest(
    notifications=[
        Notification(id="n-1", type=MetricType.DISPLAY, timestamp=1_700_000_000_000, mbox=NotificationMbox(name="home"))
    ]
)
# Stalls the request it hits for longer than any test waits.
STALL = 60.0


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# -- AsyncTargetClient --------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_callback_gets_the_response_before_the_future_is_ready(target_edge: LocalEdge) -> None:
    seen: list[Any] = []
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        future = await client.get_offers({"request": HOME, "callback": seen.append})
        assert isinstance(future, TargetFuture) and isinstance(future, concurrent.futures.Future)
        assert not future.ready()
        with pytest.raises(ValueError, match="not ready"):
            future.successful()
        # Blocking the loop that must run the request would never return.
        with pytest.raises(ClientStateError, match="await future"):
            future.get(timeout=1)
        response = await future
        assert isinstance(response, TargetDeliveryResponse)
        assert seen == [response]
        assert future.ready() and future.successful() and future.get() is response
        assert response.response.execute.mboxes[0].options[0].content == "HOME OFFER"


@pytest.mark.anyio
async def test_async_coroutine_callbacks_are_awaited_and_errors_reported(target_edge: LocalEdge) -> None:
    errors: list[BaseException] = []
    attributes: list[AttributesProvider] = []
    sent: list[TargetDeliveryResponse] = []

    async def on_error(error: BaseException) -> None:
        await anyio.lowlevel.checkpoint()
        errors.append(error)

    async def on_attributes(provider: AttributesProvider) -> None:
        await anyio.lowlevel.checkpoint()
        attributes.append(provider)

    target_edge.faults.add(Fault(kind="status", status_code=400, times=1))
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        failed = await client.get_offers(request=HOME, callback=pytest.fail, err_callback=on_error)
        with pytest.raises(BadRequestError):
            await failed
        assert errors == [failed.exception()]
        assert not failed.successful()

        provider = await (await client.get_attributes(["feature-flags"], callback=on_attributes))
        assert attributes == [provider]
        assert provider.get_value("feature-flags", "buttonColor") == "#0055ff"

        notified = await client.send_notifications(request=NOTIFICATION, callback=sent.append)
        assert (await notified).response.notifications[0].id == "n-1"
        assert sent == [notified.result()]
    assert [n.id for n in target_edge.notifications] == ["n-1"]


@pytest.mark.anyio
async def test_async_callbacks_need_an_entered_open_client(target_edge: LocalEdge) -> None:
    client = AsyncTargetClient.create(target_edge.client_options())
    with pytest.raises(ClientStateError, match="async with"):
        await client.get_offers(request=HOME, callback=print)
    await client.aclose()
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        # Bad input still raises in the caller, and no callback runs.
        with pytest.raises(TargetValidationError, match="Request object"):
            await client.get_offers({"callback": pytest.fail})
        with pytest.raises(TargetValidationError, match="Callback must be a callable"):
            await client.get_offers(request=HOME, callback="not callable")
    with pytest.raises(ClientStateError, match="closed"):
        await client.get_offers(request=HOME, callback=print)
    assert target_edge.requests == []


@pytest.mark.anyio
async def test_async_raising_callback_is_logged_and_the_future_keeps_the_result(
    target_edge: LocalEdge, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(response: TargetDeliveryResponse) -> None:
        raise RuntimeError("user bug")

    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        future = await client.get_offers(request=HOME, callback=broken)
        assert (await future).response.status == 200
        assert future.successful()
        assert (await client.get_offers(request=HOME)).response.status == 200
    [record] = [r for r in caplog.records if r.name == "target_async" and r.exc_info]
    assert "callback" in record.getMessage() and "user bug" in str(record.exc_info[1])


@pytest.mark.anyio
async def test_async_cancel_stops_the_request_and_reports_it(target_edge: LocalEdge) -> None:
    errors: list[BaseException] = []
    reported = anyio.Event()

    def on_error(error: BaseException) -> None:
        errors.append(error)
        reported.set()

    target_edge.faults.add(Fault(kind="latency", delay=STALL, times=1))
    async with AsyncTargetClient.create(target_edge.client_options(timeout=STALL * 2_000)) as client:
        future = await client.get_offers(request=HOME, err_callback=on_error)
        await target_edge_received(target_edge, 1)
        assert future.cancel()
        # The stalled request is cut short: the report comes long before the stall ends.
        with anyio.fail_after(10):
            await reported.wait()
        assert future.cancelled()
        assert [type(e) for e in errors] == [concurrent.futures.CancelledError]
        with pytest.raises(concurrent.futures.CancelledError):
            await future
        assert (await client.get_offers(request=HOME)).response.status == 200


@pytest.mark.anyio
async def test_async_closing_the_client_cancels_pending_callback_calls(target_edge: LocalEdge) -> None:
    errors: list[BaseException] = []
    target_edge.faults.add(Fault(kind="latency", delay=STALL, times=1))
    with anyio.fail_after(10):
        async with AsyncTargetClient.create(target_edge.client_options(timeout=STALL * 2_000)) as client:
            future = await client.get_offers(request=HOME, err_callback=errors.append)
            await target_edge_received(target_edge, 1)
    assert future.cancelled()
    assert [type(e) for e in errors] == [concurrent.futures.CancelledError]


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["on-device", "hybrid"])
async def test_async_callbacks_fire_in_on_device_modes(method: str) -> None:
    seen: list[TargetDeliveryResponse] = []
    async with LocalEdge(artifact=SAMPLE_ARTIFACT_PATH) as edge:
        options = edge.client_options(decisioning_method=method)
        async with AsyncTargetClient.create(options) as client:
            request = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="feature-flags")]))
            response = await (await client.get_offers(request=request, callback=seen.append))
    assert seen == [response]
    assert response.meta.decisioning_method == "on-device"
    assert response.response.execute.mboxes[0].name == "feature-flags"


async def target_edge_received(edge: LocalEdge, count: int) -> None:
    """Wait (bounded) until the edge has received `count` requests."""
    with anyio.fail_after(10):
        while len(edge.requests) < count:  # noqa: ASYNC110 - the edge records from its own task
            await anyio.sleep(0.005)


# -- TargetClient -------------------------------------------------------------------------


def test_sync_callbacks_run_on_the_callback_pool_before_the_future_is_ready(target_edge_thread: LocalEdge) -> None:
    seen: list[tuple[str, int, TargetDeliveryResponse]] = []
    done_callbacks: list[int] = []

    def on_offers(response: TargetDeliveryResponse) -> None:
        seen.append((threading.current_thread().name, threading.get_ident(), response))

    with TargetClient.create(target_edge_thread.client_options()) as client:
        loop_thread = client._runtime.loop_thread
        futures = [client.get_offers(request=HOME, callback=on_offers) for _ in range(8)]
        futures[0].add_done_callback(lambda _: done_callbacks.append(threading.get_ident()))
        responses = [future.get(timeout=10) for future in futures]
        # get() returning means the callback ran (as with AsyncResult).
        assert len(seen) == 8
        assert sorted(id(r) for _, _, r in seen) == sorted(id(r) for r in responses)
        assert all(name.startswith("target-async-callback") for name, _, _ in seen)
        assert {ident for _, ident, _ in seen}.isdisjoint({loop_thread, threading.get_ident()})
        assert wait_until(lambda: len(done_callbacks) == 1)
        assert done_callbacks[0] != loop_thread


@pytest.mark.parametrize("method", ["server-side", "on-device", "hybrid"])
def test_sync_callbacks_fire_in_every_decisioning_mode(method: str) -> None:
    with LocalEdge.run_in_thread(artifact=SAMPLE_ARTIFACT_PATH) as edge:
        seen: list[AttributesProvider] = []
        with TargetClient.create(edge.client_options(decisioning_method=method)) as client:
            provider = client.get_attributes(["feature-flags"], callback=seen.append).get(timeout=10)
    assert seen == [provider]
    assert provider.get_response().meta.decisioning_method == (
        "server-side" if method == "server-side" else "on-device"
    )


def test_sync_get_times_out_while_the_edge_stalls_and_cancel_stops_the_request(
    target_edge_thread: LocalEdge,
) -> None:
    errors: list[BaseException] = []
    reported = threading.Event()

    def on_error(error: BaseException) -> None:
        errors.append(error)
        reported.set()

    target_edge_thread.faults.add(Fault(kind="latency", delay=STALL, times=1))
    with TargetClient.create(target_edge_thread.client_options(timeout=STALL * 2_000)) as client:
        future = client.get_offers(request=HOME, err_callback=on_error)
        with pytest.raises(TimeoutError):
            future.get(timeout=0.2)
        future.wait(timeout=0.05)
        assert not future.ready()
        assert future.cancel()
        assert reported.wait(10)
        assert [type(e) for e in errors] == [concurrent.futures.CancelledError]
        with pytest.raises(concurrent.futures.CancelledError):
            future.get()
        assert client.get_offers(request=HOME).response.status == 200


def test_sync_slow_callback_stalls_neither_requests_nor_other_callbacks(target_edge_thread: LocalEdge) -> None:
    release = threading.Event()
    with TargetClient.create(target_edge_thread.client_options()) as client:
        slow = client.get_offers(request=HOME, callback=lambda _: release.wait(10))
        assert client.get_offers(request=HOME).response.status == 200
        assert client.get_offers(request=HOME, callback=lambda _: None).get(timeout=10).response.status == 200
        assert not slow.ready()
        release.set()
        assert slow.get(timeout=10).response.status == 200


def test_sync_callback_errors_are_logged_and_waiting_inside_a_callback_raises(
    target_edge_thread: LocalEdge, caplog: pytest.LogCaptureFixture
) -> None:
    inside: list[BaseException] = []
    futures: list[TargetFuture[TargetDeliveryResponse]] = []
    started = threading.Event()

    def waits_for_itself(response: TargetDeliveryResponse) -> None:
        started.wait(10)
        try:
            futures[0].get()
        except ClientStateError as error:
            inside.append(error)
        raise RuntimeError("user bug")

    with TargetClient.create(target_edge_thread.client_options()) as client:
        futures.append(client.get_offers(request=HOME, callback=waits_for_itself))
        started.set()
        assert futures[0].get(timeout=10).response.status == 200
        assert client.get_offers(request=HOME).response.status == 200
    assert len(inside) == 1 and "inside the callback" in str(inside[0])
    assert any(r.name == "target_async" and "user bug" in str(r.exc_info and r.exc_info[1]) for r in caplog.records)


def test_sync_refuses_coroutine_callbacks(target_edge_thread: LocalEdge) -> None:
    async def on_offers(response: TargetDeliveryResponse) -> None:
        raise AssertionError("never called")

    with (
        TargetClient.create(target_edge_thread.client_options()) as client,
        pytest.raises(TargetValidationError, match="plain functions"),
    ):
        client.get_offers(request=HOME, callback=on_offers)
    assert target_edge_thread.requests == []


def _threads_and_fds() -> tuple[int, int]:
    return threading.active_count(), len(os.listdir("/proc/self/fd"))


def test_sync_many_callback_calls_leave_no_threads_or_files_behind(target_edge_thread: LocalEdge) -> None:
    baseline = _threads_and_fds()
    completed = 0
    with TargetClient.create(target_edge_thread.client_options()) as client:
        for _ in range(15):
            wave = [client.get_offers(request=HOME, callback=lambda _: None) for _ in range(20)]
            completed += sum(f.get(timeout=10).response.status == 200 for f in wave)
            threads, _ = _threads_and_fds()
            # The loop thread plus at most the callback pool, however many calls were made.
            assert threads <= baseline[0] + 1 + CALLBACK_WORKERS
    assert completed == 300
    # Closed connections leave the edge's side of them a moment later.
    wait_until(lambda: _threads_and_fds() == baseline)
    assert _threads_and_fds() == baseline
