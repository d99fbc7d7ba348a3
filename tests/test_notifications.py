"""Background notifications (`enqueue_notifications`) against the local edge over loopback."""

from __future__ import annotations

import collections
import json
import logging
import math
import re
import subprocess
import sys
import textwrap
from typing import Any

import anyio
import httpx
import pytest

from target_async import (
    AsyncTargetClient,
    AuthenticationError,
    ClientStateError,
    RetryPolicy,
    ServerError,
    TargetConfigError,
    TargetValidationError,
)
from target_async import _notifications as notifications_module
from target_async._config import (
    DEFAULT_NOTIFICATION_RETRY,
    DEFAULT_SHUTDOWN_TIMEOUT,
    parse_config,
)
from target_async._delivery import validate_request
from target_async._events import TargetEvent
from target_async._options import CallOptions
from target_async.testing import Fault, LocalEdge
from tests.openapi import validate_delivery_request

pytestmark = pytest.mark.anyio

# Tests must not sleep through production backoffs; the Retry-After cap keeps a fault's
# `Retry-After: 1` from slowing them down too.
FAST_RETRY = RetryPolicy(
    max_retries=50, initial_delay=0.001, max_delay=0.005, max_retry_after=0.005
)
LOGGER = "target_async.notifications"


def notification(notification_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": notification_id, "type": "display", "timestamp": 1_700_000_000_000, **extra}


def visitor_request(visitor: int, notification_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": {"tntId": f"tnt-{visitor}.{visitor % 40}_0"},
        "notifications": [notification(notification_id)],
        **extra,
    }


def client_for(edge: LocalEdge, **overrides: Any) -> AsyncTargetClient:
    options: dict[str, Any] = {
        "notification_retry": FAST_RETRY,
        "shutdown_timeout": 60_000,
        **overrides,
    }
    return AsyncTargetClient.create(edge.client_options(**options))


def enqueue_for_visitors(client: AsyncTargetClient, visitors: int, per_visitor: int) -> set[str]:
    """One request per notification, visitors interleaved; all queued before the worker runs."""
    ids = set()
    for k in range(per_visitor):
        for v in range(visitors):
            notification_id = f"{v}:{k}"
            assert client.enqueue_notifications(
                request=visitor_request(v, notification_id), session_id=f"session-{v}"
            )
            ids.add(notification_id)
    return ids


def assert_one_visitor_per_request(edge: LocalEdge) -> None:
    for recorded in edge.notifications:
        visitor = recorded.id.split(":")[0]
        assert recorded.tnt_id == f"tnt-{visitor}.{int(visitor) % 40}_0"
        assert recorded.session_id == f"session-{visitor}"
    for request in edge.requests:
        assert len({n["id"].split(":")[0] for n in request.json["notifications"]}) == 1


async def test_ten_thousand_notifications_arrive_exactly_once_when_the_edge_is_healthy(
    target_edge: LocalEdge,
) -> None:
    async with client_for(target_edge) as client:
        ids = enqueue_for_visitors(client, visitors=1000, per_visitor=10)

    counts = collections.Counter(n.id for n in target_edge.notifications)
    assert set(counts) == ids and set(counts.values()) == {1}
    assert_one_visitor_per_request(target_edge)
    # Each visitor's ten requests waited together, so they went out as one.
    assert len(target_edge.requests) == 1000
    assert client.notification_stats.requests == 1000
    stats = client.notification_stats
    assert (
        stats.enqueued,
        stats.sent,
        stats.retried,
        stats.dropped,
        stats.failed,
        stats.pending,
    ) == (
        10_000,
        10_000,
        0,
        0,
        0,
        0,
    )
    for request in target_edge.requests[:50]:
        validate_delivery_request(request.json)


async def test_every_notification_arrives_through_503s_and_connection_resets(
    target_edge: LocalEdge,
) -> None:
    # Rules apply in order: 5 % of requests are reset, and 30 % of all of them answer 503.
    reset = target_edge.faults.add(Fault(kind="reset", fraction=0.05))
    unavailable = target_edge.faults.add(
        Fault(kind="status", status_code=503, retry_after=1, fraction=0.30 / 0.95)
    )
    async with client_for(target_edge) as client:
        ids = enqueue_for_visitors(client, visitors=1000, per_visitor=10)

    assert target_edge.faults.applied(reset) > 0 and target_edge.faults.applied(unavailable) > 0
    assert {n.id for n in target_edge.notifications} == ids
    assert_one_visitor_per_request(target_edge)
    stats = client.notification_stats
    assert stats.sent == stats.enqueued == 10_000
    assert stats.failed == stats.dropped == stats.pending == 0
    assert stats.retried > 0
    assert stats.requests == len(target_edge.requests)


async def test_waiting_requests_of_one_visitor_are_coalesced_up_to_the_batch_size(
    target_edge: LocalEdge,
) -> None:
    async with client_for(target_edge, notification_batch_size=50) as client:
        client._telemetry.add(
            {"requestId": "r-1", "timestamp": 1_700_000_000_000, "execution": 1.5}
        )
        for k in range(120):
            client.enqueue_notifications(
                request=visitor_request(1, f"1:{k}"), session_id="session-1"
            )
            if k < 30:
                client.enqueue_notifications(
                    request=visitor_request(2, f"2:{k}"), session_id="session-2"
                )
        # Same visitor and session, other page: its context must not be merged into the others'.
        client.enqueue_notifications(
            request=visitor_request(
                1, "1:other-page", context={"channel": "web", "address": {"url": "https://x/2"}}
            ),
            session_id="session-1",
        )
        assert await client.flush()

    sizes = sorted(len(r.json["notifications"]) for r in target_edge.requests)
    assert sizes == [1, 20, 30, 50, 50]
    assert_one_visitor_per_request(target_edge)
    other_page = [
        r for r in target_edge.requests if r.json["notifications"][0]["id"] == "1:other-page"
    ]
    assert other_page[0].json["context"]["address"]["url"] == "https://x/2"
    # Visitor 1's first batch keeps its order; telemetry rode along with exactly one request.
    assert [n["id"] for n in target_edge.requests[0].json["notifications"]] == [
        f"1:{k}" for k in range(50)
    ]
    with_telemetry = [
        r.json["telemetry"]["entries"] for r in target_edge.requests if "telemetry" in r.json
    ]
    assert with_telemetry == [
        [{"requestId": "r-1", "timestamp": 1_700_000_000_000, "execution": 1.5}]
    ]
    for request in target_edge.requests:
        validate_delivery_request(request.json)


async def test_a_busy_visitor_costs_the_worker_linear_work(
    target_edge: LocalEdge, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Many waiting requests of one visitor go out in many batches: each batch must look at
    # the requests it takes, not at everything still waiting (which would be quadratic).
    calls = 0
    apply_defaults = notifications_module.apply_request_defaults

    def counted(config: Any, body: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        apply_defaults(config, body)

    monkeypatch.setattr(notifications_module, "apply_request_defaults", counted)
    requests = 1_000
    async with client_for(target_edge, notification_batch_size=10, notification_concurrency=1) as client:
        for k in range(requests):
            client.enqueue_notifications(request=visitor_request(1, f"1:{k}"), session_id="session-1")
        assert await client.flush()

    assert len(target_edge.requests) == requests // 10
    assert requests <= calls <= requests + len(target_edge.requests)


async def test_enqueued_requests_get_their_defaults_when_sent_and_coalesce_as_if_they_had_them(
    target_edge: LocalEdge,
) -> None:
    # enqueue_notifications leaves the defaults that cannot fail to the worker: what reaches
    # the edge must still be a complete request, and a request that names the configured
    # property token must share a batch with one that gets it by default.
    async with client_for(target_edge, property_token="cfg-token", environment_id=7) as client:
        given = {"channel": "mobile", "timeOffsetInMinutes": 60}
        first = visitor_request(1, "1:a", context=given)
        client.enqueue_notifications(request=first, session_id="session-1")
        client.enqueue_notifications(
            request=visitor_request(1, "1:b", context=given, property={"token": "cfg-token"}),
            session_id="session-1",
        )
        client.enqueue_notifications(request=visitor_request(2, "2:a"), session_id="session-2")
        assert await client.flush()
        assert "requestId" not in first and first["context"] is given  # the caller's request is untouched

    by_visitor = {r.json["notifications"][0]["id"].split(":")[0]: r.json for r in target_edge.requests}
    assert len(target_edge.requests) == 2
    assert [n["id"] for n in by_visitor["1"]["notifications"]] == ["1:a", "1:b"]
    assert by_visitor["1"]["context"] == given
    defaulted = by_visitor["2"]
    assert defaulted["context"]["channel"] == "web"
    assert isinstance(defaulted["context"]["timeOffsetInMinutes"], (int, float))
    for body in by_visitor.values():
        assert body["requestId"] and body["environmentId"] == 7
        assert body["property"] == {"token": "cfg-token"}
        assert body["experienceCloud"] == {"analytics": {"logging": "server_side"}}
        validate_delivery_request(body)


async def test_enqueued_requests_go_to_the_edge_their_visitor_and_location_hint_pick(
    target_edge: LocalEdge,
) -> None:
    # The worker works out the edge host when it sends: the tntId's cluster wins over the
    # call's location hint, which wins over the client's host.
    async with client_for(target_edge) as client:
        client.enqueue_notifications(request=visitor_request(7, "tnt"), target_location_hint="31")
        client.enqueue_notifications(request={"notifications": [notification("hint")]}, target_location_hint="31")
        client.enqueue_notifications(request={"notifications": [notification("none")]})
        assert await client.flush()

    hosts = {n.id: n.host for n in target_edge.notifications}
    assert hosts == {
        "tnt": "mboxedge7.tt.omtrdc.net",
        "hint": "mboxedge31.tt.omtrdc.net",
        "none": f"{target_edge.client}.tt.omtrdc.net",
    }


async def test_a_full_queue_drops_counts_and_warns_once(
    target_edge: LocalEdge, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        async with client_for(target_edge, notification_queue_size=5) as client:
            accepted = [
                client.enqueue_notifications(request=visitor_request(i, f"{i}:0")) for i in range(8)
            ]
            assert accepted == [True] * 5 + [False] * 3
            assert client.notification_stats.dropped == 3
            # Dropped notifications were enqueued before the flush, and not delivered.
            assert await client.flush() is False
            # Room again once the queue drained.
            assert client.enqueue_notifications(request=visitor_request(9, "9:0"))
            assert await client.flush() is True

    assert sorted(n.id for n in target_edge.notifications) == [
        "0:0",
        "1:0",
        "2:0",
        "3:0",
        "4:0",
        "9:0",
    ]
    stats = client.notification_stats
    assert (stats.enqueued, stats.sent, stats.dropped, stats.failed) == (6, 6, 3, 0)
    warnings = [r.getMessage() for r in caplog.records if "queue full" in r.getMessage()]
    assert len(warnings) == 1 and "dropped 1 notifications" in warnings[0]


async def test_the_shutdown_deadline_gives_up_reports_and_logs_the_exact_count(
    target_edge: LocalEdge, caplog: pytest.LogCaptureFixture
) -> None:
    target_edge.faults.add(Fault(kind="status", status_code=503))
    events: list[TargetEvent] = []
    retry_forever = RetryPolicy(max_retries=10_000, initial_delay=0.02, max_delay=0.02)
    client = client_for(
        target_edge,
        shutdown_timeout=200,
        notification_retry=retry_forever,
        events={"send_notification_error": events.append},
    )
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        async with client:
            for i in range(7):
                client.enqueue_notifications(
                    request=visitor_request(i % 3, f"{i % 3}:{i}"), session_id=f"session-{i % 3}"
                )
            with anyio.fail_after(5):
                while not client.notification_stats.retried:  # noqa: ASYNC110 - bounded by fail_after
                    await anyio.sleep(0.01)

    stats = client.notification_stats
    assert (stats.enqueued, stats.sent, stats.failed, stats.pending) == (7, 0, 7, 0)
    lost = [r.getMessage() for r in caplog.records if "not delivered" in r.getMessage()]
    assert len(lost) == 1 and lost[0].startswith("7 notifications were not delivered")
    assert "shutdown_timeout of 200 ms" in lost[0]
    assert sorted(e.notification["id"] for e in events) == sorted(f"{i % 3}:{i}" for i in range(7))
    # Each had been tried: the event carries the edge's last answer.
    assert all(isinstance(e.error, ServerError) and e.error.status_code == 503 for e in events)
    assert target_edge.notifications == []


async def test_the_shutdown_deadline_counts_requests_still_waiting_for_a_send_slot(
    target_edge: LocalEdge, caplog: pytest.LogCaptureFixture
) -> None:
    # One send slot, held by a slow first request: what is enqueued after it is never taken
    # by the dispatcher, and must still be counted, logged and reported at the deadline.
    target_edge.faults.add(Fault(kind="latency", delay=2.0, path="/rest/v1/delivery"))
    events: list[TargetEvent] = []
    client = client_for(
        target_edge,
        shutdown_timeout=200,
        notification_concurrency=1,
        events={"send_notification_error": events.append},
    )
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        async with client:
            client.enqueue_notifications(request=visitor_request(0, "0:first"), session_id="session-0")
            with anyio.fail_after(5):
                while not target_edge.requests:  # noqa: ASYNC110 - bounded by fail_after
                    await anyio.sleep(0.01)
            for i in range(1, 5):
                client.enqueue_notifications(request=visitor_request(i, f"{i}:later"), session_id=f"session-{i}")

    stats = client.notification_stats
    assert (stats.enqueued, stats.sent, stats.failed, stats.pending) == (5, 0, 5, 0)
    lost = [r.getMessage() for r in caplog.records if "not delivered" in r.getMessage()]
    assert len(lost) == 1 and lost[0].startswith("5 notifications were not delivered")
    assert sorted(e.notification["id"] for e in events) == ["0:first", "1:later", "2:later", "3:later", "4:later"]


async def test_a_non_retryable_answer_is_final_counted_logged_and_reported(
    target_edge: LocalEdge, caplog: pytest.LogCaptureFixture
) -> None:
    forbidden = target_edge.faults.add(Fault(kind="status", status_code=403, times=1))
    events: list[TargetEvent] = []
    client = client_for(target_edge, events={"send_notification_error": events.append})
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        async with client:
            client.enqueue_notifications(request=visitor_request(1, "1:a"), session_id="session-1")
            client.enqueue_notifications(request=visitor_request(1, "1:b"), session_id="session-1")
            assert await client.flush() is False
            stats = client.notification_stats
            assert (stats.failed, stats.retried, stats.requests, stats.pending) == (2, 0, 1, 0)
            # The client carries on: the next one is delivered.
            client.enqueue_notifications(request=visitor_request(1, "1:c"), session_id="session-1")
            assert await client.flush() is True

    assert target_edge.faults.applied(forbidden) == 1
    assert [n.id for n in target_edge.notifications] == ["1:c"]
    assert [e.notification["id"] for e in events] == ["1:a", "1:b"]
    assert all(
        isinstance(e.error, AuthenticationError) and e.error.status_code == 403 for e in events
    )
    assert any(
        "Gave up on 2 notifications" in r.getMessage() and "HTTP 403" in r.getMessage()
        for r in caplog.records
    )


async def test_retry_after_is_honoured_as_a_floor_up_to_the_cap(
    target_edge: LocalEdge, caplog: pytest.LogCaptureFixture
) -> None:
    policy = RetryPolicy(max_retries=3, initial_delay=0.001, max_delay=0.001, max_retry_after=0.05)
    async with client_for(target_edge, notification_retry=policy) as client:
        with caplog.at_level(logging.DEBUG, logger=LOGGER):
            target_edge.faults.add(Fault(kind="status", status_code=429, retry_after=0.03, times=1))
            client.enqueue_notifications(request=visitor_request(1, "1:a"))
            assert await client.flush()
            target_edge.faults.add(Fault(kind="status", status_code=503, retry_after=120, times=1))
            client.enqueue_notifications(request=visitor_request(1, "1:b"))
            assert await client.flush()

    delays = [
        r.args[2]
        for r in caplog.records
        if r.getMessage().startswith("Retrying") and isinstance(r.args, tuple)
    ]
    assert delays == [0.03, 0.05]
    assert client.notification_stats.retried == 2


async def test_flush_waits_for_what_was_enqueued_before_it(target_edge: LocalEdge) -> None:
    async with client_for(target_edge) as client:
        assert await client.flush() is True  # nothing pending
        for i in range(20):
            client.enqueue_notifications(request=visitor_request(i, f"{i}:0"))
        assert await client.flush() is True
        assert len(target_edge.notifications) == 20

        target_edge.faults.add(Fault(kind="latency", delay=0.3, times=1))
        client.enqueue_notifications(request=visitor_request(1, "1:slow"))
        assert await client.flush(timeout=20) is False
        assert client.notification_stats.pending == 1
        # A later flush also waits for what an earlier, timed-out one left behind.
        assert await client.flush() is True
        assert target_edge.notifications[-1].id == "1:slow"


async def test_bad_input_raises_the_same_errors_as_send_notifications(
    target_edge: LocalEdge,
) -> None:
    bad_calls: list[dict[str, Any]] = [
        {},
        {"request": {"notifications": []}},
        {"request": {"notifications": [{"id": "", "type": "display", "timestamp": 1}]}},
        {"request": {"notifications": [notification("1")]}, "targetCookie": "x"},
        {"request": {"notifications": [notification("1")]}, "session_id": "has space"},
        {"request": "not a request"},
    ]
    async with client_for(target_edge) as client:
        for options in bad_calls:
            with pytest.raises(TargetValidationError) as sent:
                await client.send_notifications(options)
            with pytest.raises(TargetValidationError) as enqueued:
                client.enqueue_notifications(options)
            assert str(enqueued.value) == str(sent.value)
        with pytest.raises(TargetValidationError, match="send_notification_error"):
            client.enqueue_notifications(request=visitor_request(1, "1:0"), callback=print)
        assert client.notification_stats.enqueued == 0
    assert target_edge.requests == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"context": 5}, "request.context must be an object, got int"),
        ({"id": 5}, "request.id must be an object, got int"),
        ({"id": {"tntId": ["x"]}}, "request.id.tntId must be a string, got list"),
        ({"id": {"tntId": "t", "customerIds": "c"}}, "request.id.customerIds must be a list"),
        ({"property": {"token": 7}}, "request.property.token must be a string, got int"),
        ({"context": {"channel": ["web"]}}, "request.context.channel must be a string"),
        ({"experienceCloud": {"analytics": "a"}}, "request.experienceCloud.analytics must be an object"),
        ({"telemetry": {"entries": 5}}, "request.telemetry.entries must be a list of objects"),
    ],
)
async def test_enqueue_refuses_a_request_the_pipeline_could_not_send_naming_the_field(
    target_edge: LocalEdge, extra: dict[str, Any], message: str
) -> None:
    async with client_for(target_edge) as client:
        with pytest.raises(TargetValidationError, match=re.escape(message)):
            client.enqueue_notifications(request={**visitor_request(1, "1:bad"), **extra})
        with pytest.raises(TargetValidationError, match=re.escape(message)):
            await client.send_notifications(request={**visitor_request(1, "1:bad"), **extra})
        assert client.enqueue_notifications(request=visitor_request(1, "1:good"))
    assert [n.id for n in target_edge.notifications] == ["1:good"]


async def test_a_notification_with_a_non_finite_timestamp_is_dropped_at_the_call(
    target_edge: LocalEdge,
) -> None:
    request = {"notifications": [notification("1:nan", timestamp=math.nan), notification("1:ok")]}
    async with client_for(target_edge) as client:
        with pytest.raises(TargetValidationError, match="all 1 notifications were invalid"):
            client.enqueue_notifications(request={"notifications": [notification("x", timestamp=math.inf)]})
        assert client.enqueue_notifications(request=request)
    assert [n.id for n in target_edge.notifications] == ["1:ok"]


async def test_a_request_the_pipeline_cannot_handle_fails_alone_and_the_pipeline_carries_on(
    target_edge: LocalEdge, caplog: pytest.LogCaptureFixture
) -> None:
    # Requests that got past validation (submitted directly): each must fail alone, counted,
    # logged without its content and reported, and nothing else may be held up or lost.
    events: list[TargetEvent] = []
    bad_bodies = [
        {**visitor_request(1, "1:context"), "context": 5},  # completing the request fails
        {**visitor_request(2, "2:visitor"), "id": {"tntId": ["unhashable"]}},  # filing it fails
        {**visitor_request(3, "3:nan"), "notifications": [notification("3:nan", mbox={"name": math.nan})]},
    ]
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        async with client_for(target_edge, events={"send_notification_error": events.append}) as client:
            pipeline = client._notifications
            for position, body in enumerate(bad_bodies):
                assert pipeline.submit(body, "session-3")
                # Visitor 3's good requests share a batch with its unencodable one.
                assert pipeline.submit(visitor_request(3, f"3:good-{position}"), "session-3")
            assert await client.flush() is False
            stats = client.notification_stats
            assert (stats.enqueued, stats.sent, stats.failed, stats.pending) == (6, 3, 3, 0)
            assert client.enqueue_notifications(request=visitor_request(4, "4:later"))
            assert await client.flush() is True

    assert sorted(n.id for n in target_edge.notifications) == ["3:good-0", "3:good-1", "3:good-2", "4:later"]
    assert sorted(e.notification["id"] for e in events) == ["1:context", "2:visitor", "3:nan"]
    assert all(isinstance(e.error, TargetValidationError) and e.error.__cause__ for e in events)
    gave_up = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert sorted(r.getMessage() for r in gave_up) == [
        "Gave up on 1 notifications: their request could not be prepared for sending (AttributeError)",
        "Gave up on 1 notifications: their request could not be prepared for sending (TypeError)",
        "Gave up on 1 notifications: their request could not be prepared for sending (ValueError)",
    ]
    assert not any("tnt-" in r.getMessage() or "unhashable" in r.getMessage() for r in gave_up)


async def test_enqueue_needs_an_entered_open_client(target_edge: LocalEdge) -> None:
    client = client_for(target_edge)
    with pytest.raises(ClientStateError, match="async with"):
        client.enqueue_notifications(request=visitor_request(1, "1:0"))
    await client.aclose()
    with pytest.raises(ClientStateError, match="closed"):
        client.enqueue_notifications(request=visitor_request(1, "1:0"))

    async with client_for(target_edge) as entered:
        entered.enqueue_notifications(request=visitor_request(1, "1:0"))
    with pytest.raises(ClientStateError, match="closed"):
        entered.enqueue_notifications(request=visitor_request(1, "1:1"))
    assert [n.id for n in target_edge.notifications] == ["1:0"]


async def test_closing_inside_a_cancelled_task_still_drains(target_edge: LocalEdge) -> None:
    with anyio.CancelScope() as scope:
        async with client_for(target_edge) as client:
            for i in range(5):
                client.enqueue_notifications(request=visitor_request(i, f"{i}:0"))
            scope.cancel()
            await anyio.sleep(5)
    assert scope.cancelled_caught
    assert sorted(n.id for n in target_edge.notifications) == [f"{i}:0" for i in range(5)]
    assert client.notification_stats.sent == 5


async def test_submit_sends_on_device_telemetry_without_notifications(
    target_edge: LocalEdge,
) -> None:
    entry = {
        "requestId": "odd-1",
        "timestamp": 1_700_000_000_000,
        "execution": 0.4,
        "features": {"decisioningMethod": "on-device"},
    }
    async with client_for(target_edge) as client:
        body, session_id = validate_request(
            client.config,
            CallOptions(request={"telemetry": {"entries": [entry]}}),
            notifications_required=True,
        )
        assert client._notifications.submit(body, session_id)
        assert await client.flush()

    [request] = target_edge.requests
    assert request.json["telemetry"]["entries"] == [entry]
    assert "notifications" not in request.json
    validate_delivery_request(request.json)
    stats = client.notification_stats
    assert (stats.enqueued, stats.sent, stats.requests) == (0, 0, 1)


async def test_sends_run_concurrently_on_a_transport_without_httpcore_traces() -> None:
    # The pool gate serialises pool entry for httpcore only; another transport shows it has
    # no trace events with its first answer and must then get concurrent requests.
    in_flight = 0
    peak = 0
    all_in = anyio.Event()
    seen: list[dict[str, Any]] = []

    async def edge(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        seen.append(json.loads(request.content))
        in_flight += 1
        peak = max(peak, in_flight)
        if peak == 3:
            all_in.set()
        if len(seen) > 1:  # after the first answer, wait for the other two
            with anyio.move_on_after(5):
                await all_in.wait()
        in_flight -= 1
        return httpx.Response(200, json={"status": 200, "requestId": "r"})

    options = {"client": "demo", "organization_id": "ORG@AdobeOrg", "transport": httpx.MockTransport(edge)}
    async with AsyncTargetClient.create(options, notification_concurrency=3) as client:
        client.enqueue_notifications(request=visitor_request(0, "0:0"))
        assert await client.flush()
        for v in range(1, 4):
            client.enqueue_notifications(request=visitor_request(v, f"{v}:0"))
        assert await client.flush()
    assert peak == 3
    assert sorted(body["notifications"][0]["id"] for body in seen) == ["0:0", "1:0", "2:0", "3:0"]


def test_notification_config_defaults_and_checks() -> None:
    base = {"client": "acme", "organization_id": "ORG@AdobeOrg"}
    config = parse_config(base)
    assert (
        config.notification_queue_size,
        config.notification_batch_size,
        config.notification_concurrency,
    ) == (
        10_000,
        50,
        8,
    )
    assert config.shutdown_timeout == DEFAULT_SHUTDOWN_TIMEOUT == 3000
    assert config.notification_retry == DEFAULT_NOTIFICATION_RETRY
    assert {408, 429, 500, 503, 599} <= config.notification_retry.retry_statuses
    assert 400 not in config.notification_retry.retry_statuses
    assert parse_config({**base, "shutdown_timeout": 0}).shutdown_timeout == 0
    policy = RetryPolicy(max_retries=2)
    assert parse_config({**base, "notification_retry": policy}).notification_retry is policy

    bad = [
        ("notification_queue_size", 0, "must be >= 1"),
        ("notification_batch_size", "50", "must be an int"),
        ("notification_concurrency", True, "must be an int"),
        ("notification_concurrency", 2.5, "must be an int"),
        ("shutdown_timeout", -1, "must be >= 0 ms"),
        ("shutdown_timeout", "2s", "must be a number of milliseconds"),
        ("notification_retry", {"max_retries": 3}, "must be a RetryPolicy"),
    ]
    for key, value, message in bad:
        with pytest.raises(TargetConfigError, match=message) as info:
            parse_config({**base, key: value})
        assert info.value.key == key


NEVER_CLOSED = textwrap.dedent(
    """
    import asyncio
    import sys

    from target_async import AsyncTargetClient

    async def main() -> None:
        client = AsyncTargetClient.create(
            client="demo", organization_id="ORG@AdobeOrg", server_domain=sys.argv[1], secure=False
        )
        await client.__aenter__()  # and never left
        await client.send_notifications(request={"notifications": [{"id": "sent", "type": "display", "timestamp": 1}]})
        for i in range(100):
            notification = {"id": f"queued-{i}", "type": "display", "timestamp": 1}
            client.enqueue_notifications(request={"notifications": [notification]})
        print("leaving without close", flush=True)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("resource_warnings", [False, True])
def test_a_client_never_closed_reports_its_lost_notifications_and_aiohttp_stays_quiet(
    target_edge_thread: LocalEdge, resource_warnings: bool
) -> None:
    flags = ["-W", "always::ResourceWarning"] if resource_warnings else []
    finished = subprocess.run(
        [sys.executable, *flags, "-c", NEVER_CLOSED, f"127.0.0.1:{target_edge_thread.port}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == "leaving without close\n"
    stderr = finished.stderr
    # Not hidden by the default warning filters: a log line with the count and the remedy.
    assert (
        "100 notifications were never sent: the AsyncTargetClient was not closed. Use `async with "
        "AsyncTargetClient.create(...) as client:` or `await client.aclose()`" in stderr
    )
    assert (
        "ResourceWarning: AsyncTargetClient was not closed; 100 queued notifications were never sent" in stderr
    ) is resource_warnings
    assert "Unclosed" not in stderr and "unclosed" not in stderr  # aiohttp's and asyncio's warnings
    assert [n.id for n in target_edge_thread.notifications] == ["sent"]
