"""AsyncTargetClient against the local edge over real loopback HTTP."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import anyio
import pytest

import target_async
from target_async import (
    AsyncTargetClient,
    ClientStateError,
    CustomerId,
    DeliveryRequest,
    ExecuteRequest,
    MboxRequest,
    MetricType,
    Notification,
    NotificationMbox,
    PrefetchRequest,
    ResponseDecodingError,
    RetryPolicy,
    ServerError,
    TargetConnectionError,
    TargetTimeoutError,
    TargetValidationError,
)
from target_async.testing import Fault, LocalEdge
from tests.openapi import validate_delivery_request

pytestmark = pytest.mark.anyio


async def test_seed_example_runs_as_written_with_await(target_edge: LocalEdge) -> None:
    async with AsyncTargetClient.create(target_edge.client_options()) as target_client:
        mboxes = [MboxRequest(name="home"), MboxRequest(name="product1")]
        prefetch = PrefetchRequest(mboxes=mboxes)
        delivery_request = DeliveryRequest(prefetch=prefetch)

        # Next, we fetch the offers via Target Python SDK getOffers() API
        response = await target_client.get_offers({"request": delivery_request})

        notification_mbox = NotificationMbox(
            name="product1", state="J+W1Fq18hxliDDJonTPfV0S+mzxapAO3d14M43EsM9f12A6QaqL+E3XKkRFlmq9U"
        )
        notification = Notification(
            id="1",
            type=MetricType.DISPLAY,
            timestamp=1621530726000,  # Epoch time in milliseconds
            mbox=notification_mbox,
            tokens=["t0FRvoWosOqHmYL5G18QCZNWHtnQtQrJfmRrQugEa2qCnQ9Y9OaLL2gsdrWQTvE54PwSz67rmXWmSnkXpSSS2Q=="],
        )
        notification_request = DeliveryRequest(notifications=[notification])

        response2 = await target_client.send_notifications({"request": notification_request})

    prefetched = response["response"].prefetch
    assert [m.name for m in prefetched.mboxes] == ["home", "product1"]
    assert [m.options[0].content for m in prefetched.mboxes] == ["HOME OFFER", "TEST OFFER 1"]
    assert all(m.options[0].event_token and m.state for m in prefetched.mboxes)
    assert response["target_cookie"].name == "mbox"
    assert response["response_tokens"][0]["activity.id"] == "302740"
    assert response2["response"].notifications[0].id == "1"
    assert [n.id for n in target_edge.notifications] == ["1"]
    assert target_edge.notifications[0].data["mbox"]["name"] == "product1"
    for recorded in target_edge.requests:
        validate_delivery_request(recorded.json)


async def test_request_line_headers_and_routing(target_edge: LocalEdge) -> None:
    async with AsyncTargetClient.create(target_edge.client_options(version="2.9.0")) as client:
        first = await client.get_offers(request=DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home")])))
        assert first.target_location_hint_cookie is not None
        second = await client.get_offers(
            request=DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home")])),
            target_cookie=first.target_cookie.value,
            target_location_hint=first.target_location_hint_cookie.value,
        )
    r1, r2 = target_edge.requests
    assert r1.host == f"{target_edge.client}.tt.omtrdc.net"
    assert r2.host == f"mboxedge{target_edge.cluster}.tt.omtrdc.net"
    assert r1.path == "/rest/v1/delivery"
    assert r1.query["imsOrgId"] == target_edge.organization_id and r1.query["version"] == "2.9.0"
    assert r2.query["sessionId"] == r1.query["sessionId"]
    assert r1.headers["x-exc-sdk"] == "target-async"
    assert r1.headers["x-exc-sdk-version"] == target_async.__version__
    assert uuid.UUID(r1.headers["x-request-id"]) != uuid.UUID(r2.headers["x-request-id"])
    assert r2.json["id"]["tntId"] == first.response.id.tnt_id
    assert second.response.id.tnt_id == first.response.id.tnt_id


async def test_a_thousand_concurrent_visitors_get_their_own_cookies(target_edge: LocalEdge) -> None:
    results: dict[int, Any] = {}
    visitors = {i: (f"session-{i}", f"{uuid.uuid4().hex}.{i % 40}_0") for i in range(1000)}

    # Edge and client share one loop on a small machine: the budget is about cross-talk, not speed.
    async with AsyncTargetClient.create(target_edge.client_options(timeout=60_000)) as client:

        async def visit(i: int) -> None:
            session_id, tnt_id = visitors[i]
            cookie = target_async._cookies.target_cookie(session_id, tnt_id).value
            results[i] = await client.get_offers(
                request=DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home")])),
                target_cookie=cookie,
            )

        async with anyio.create_task_group() as tg:
            for i in visitors:
                tg.start_soon(visit, i)

    assert len(results) == 1000
    for i, result in results.items():
        session_id, tnt_id = visitors[i]
        assert result.response.id.tnt_id == tnt_id
        assert result.target_cookie.value.startswith(f"session#{session_id}#")
        assert f"|PC#{tnt_id}#" in result.target_cookie.value
        assert result.target_location_hint_cookie.value == str(i % 40)
    hosts = {r.query["sessionId"]: r.host for r in target_edge.requests}
    assert all(hosts[s] == f"mboxedge{t.split('.')[1].split('_')[0]}.tt.omtrdc.net" for s, t in visitors.values())


async def test_keyword_options_and_customer_ids(target_edge: LocalEdge) -> None:
    async with AsyncTargetClient.create(**target_edge.client_options()) as client:
        await client.get_offers(
            request=DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home")])),
            customer_ids=[CustomerId(id="42", integration_code="crm", authenticated_state="authenticated")],
            session_id="kw-session",
        )
    recorded = target_edge.requests[0]
    assert recorded.query["sessionId"] == "kw-session"
    assert recorded.json["id"]["customerIds"] == [
        {"id": "42", "integrationCode": "crm", "authenticatedState": "authenticated"}
    ]
    validate_delivery_request(recorded.json)


async def test_get_attributes_reads_json_offers_and_keeps_other_options(target_edge: LocalEdge) -> None:
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        attributes = await client.get_attributes(["feature-flags"], session_id="attr-session")
        again = await client.get_attributes(["hero-banner"])
    assert attributes.get_value("feature-flags", "buttonColor") == "#0055ff"
    assert attributes.as_object("feature-flags")["enabled"] is True
    with pytest.raises(target_async.AttributeNotFoundError, match="Attribute 'nope' does not exist for mbox 'feature-flags'"):
        attributes.get_value("feature-flags", "nope")
    assert attributes.get_response().response.execute is not None
    assert target_edge.requests[0].query["sessionId"] == "attr-session"
    # No state leaks between calls (the official SDK accumulates mbox names).
    assert [m["name"] for m in target_edge.requests[1].json["execute"]["mboxes"]] == ["hero-banner"]
    assert set(again.as_object()) == {"hero-banner"}


async def test_get_attributes_adds_missing_mboxes_after_the_highest_index(target_edge: LocalEdge) -> None:
    request = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home", index=4)]))
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        await client.get_attributes(["home", "feature-flags"], {"request": request})
    sent = target_edge.requests[0].json["execute"]["mboxes"]
    assert [(m["name"], m["index"]) for m in sent] == [("home", 4), ("feature-flags", 5)]
    assert request.execute.mboxes == [MboxRequest(name="home", index=4)]


async def test_timeout_is_applied_in_milliseconds_and_the_client_stays_usable(target_edge: LocalEdge) -> None:
    slow = target_edge.faults.add(Fault(kind="latency", delay=1.0, times=1))
    request = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home")]))
    async with AsyncTargetClient.create(target_edge.client_options(timeout=200)) as client:
        with anyio.fail_after(5):
            with pytest.raises(TargetTimeoutError, match="200 ms"):
                await client.get_offers(request=request)
        assert target_edge.faults.applied(slow) == 1
        ok = await client.get_offers(request=request)
        assert ok.response.status == 200
        target_edge.faults.add(Fault(kind="latency", delay=0.5, times=1))
        with pytest.raises(TargetTimeoutError):
            await client.get_offers(request=request, timeout=100)


async def test_http_errors_are_typed_and_retried_per_policy(target_edge: LocalEdge) -> None:
    request = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home")]))
    options = target_edge.client_options(retry=RetryPolicy(max_retries=2, initial_delay=0.01))
    async with AsyncTargetClient.create(options) as client:
        target_edge.faults.add(Fault(kind="status", status_code=503, retry_after=0.01, times=2))
        assert (await client.get_offers(request=request)).response.status == 200
        assert len(target_edge.requests) == 3

        target_edge.clear()
        target_edge.faults.add(Fault(kind="status", status_code=500, body='{"message":"boom"}'))
        with pytest.raises(ServerError) as info:
            await client.get_offers(request=request)
        assert info.value.status_code == 500 and "boom" in info.value.body
        assert len(target_edge.requests) == 3
        target_edge.faults.clear()

        target_edge.faults.add(Fault(kind="status", status_code=400, times=1))
        with pytest.raises(target_async.BadRequestError):
            await client.get_offers(request=request)

        target_edge.faults.add(Fault(kind="non_json", times=1))
        with pytest.raises(ResponseDecodingError):
            await client.get_offers(request=request)

        # JSON, but not a Delivery API response: fails the call, not a later attribute access.
        target_edge.faults.add(Fault(kind="status", status_code=200, body='{"execute": ["not", "an object"]}', times=1))
        with pytest.raises(ResponseDecodingError, match="not a valid Delivery API response"):
            await client.get_offers(request=request)

        target_edge.faults.add(Fault(kind="reset", times=3))
        with pytest.raises(TargetConnectionError):
            await client.get_offers(request=request)

        assert (await client.get_offers(request=request)).response.status == 200


async def test_lifecycle(target_edge: LocalEdge) -> None:
    ready: list[str] = []
    request = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home")]))
    client = AsyncTargetClient.create(target_edge.client_options(events={"client_ready": lambda e: ready.append(e.type)}))
    # Never entered: server-side calls open it lazily, like httpx.
    assert (await client.get_offers(request=request)).response.status == 200
    await client.get_offers(request=request)
    assert ready == ["client_ready"]
    await client.aclose()
    await client.aclose()
    with pytest.raises(ClientStateError):
        await client.get_offers(request=request)
    with pytest.raises(ClientStateError, match="reopen"):
        async with client:
            pass

    async with AsyncTargetClient.create(target_edge.client_options()) as entered:
        with pytest.raises(ClientStateError, match="more than once"):
            await entered.__aenter__()


async def test_bad_call_options_raise_validation_errors(target_edge: LocalEdge) -> None:
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        with pytest.raises(TargetValidationError, match="Request object of type DeliveryRequest is required"):
            await client.get_offers({})
        with pytest.raises(TargetValidationError, match="Unknown option 'targetCookie'"):
            await client.get_offers({"request": DeliveryRequest(), "targetCookie": "x"})
        with pytest.raises(TargetValidationError, match="Notifications list is required"):
            await client.send_notifications({"request": DeliveryRequest()})
        with pytest.raises(TargetValidationError, match="mbox_names"):
            await client.get_attributes("home")
    assert target_edge.requests == []


async def test_cookie_values_never_logged_above_debug(target_edge: LocalEdge, caplog: pytest.LogCaptureFixture) -> None:
    cookie = target_async._cookies.target_cookie("secret-session", "secret-tnt.1_0").value
    with caplog.at_level(logging.INFO):
        async with AsyncTargetClient.create(target_edge.client_options()) as client:
            await client.get_offers(
                request=DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home")])), target_cookie=cookie
            )
    assert "secret" not in caplog.text


async def test_an_error_in_the_async_with_body_propagates_unwrapped(target_edge: LocalEdge) -> None:
    with pytest.raises(LookupError, match="from the body"):
        async with AsyncTargetClient.create(target_edge.client_options()) as client:
            await client.get_offers(request=DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home")])))
            raise LookupError("from the body")
    with pytest.raises(ClientStateError):
        await client.get_offers(request=DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home")])))
