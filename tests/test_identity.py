"""Visitor identity through the client, against the local edge over loopback HTTP: what each
call sends (`id`, `experienceCloud`) and the `visitor_state` it returns."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from target_async import (
    AsyncTargetClient,
    AuthenticatedState,
    CustomerId,
    DeliveryRequest,
    ExecuteRequest,
    MboxRequest,
    TargetClient,
    TargetValidationError,
    Visitor,
)
from target_async._visitor import SUPPLEMENTAL_DATA_ID, leading_integer
from target_async.testing import DEFAULT_ORGANIZATION_ID, SAMPLE_ARTIFACT_PATH, LocalEdge
from tests.openapi import validate_delivery_request
from tests.test_visitor import COOKIE_CASES, SDID_CASES, assert_reference_state

pytestmark = pytest.mark.anyio

ORG = DEFAULT_ORGANIZATION_ID
ECID = "07327024324407615753261034601928137009"
BLOB = "RKhpRz8krg2tLO6pguXWp5olkAcUniQYPHaMWWgdJ3xzPWQmdj0y"
AMCV = f"1585540135%7CMCIDTS%7C19700%7CMCMID%7C{ECID}%7CMCAAMLH-1700604000%7C9%7CMCAAMB-1700604000%7C{BLOB}"
HOME = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home")]))
TGM = "payload:target-global-mbox"


def notification_request(notification_id: str) -> dict[str, Any]:
    return {"notifications": [{"id": notification_id, "type": "display", "timestamp": 1_700_000_000_000}]}


def sent(edge: LocalEdge) -> list[dict[str, Any]]:
    """The Delivery requests the edge received (not artifact downloads), checked against the spec."""
    bodies = [recorded.json for recorded in edge.requests if recorded.json is not None]
    for body in bodies:
        validate_delivery_request(body)
    return bodies


def sdid_of(body: dict[str, Any]) -> str:
    sdid = body["experienceCloud"]["analytics"]["supplementalDataId"]
    assert SUPPLEMENTAL_DATA_ID.fullmatch(sdid)
    return str(sdid)


async def test_the_cookie_gives_the_ecid_audience_manager_and_an_sdid(target_edge: LocalEdge) -> None:
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        result = await client.get_offers(request=HOME, visitor_cookie=AMCV)
    [body] = sent(target_edge)
    assert body["id"] == {"marketingCloudVisitorId": ECID}
    assert body["experienceCloud"]["audienceManager"] == {"locationHint": 9, "blob": BLOB}
    assert body["experienceCloud"]["analytics"]["logging"] == "server_side"
    sdid = sdid_of(body)
    assert result.visitor_state == {
        ORG: {
            "sdid": {
                "supplementalDataIDCurrent": sdid,
                "supplementalDataIDCurrentConsumed": {TGM: True},
                "supplementalDataIDLastConsumed": {},
            }
        }
    }
    assert result["visitorState"] == result.visitor_state
    assert result.response.execute.mboxes[0].options[0].content == "HOME OFFER"


async def test_no_identity_options_still_send_an_sdid_and_return_a_state(target_edge: LocalEdge) -> None:
    """§8 sdid-no-options: as the Node SDK does."""
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        result = await client.get_offers(request=HOME)
    [body] = sent(target_edge)
    assert "marketingCloudVisitorId" not in body.get("id", {})
    assert "audienceManager" not in body["experienceCloud"]
    assert result.visitor_state[ORG]["sdid"]["supplementalDataIDCurrent"] == sdid_of(body)
    assert result.visitor_state[ORG]["sdid"]["supplementalDataIDCurrentConsumed"] == {TGM: True}


async def test_one_visitor_across_calls_stitches_consumers_and_states_are_snapshots(target_edge: LocalEdge) -> None:
    """§8 shared-a-a-b through the client: SDIDs #1, #2, #1; each result keeps its own state."""
    visitor = Visitor(ORG, AMCV)
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        results = [await client.get_offers(request=HOME, visitor=visitor, consumer_id=c) for c in "AAB"]
    first, second, third = (sdid_of(body) for body in sent(target_edge))
    assert first != second and third == first
    assert all(body["id"]["marketingCloudVisitorId"] == ECID for body in sent(target_edge))
    assert results[0].visitor_state[ORG]["sdid"] == {
        "supplementalDataIDCurrent": first,
        "supplementalDataIDCurrentConsumed": {"payload:A": True},
        "supplementalDataIDLastConsumed": {},
    }
    assert results[2].visitor_state == visitor.get_state() == {
        ORG: {
            "sdid": {
                "supplementalDataIDCurrent": second,
                "supplementalDataIDCurrentConsumed": {"payload:A": True},
                "supplementalDataIDLast": first,
                "supplementalDataIDLastConsumed": {"payload:A": True, "payload:B": True},
            }
        }
    }
    json.dumps(results[2].visitor_state)  # what the page template renders


async def test_concurrent_calls_on_one_visitor_get_sdids_in_call_order(target_edge: LocalEdge) -> None:
    visitor = Visitor(ORG)
    results: dict[str, Any] = {}
    async with AsyncTargetClient.create(target_edge.client_options()) as client:

        async def call(consumer: str) -> None:
            results[consumer] = await client.get_offers(request=HOME, visitor=visitor, consumer_id=consumer)

        async with anyio.create_task_group() as group:
            for consumer in ("hero", "flags", "recs"):
                group.start_soon(call, consumer)
    sdids = {result.request.experience_cloud.analytics.supplemental_data_id for result in results.values()}
    assert len(sdids) == 1, "three consumers on one visitor share one SDID"


async def test_a_request_sdid_that_is_current_is_kept(target_edge: LocalEdge) -> None:
    """§8 shared-request-sdid-is-current."""
    visitor = Visitor(ORG)
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        first = await client.get_offers(request=HOME, visitor=visitor, consumer_id="A")
        current = first.visitor_state[ORG]["sdid"]["supplementalDataIDCurrent"]
        request = {
            "execute": {"mboxes": [{"name": "home"}]},
            "experienceCloud": {"analytics": {"supplementalDataId": current}},
        }
        second = await client.get_offers(request=request, visitor=visitor, consumer_id="A")
        await client.get_offers(request=HOME, visitor=visitor, consumer_id="A")
    assert second.visitor_state == first.visitor_state
    bodies = sent(target_edge)
    assert sdid_of(bodies[1]) == sdid_of(bodies[0]) != sdid_of(bodies[2])


async def test_customer_ids_as_a_map_and_as_a_list(target_edge: LocalEdge) -> None:
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        by_map = await client.get_offers(
            request=HOME,
            customer_ids={
                "crm": {"id": "c-1", "auth_state": 1},
                "loyalty": {"id": "l-2", "authState": "2"},
                "newsletter": {"id": "n-0", "auth_state": AuthenticatedState.UNKNOWN},
                "web": "w-3",
                "skipped": "",
            },
        )
        await client.get_offers(
            request=HOME,
            customer_ids=[CustomerId(id="42", integration_code="crm", authenticated_state=AuthenticatedState.LOGGED_OUT)],
        )
    map_body, list_body = sent(target_edge)
    assert map_body["id"]["customerIds"] == [
        {"id": "c-1", "integrationCode": "crm", "authenticatedState": "authenticated"},
        {"id": "l-2", "integrationCode": "loyalty", "authenticatedState": "logged_out"},
        {"id": "n-0", "integrationCode": "newsletter", "authenticatedState": "unknown"},
        {"id": "w-3", "integrationCode": "web", "authenticatedState": "unknown"},
    ]
    assert by_map.visitor_state[ORG]["customerIDs"] == {
        "crm": {"id": "c-1", "authState": 1},
        "loyalty": {"id": "l-2", "authState": "2"},
        "newsletter": {"id": "n-0", "authState": 0},
        "web": "w-3",
        "skipped": "",
    }
    assert list_body["id"]["customerIds"] == [
        {"id": "42", "integrationCode": "crm", "authenticatedState": "logged_out"}
    ]


async def test_a_bad_identity_option_fails_the_call_before_anything_is_sent(target_edge: LocalEdge) -> None:
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        with pytest.raises(TargetValidationError, match=r"customer_ids\['crm'\]: unknown auth_state 7"):
            await client.get_offers(request=HOME, customer_ids={"crm": {"id": "c", "auth_state": 7}})
        with pytest.raises(TargetValidationError, match=r"visitor must be a target_async\.Visitor"):
            await client.get_offers(request=HOME, visitor="visitor")
        with pytest.raises(TargetValidationError, match="visitor_cookie must be a str"):
            client.enqueue_notifications(request=notification_request("n"), visitor_cookie=1)
        # A malformed cookie is no cookie: the page still gets its offers.
        result = await client.get_offers(request=HOME, visitor_cookie=f"1%7CMCMID%7C{ECID}%7C%E0%A4%A")
    [body] = sent(target_edge)
    assert "id" not in body and result.visitor_state is not None


async def test_notifications_carry_the_identity(target_edge: LocalEdge) -> None:
    visitor = Visitor(ORG, AMCV)
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        page = await client.get_offers(request=HOME, visitor=visitor, consumer_id="page")
        clicked = await client.send_notifications(request=notification_request("n-1"), visitor=visitor, consumer_id="click")
        state_after_click = visitor.get_state()
        # Queued: an SDID only with a visitor or consumer id, so plain ones still share requests.
        assert client.enqueue_notifications(request=notification_request("n-2"), visitor_cookie=AMCV)
        assert client.enqueue_notifications(request=notification_request("n-3"), visitor=visitor, consumer_id="later")
    page_body, click_body, *queued = sent(target_edge)
    assert sdid_of(click_body) == sdid_of(page_body), "another consumer on the same visitor: stitched"
    assert clicked.visitor_state == state_after_click != page.visitor_state
    plain = next(body for body in queued if body["notifications"][0]["id"] == "n-2")
    assert plain["id"] == {"marketingCloudVisitorId": ECID}
    assert "supplementalDataId" not in plain["experienceCloud"]["analytics"]
    stitched = next(body for body in queued if body["notifications"][0]["id"] == "n-3")
    assert sdid_of(stitched) == sdid_of(page_body)


async def test_callbacks_and_get_attributes_take_the_identity_options(target_edge: LocalEdge) -> None:
    visitor = Visitor(ORG, AMCV)
    got: list[Any] = []
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        future = await client.get_offers(request=HOME, visitor=visitor, consumer_id="cb", callback=got.append)
        await future
        attributes = await client.get_attributes(["feature-flags"], visitor=visitor, consumer_id="attrs")
    assert got[0].visitor_state[ORG]["sdid"]["supplementalDataIDCurrentConsumed"] == {"payload:cb": True}
    assert attributes.get_response().visitor_state == visitor.get_state()
    assert [body["id"]["marketingCloudVisitorId"] for body in sent(target_edge)] == [ECID, ECID]


def test_the_sync_client_takes_the_identity_options(target_edge_thread: LocalEdge) -> None:
    visitor = Visitor(ORG, AMCV)
    with TargetClient.create(target_edge_thread.client_options()) as client:
        first = client.get_offers({"request": HOME, "visitor": visitor, "consumer_id": "one"})
        second = client.get_offers(request=HOME, visitor=visitor, consumer_id="two")
        by_cookie = client.get_offers(request=HOME, visitor_cookie=AMCV, customer_ids={"crm": "c"})
    assert first.request.experience_cloud.analytics.supplemental_data_id == (
        second.request.experience_cloud.analytics.supplemental_data_id
    )
    assert second.visitor_state == visitor.get_state()
    assert by_cookie.request.id.marketing_cloud_visitor_id == ECID
    assert by_cookie.request.id.customer_ids[0].id == "c"


async def test_on_device_decisions_use_the_same_identity() -> None:
    visitor = Visitor(ORG, AMCV)
    visitor.set_customer_ids({"crm": {"id": "c-1", "auth_state": 1}})
    async with (
        LocalEdge(artifact=SAMPLE_ARTIFACT_PATH) as edge,
        AsyncTargetClient.create(edge.client_options(decisioning_method="on-device", telemetry_enabled=False)) as client,
    ):
        request = {
            "execute": {"mboxes": [{"name": "hero-banner"}]},
            "experienceCloud": {"analytics": {"trackingServer": "acme.sc.omtrdc.net"}},
        }
        result = await client.get_offers(request=request, visitor=visitor, consumer_id="hero")
        assert result.meta.decisioning_method == "on-device"
        await client.flush()
    sdid = result.request.experience_cloud.analytics.supplemental_data_id
    assert result.visitor_state == visitor.get_state()
    assert result.response.id.marketing_cloud_visitor_id == ECID
    # The display notification reports the decision with the visitor's ECID, ids and A4T id.
    [notified] = sent(edge)
    assert notified["notifications"]
    assert notified["id"]["marketingCloudVisitorId"] == ECID
    assert notified["id"]["customerIds"] == [{"id": "c-1", "integrationCode": "crm", "authenticatedState": "authenticated"}]
    assert notified["experienceCloud"]["analytics"] == {
        "logging": "server_side",
        "supplementalDataId": sdid,
        "trackingServer": "acme.sc.omtrdc.net",
    }
    assert notified["experienceCloud"]["audienceManager"] == {"locationHint": 9, "blob": BLOB}


@pytest.mark.parametrize(("cookie", "values"), COOKIE_CASES)
async def test_the_reference_cookies_through_the_client(target_edge: LocalEdge, cookie: str, values: dict[str, str]) -> None:
    """§1: each cookie of the table, as `visitor_cookie` of a call."""
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        await client.get_offers(request=HOME, visitor_cookie=cookie)
    [body] = sent(target_edge)
    assert body.get("id", {}).get("marketingCloudVisitorId") == (values.get("MCMID") or None)
    audience_manager = {
        key: value
        for key, value in (("locationHint", leading_integer(values.get("MCAAMLH"))), ("blob", values.get("MCAAMB")))
        if value
    }
    assert body["experienceCloud"].get("audienceManager") == (audience_manager or None)
    sdid_of(body)


@pytest.mark.parametrize(("case", "consumers", "request_sdid_at", "numbers", "final"), SDID_CASES)
async def test_the_reference_sdid_cases_through_the_client(
    target_edge: LocalEdge,
    case: str,
    consumers: list[str | None],
    request_sdid_at: int | None,
    numbers: list[int],
    final: dict[str, Any],
) -> None:
    """§8: the calls of each case on one shared visitor; SDIDs compared by reuse, not value."""
    visitor = Visitor(ORG, AMCV)
    results = []
    async with AsyncTargetClient.create(target_edge.client_options()) as client:
        for position, consumer in enumerate(consumers):
            request: dict[str, Any] = {"execute": {"mboxes": [{"name": "home"}]}}
            if position == request_sdid_at:
                request["experienceCloud"] = {"analytics": {"supplementalDataId": sdid_of(sent(target_edge)[0])}}
            options: dict[str, Any] = {"request": request, "visitor": visitor}
            if consumer is not None:
                options["consumer_id"] = consumer
            results.append(await client.get_offers(options))
    sdids = [sdid_of(body) for body in sent(target_edge)]
    first_use = {sdid: n for n, sdid in enumerate(dict.fromkeys(sdids), start=1)}
    assert [first_use[sdid] for sdid in sdids] == numbers, case
    assert_reference_state(results[-1].visitor_state[ORG]["sdid"], sdids, final)
    if request_sdid_at is not None:
        assert results[request_sdid_at].visitor_state == results[request_sdid_at - 1].visitor_state
