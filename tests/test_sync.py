"""TargetClient (the blocking shim) against the local edge over real loopback HTTP."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import textwrap
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Callable

import pytest

import target_async
from target_async import (
    ClientStateError,
    DeliveryRequest,
    ExecuteRequest,
    MboxRequest,
    MetricType,
    Notification,
    NotificationMbox,
    TargetConfigError,
    TargetValidationError,
)
from target_async._sync import TargetClient
from target_async.testing import Fault, LocalEdge

HOME = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home")]))


def notification_request(notification_id: str) -> DeliveryRequest:
    return DeliveryRequest(
        notifications=[
            Notification(
                id=notification_id,
                type=MetricType.DISPLAY,
                timestamp=1_700_000_000_000,
                mbox=NotificationMbox(name="home"),
            )
        ]
    )


def thread_names() -> set[str]:
    return {t.name for t in threading.enumerate()}


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Poll `condition` for at most `seconds`; whether it became true."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_blocking_calls_return_what_the_async_client_returns(target_edge_thread: LocalEdge) -> None:
    edge = target_edge_thread
    with TargetClient.create(edge.client_options()) as client:
        offers = client.get_offers({"request": HOME, "session_id": "sync-session"})
        attributes = client.get_attributes(["feature-flags"], session_id="sync-session")
        sent = client.send_notifications(
            request=notification_request("n-1"), session_id="sync-session"
        )

    assert offers.response.execute.mboxes[0].options[0].content == "HOME OFFER"
    assert offers.target_cookie.value.startswith("session#sync-session#")
    assert attributes.get_value("feature-flags", "buttonColor") == "#0055ff"
    assert sent.response.notifications[0].id == "n-1"
    assert [n.id for n in edge.notifications] == ["n-1"]
    assert {r.query["sessionId"] for r in edge.requests} == {"sync-session"}
    assert TargetClient.get_visitor_cookie_name("X@AdobeOrg") == "AMCV_X@AdobeOrg"
    assert TargetClient.TARGET_COOKIE_NAME == "mbox"


def test_sixteen_threads_share_one_client(target_edge_thread: LocalEdge) -> None:
    per_thread = 200
    failures: list[str] = []
    done: list[int] = []

    def visitor(k: int) -> None:
        session_id = f"thread-{k}"
        tnt_id = f"{uuid.uuid4().hex}.{k + 10}_0"
        cookie = target_async._cookies.target_cookie(session_id, tnt_id).value
        try:
            for i in range(per_thread):
                mbox = f"mbox-{k}-{i}"
                result = client.get_offers(
                    request=DeliveryRequest(
                        execute=ExecuteRequest(mboxes=[MboxRequest(name=mbox)])
                    ),
                    target_cookie=cookie,
                )
                if (
                    result.response.id.tnt_id != tnt_id
                    or not result.target_cookie.value.startswith(f"session#{session_id}#")
                    or result.target_location_hint_cookie.value != str(k + 10)
                    or result.response.execute.mboxes[0].name != mbox
                ):
                    failures.append(f"thread {k} call {i}: {result!r}")
                    return
            done.append(k)
        except Exception:
            failures.append(traceback.format_exc())

    with TargetClient.create(target_edge_thread.client_options(timeout=30_000)) as client:
        threads = [threading.Thread(target=visitor, args=(k,)) for k in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

    assert failures == []
    assert sorted(done) == list(range(16))
    assert len(target_edge_thread.requests) == 16 * per_thread
    hosts = {r.query["sessionId"]: r.host for r in target_edge_thread.requests}
    assert hosts == {f"thread-{k}": f"mboxedge{k + 10}.tt.omtrdc.net" for k in range(16)}


def test_lifecycle_without_with(target_edge_thread: LocalEdge) -> None:
    before = thread_names()
    client = TargetClient.create(**target_edge_thread.client_options())
    assert "target-async-loop" in thread_names() - before
    assert client.get_offers(request=HOME).response.status == 200
    client.close()
    client.close()
    assert thread_names() <= before
    with pytest.raises(ClientStateError, match="closed"):
        client.get_offers(request=HOME)


def test_a_client_dropped_without_close_stops_its_threads(target_edge_thread: LocalEdge) -> None:
    before = thread_names()
    client = TargetClient.create(target_edge_thread.client_options())
    client.get_offers(request=HOME, callback=lambda _: None).get(timeout=10)
    del client
    gc.collect()
    assert wait_until(lambda: thread_names() <= before)


def test_bad_options_raise_in_the_caller_and_start_nothing(target_edge_thread: LocalEdge) -> None:
    before = thread_names()
    with pytest.raises(TargetConfigError, match="Organization Id is required"):
        TargetClient.create({"client": "demo"})
    assert thread_names() == before
    with (
        TargetClient.create(target_edge_thread.client_options()) as client,
        pytest.raises(target_async.TargetValidationError, match="Unknown option 'targetCookie'"),
    ):
        client.get_offers({"request": HOME, "targetCookie": "x"})
    assert target_edge_thread.requests == []


def test_calling_from_its_own_loop_thread_raises(target_edge_thread: LocalEdge) -> None:
    with TargetClient.create(target_edge_thread.client_options()) as client:

        def call_from_loop() -> BaseException | None:
            try:
                client.get_offers(request=HOME)
            except ClientStateError as error:
                return error
            return None

        error = client._runtime.portal.call(call_from_loop)
        assert error is not None and "own event loop thread" in str(error)
        assert client.get_offers(request=HOME).response.status == 200


def test_works_from_threads_running_their_own_asyncio_loop(target_edge_thread: LocalEdge) -> None:
    results: list[int] = []

    async def handler() -> None:
        # Blocking inside a coroutine is poor style but must work: this loop is not the client's.
        results.append(client.get_offers(request=HOME).response.status)

    async def awaits_a_future() -> None:
        future = client.get_offers(request=HOME, callback=lambda _: None)
        results.append((await future).response.status)

    with TargetClient.create(target_edge_thread.client_options()) as client:
        asyncio.run(handler())
        thread = threading.Thread(target=asyncio.run, args=(handler(),))
        thread.start()
        thread.join(10)
        # A TargetFuture can be awaited from any event loop, not only the client's.
        asyncio.run(awaits_a_future())
    assert results == [200, 200, 200]


def test_enqueued_notifications_are_flushed(target_edge_thread: LocalEdge) -> None:
    with TargetClient.create(target_edge_thread.client_options()) as client:
        assert client.enqueue_notifications(request=notification_request("q-1"), session_id="s")
        assert client.flush(5_000) is True
        assert [n.id for n in target_edge_thread.notifications] == ["q-1"]
        assert client.notification_stats.sent == 1
        assert client.enqueue_notifications(request=notification_request("q-2"), session_id="s")
    # close() drains what is still queued.
    assert [n.id for n in target_edge_thread.notifications] == ["q-1", "q-2"]


def test_a_malformed_notification_request_is_refused_and_the_client_carries_on(
    target_edge_thread: LocalEdge,
) -> None:
    good = {"notifications": [{"id": "ok", "type": "display", "timestamp": 1}]}
    with TargetClient.create(target_edge_thread.client_options()) as client:
        with pytest.raises(TargetValidationError, match=r"request\.context must be an object"):
            client.enqueue_notifications(request={**good, "context": 5})
        assert client.enqueue_notifications(request=good)
        assert client.flush(5_000) is True
        assert client.get_offers(request=HOME).response.status == 200
    assert [n.id for n in target_edge_thread.notifications] == ["ok"]


def _fork_and_wait(child: Callable[[], int], seconds: float = 20.0) -> int:
    """Run `child()` in a forked process; its exit status (bounded wait)."""
    with warnings.catch_warnings():
        # Python 3.12+ warns about forking a process with threads: that is the case under test.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        code = 70
        try:
            code = child()
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    deadline = time.monotonic() + seconds
    while True:
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.01)


def test_a_client_created_before_fork_works_in_the_child(target_edge_thread: LocalEdge) -> None:
    edge = target_edge_thread
    # The default transport, as in production (a custom one cannot follow a fork).
    options = edge.client_options(
        transport=None, server_domain=f"127.0.0.1:{edge.port}", secure=False
    )
    with TargetClient.create(options) as client:
        assert client.get_offers(request=HOME, session_id="parent-1").response.status == 200

        def child() -> int:
            result = client.get_offers(request=HOME, session_id="child")
            return 0 if result.target_cookie.value.startswith("session#child#") else 1

        assert _fork_and_wait(child) == 0
        assert client.get_offers(request=HOME, session_id="parent-2").response.status == 200
    assert [r.query["sessionId"] for r in edge.requests] == ["parent-1", "child", "parent-2"]


def test_a_client_with_a_custom_transport_refuses_to_run_in_a_forked_child(
    target_edge_thread: LocalEdge,
) -> None:
    with TargetClient.create(target_edge_thread.client_options()) as client:
        client.get_offers(request=HOME)

        def child() -> int:
            try:
                client.get_offers(request=HOME)
            except ClientStateError as error:
                return 0 if "post_fork" in str(error) else 2
            return 1

        assert _fork_and_wait(child) == 0
        assert client.get_offers(request=HOME).response.status == 200
    assert len(target_edge_thread.requests) == 2


EXIT_WITHOUT_CLOSE = textwrap.dedent(
    """
    import sys
    from target_async import DeliveryRequest, ExecuteRequest, MboxRequest
    from target_async._sync import TargetClient
    from target_async.testing import EdgeTransport

    client = TargetClient.create(
        client="demo", organization_id="ORG@AdobeOrg", transport=EdgeTransport("127.0.0.1", int(sys.argv[1]))
    )
    home = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home")]))
    assert client.get_offers(request=home, session_id="exiting").response.status == 200
    client.enqueue_notifications(
        {"request": {"notifications": [{"id": "at-exit", "type": "display", "timestamp": 1}]}},
        session_id="exiting",
    )
    # In flight at exit: the edge stalls requests to this cluster.
    client.get_offers(
        request=home,
        target_location_hint="77",
        err_callback=lambda error: print("err_callback", type(error).__name__, flush=True),
    )
    print("leaving without close", flush=True)
    """
)


def test_a_process_that_forgets_close_exits_promptly_and_flushes(
    target_edge_thread: LocalEdge,
) -> None:
    edge = target_edge_thread
    edge.faults.add(Fault(kind="latency", delay=60, host="mboxedge77.tt.omtrdc.net"))
    finished = subprocess.run(
        [sys.executable, "-c", EXIT_WITHOUT_CLOSE, str(edge.port)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines() == ["leaving without close", "err_callback CancelledError"]
    assert [n.id for n in edge.notifications] == ["at-exit"]


STALLED_CLOSE = textwrap.dedent(
    """
    import sys
    import target_async._sync
    from target_async._sync import TargetClient
    from target_async.testing import EdgeTransport

    target_async._sync.EXIT_TIMEOUT = 0.5
    client = TargetClient.create(
        client="demo",
        organization_id="ORG@AdobeOrg",
        transport=EdgeTransport("127.0.0.1", int(sys.argv[1])),
        shutdown_timeout=600_000,
    )
    # Its delivery stalls, and the client would wait for it 10 minutes when closing.
    client.enqueue_notifications(
        {"request": {"notifications": [{"id": "stalled", "type": "display", "timestamp": 1}]}},
        target_location_hint="77",
    )
    print("leaving without close", flush=True)
    """
)


def test_closing_at_exit_gives_up_after_its_deadline(target_edge_thread: LocalEdge) -> None:
    edge = target_edge_thread
    edge.faults.add(Fault(kind="latency", delay=60, host="mboxedge77.tt.omtrdc.net"))
    finished = subprocess.run(
        [sys.executable, "-c", STALLED_CLOSE, str(edge.port)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == "leaving without close\n"
    assert "did not close within 0.5 s; abandoning its thread and the 1 notifications it had not sent" in finished.stderr
