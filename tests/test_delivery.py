"""Request normalisation and the response envelope (pure, no I/O)."""

from __future__ import annotations

import copy
import json
import logging
import re
import uuid
from typing import Any

import pytest

from target_async import _serde
from target_async._config import parse_config
from target_async._cookies import target_cookie
from target_async._delivery import apply_request_defaults, build_envelope, prepare_request
from target_async._exceptions import TargetValidationError
from target_async._options import parse_call_options
from target_async.models import (
    AuthenticatedState,
    Context,
    CustomerId,
    DeliveryRequest,
    ExecuteRequest,
    MboxRequest,
    MetricType,
    Notification,
    NotificationMbox,
    PrefetchRequest,
    Property,
    VisitorId,
)
from tests.openapi import validate_delivery_request

BASE = {"client": "acme", "organization_id": "ORG@AdobeOrg"}
SEED_REQUEST = DeliveryRequest(prefetch=PrefetchRequest(mboxes=[MboxRequest(name="home"), MboxRequest(name="product1")]))


def prepare(request: object, config: dict[str, object] | None = None, **options: object):  # type: ignore[no-untyped-def]
    return prepare_request(parse_config({**BASE, **(config or {})}), parse_call_options({"request": request, **options}, {}))


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({"context": {"geo": 1.5}}, "request.context.geo must be an object, got float"),
        (
            {"execute": {"mboxes": [{"name": "m", "parameters": True}]}},
            "request.execute.mboxes[0].parameters must be an object, got bool",
        ),
        (
            {"prefetch": {"views": [{"name": ["contact"]}]}},
            "request.prefetch.views[0].name must be a string, got list",
        ),
        (
            {"execute": {"pageLoad": {"profileParameters": "x"}}},
            "request.execute.pageLoad.profileParameters must be an object, got str",
        ),
        (
            {"prefetch": {"mboxes": [{"name": "m", "address": 5}]}},
            "request.prefetch.mboxes[0].address must be an object, got int",
        ),
    ],
)
def test_parts_on_device_decisioning_reads_are_checked_at_the_call(
    request_body: dict[str, Any], message: str
) -> None:
    with pytest.raises(TargetValidationError, match=re.escape(message)):
        prepare(request_body)


def test_seed_request_is_completed_into_a_valid_delivery_request() -> None:
    prepared = prepare(SEED_REQUEST)
    body = prepared.body
    validate_delivery_request(body)
    assert body["context"]["channel"] == "web"
    assert [m["index"] for m in body["prefetch"]["mboxes"]] == [0, 1]
    assert uuid.UUID(body["requestId"])
    assert uuid.UUID(prepared.session_id)
    assert body["experienceCloud"]["analytics"]["logging"] == "server_side"
    assert prepared.host == "acme.tt.omtrdc.net" and prepared.cluster is None


def test_the_users_request_object_is_never_mutated() -> None:
    request = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="a")]))
    prepare(request, target_cookie=target_cookie("s", "t.1_0").value)
    assert request == DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="a")]))


def test_session_and_tnt_id_come_from_the_mbox_cookie() -> None:
    cookie = target_cookie("session-1", "abc.28_0").value
    prepared = prepare(SEED_REQUEST, target_cookie=cookie, session_id="ignored")
    assert prepared.session_id == "session-1"
    assert prepared.body["id"]["tntId"] == "abc.28_0"
    assert prepared.cluster == "28"
    assert prepared.host == "mboxedge28.tt.omtrdc.net"


def test_request_tnt_id_and_request_id_win_over_generated_values() -> None:
    request = DeliveryRequest(request_id="r-1", id=VisitorId(tnt_id="mine"), prefetch=SEED_REQUEST.prefetch)
    prepared = prepare(request, target_cookie=target_cookie("s", "cookie.1_0").value, session_id="given")
    assert prepared.body["requestId"] == "r-1"
    assert prepared.body["id"]["tntId"] == "mine"
    assert prepared.session_id == "s"


def test_session_id_option_is_used_without_cookie_and_checked() -> None:
    assert prepare(SEED_REQUEST, session_id="abc").session_id == "abc"
    for bad in ["has space", "a/b", "a?b", "x" * 129, "x\ud800"]:  # a lone surrogate cannot go in a URL
        with pytest.raises(TargetValidationError, match="session_id"):
            prepare(SEED_REQUEST, session_id=bad)


def test_a_cookie_device_id_with_a_lone_surrogate_is_ignored() -> None:
    # It could not be sent as JSON (nor put back into the visitor's cookie): a malformed entry.
    prepared = prepare(SEED_REQUEST, target_cookie="session#s-1#9999999999|PC#t\ud800.28_0#9999999999")
    assert prepared.session_id == "s-1"
    assert "tntId" not in prepared.body.get("id", {})
    assert prepared.host == "acme.tt.omtrdc.net"


def test_location_hint_routes_to_the_cluster_when_no_tnt_id() -> None:
    assert prepare(SEED_REQUEST, target_location_hint="31").host == "mboxedge31.tt.omtrdc.net"
    assert prepare(SEED_REQUEST, {"target_location_hint": "17"}).host == "mboxedge17.tt.omtrdc.net"
    assert prepare(SEED_REQUEST, {"server_domain": "edge.example"}).host == "edge.example"


def test_customer_ids_are_merged_into_the_visitor_id() -> None:
    request = DeliveryRequest(
        id=VisitorId(customer_ids=[CustomerId(id="2", integration_code="b", authenticated_state=AuthenticatedState.UNKNOWN)]),
        execute=ExecuteRequest(mboxes=[MboxRequest(name="a")]),
    )
    given = [CustomerId(id="1", integration_code="a", authenticated_state=AuthenticatedState.AUTHENTICATED)]
    body = prepare(request, customer_ids=given).body
    assert body["id"]["customerIds"] == [
        {"id": "1", "integrationCode": "a", "authenticatedState": "authenticated"},
        {"id": "2", "integrationCode": "b", "authenticatedState": "unknown"},
    ]
    validate_delivery_request(body)


def test_property_token_from_config_unless_the_request_has_one() -> None:
    assert prepare(SEED_REQUEST, {"property_token": "cfg"}).body["property"] == {"token": "cfg"}
    request = DeliveryRequest(property=Property(token="req"), prefetch=SEED_REQUEST.prefetch)
    assert prepare(request, {"property_token": "cfg"}).body["property"] == {"token": "req"}


def test_environment_id_and_channel() -> None:
    body = prepare(SEED_REQUEST, {"environment_id": 7}).body
    assert body["environmentId"] == 7
    mobile = DeliveryRequest(context=Context(channel="mobile"), prefetch=SEED_REQUEST.prefetch)
    assert prepare(mobile).body["context"]["channel"] == "mobile"
    odd = {"context": {"channel": "tv"}, "prefetch": {"mboxes": [{"name": "a"}]}}
    assert prepare(odd).body["context"]["channel"] == "web"


def test_a_plain_wire_dict_is_accepted_and_never_mutated() -> None:
    request = {
        "context": {"channel": "tv"},
        "execute": {"mboxes": [{"name": "a", "index": 3}, {"name": ""}]},
        "prefetch": {"mboxes": [{"name": "b"}]},
        "id": {"thirdPartyId": "x"},
    }
    snapshot = copy.deepcopy(request)
    body = prepare(request, target_cookie=target_cookie("s", "t.1_0").value, customer_ids=[
        CustomerId(id="1", integration_code="a", authenticated_state=AuthenticatedState.UNKNOWN)
    ]).body
    assert body["execute"]["mboxes"] == [{"name": "a", "index": 3}]
    assert body["prefetch"]["mboxes"] == [{"name": "b", "index": 0}]
    assert body["context"]["channel"] == "web" and body["id"]["tntId"] == "t.1_0"
    assert request == snapshot


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (None, "Request object of type DeliveryRequest is required"),
        ("home", "Request object of type DeliveryRequest is required"),
        (DeliveryRequest(execute=ExecuteRequest()), "Either pageLoad or mboxes is required in execute"),
        (DeliveryRequest(prefetch=PrefetchRequest(mboxes=[])), "Either views, pageLoad or mboxes is required in prefetch"),
    ],
)
def test_invalid_requests_raise(request_: object, message: str) -> None:
    with pytest.raises(TargetValidationError, match=message):
        prepare(request_)


def test_invalid_mboxes_are_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    request = {"execute": {"mboxes": [{"name": ""}, {"index": 1}, {"name": "ok"}]}}
    with caplog.at_level(logging.WARNING, logger="target_async"):
        body = prepare(request).body
    assert body["execute"]["mboxes"] == [{"name": "ok", "index": 2}]
    assert caplog.text.count("Mbox validation failed for") == 2


def _notification(**overrides: object) -> Notification:
    values: dict[str, object] = {
        "id": "1",
        "type": MetricType.DISPLAY,
        "timestamp": 1621530726000,
        "mbox": NotificationMbox(name="product1", state="s"),
        "tokens": ["t"],
    }
    values.update(overrides)
    return Notification(**values)  # type: ignore[arg-type]


def test_notifications_are_validated(caplog: pytest.LogCaptureFixture) -> None:
    config = parse_config(BASE)

    def notify(request: object):  # type: ignore[no-untyped-def]
        return prepare_request(config, parse_call_options({"request": request}, {}), notifications_required=True)

    with pytest.raises(TargetValidationError, match="Notifications list is required in request"):
        notify(DeliveryRequest())
    with pytest.raises(TargetValidationError, match="all 1 notifications were invalid"):
        notify(DeliveryRequest(notifications=[_notification(id="")]))
    caplog.clear()
    # A model refuses a mistyped field when built; the same mistake in wire JSON is dropped.
    with pytest.raises(TargetValidationError, match=r"Notification.timestamp must be an int, got str"):
        _notification(timestamp="x")
    wire = [_serde.unstructure(n) for n in (_notification(), _notification(type="view"))]
    with caplog.at_level(logging.WARNING, logger="target_async"):
        body = notify({"notifications": [*wire, {**wire[0], "timestamp": "x"}]}).body
    assert [n["id"] for n in body["notifications"]] == ["1"]
    assert caplog.text.count("Notification validation failed for") == 2
    assert "tokens" not in caplog.text  # event tokens never logged above DEBUG
    validate_delivery_request(body)


def test_envelope_flattens_details_in_the_official_order_and_sets_cookies() -> None:
    prepared = prepare(SEED_REQUEST, session_id="s1")
    option = {"type": "html", "content": "x"}
    response = {
        "status": 200,
        "id": {"tntId": "new.35_0"},
        "edgeHost": "mboxedge35.tt.omtrdc.net",
        "execute": {
            "pageLoad": {"options": [{**option, "responseTokens": {"n": 1}}], "analytics": {"payload": {"pe": "1"}}},
            "mboxes": [{"name": "e", "index": 0, "trace": {"t": "e"}, "options": [{**option, "responseTokens": {"n": 2}}]}],
        },
        "prefetch": {
            "views": [{"name": "v", "options": [{**option, "responseTokens": {"n": 3}}], "analytics": {"payload": {"pe": "3"}}}],
            "mboxes": [{"name": "p", "index": 1, "trace": {"t": "p"}, "options": [{**option, "responseTokens": {}}]}],
        },
        "unknownField": {"is": "ignored"},
    }
    from target_async.models import DecisioningMethod

    result = build_envelope(prepared, response, decisioning_method=DecisioningMethod.SERVER_SIDE, now=1_000_000.0)
    assert result.response_tokens == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert result.trace == [{"t": "e"}, {"t": "p"}]
    assert [a.payload for a in result.analytics_details or []] == [{"pe": "1"}, {"pe": "3"}]
    assert result.target_cookie.value == target_cookie("s1", "new.35_0", now=1_000_000.0).value
    assert result.target_location_hint_cookie is not None
    assert result.target_location_hint_cookie.value == "35"
    assert result["response"] is result.response
    assert result["meta"]["decisioning_method"] == "server-side"
    assert result["meta"]["remote_mboxes"] == []
    assert result.request.context is not None and result.request.context.channel == "web"
    with pytest.raises(KeyError):
        result["nope"]


def test_a_lazily_structured_envelope_equals_the_eager_one() -> None:
    from target_async._delivery import TargetDeliveryResponse, structure_response
    from target_async.models import DecisioningMethod, DeliveryResponse

    prepared = prepare(SEED_REQUEST, session_id="s1")
    body = {
        "status": 200,
        "id": {"tntId": "t.28_0"},
        "prefetch": {
            "mboxes": [
                {
                    "name": "home",
                    "index": 0,
                    "analytics": {"payload": {"pe": "tnt"}},
                    "options": [{"type": "json", "content": {"a": 1}, "responseTokens": {"offer.id": 7}}],
                }
            ]
        },
    }
    method = DecisioningMethod.ON_DEVICE
    lazy = build_envelope(prepared, body, decisioning_method=method, now=1_000_000.0)
    eager = build_envelope(
        prepared, body, decisioning_method=method, now=1_000_000.0, response=structure_response(body)
    )
    assert lazy.response_body is body
    assert lazy == eager and eager == lazy
    assert lazy.response is lazy.response  # structured once, on first access
    assert isinstance(lazy.response, DeliveryResponse) and lazy.response.prefetch is not None
    assert lazy.response_tokens == eager.response_tokens == [{"offer.id": 7}]
    assert lazy.analytics_details == eager.analytics_details
    assert lazy.target_cookie == eager.target_cookie
    assert lazy.target_location_hint_cookie == eager.target_location_hint_cookie
    assert repr(lazy) == repr(eager) and repr(lazy).startswith("TargetDeliveryResponse(response=DeliveryResponse(")
    assert lazy != build_envelope(prepared, {**body, "status": 206}, decisioning_method=method, now=1_000_000.0)
    with pytest.raises(TypeError):
        hash(lazy)
    with pytest.raises(TypeError, match="response or response_body"):
        TargetDeliveryResponse(request_body={}, target_cookie=lazy.target_cookie, meta=lazy.meta)


def test_request_defaults_are_applied_once_and_only_where_missing() -> None:
    config = parse_config({**BASE, "property_token": "cfg", "environment_id": 3})
    analytics = {"trackingServer": "ts.example.com"}
    body: dict[str, object] = {
        "context": {"channel": "mobile"},
        "experienceCloud": {"analytics": analytics},
        "property": {"token": "req"},
    }
    apply_request_defaults(config, body)
    once = json.loads(json.dumps(body))
    apply_request_defaults(config, body)
    assert body == once
    assert body["context"]["channel"] == "mobile" and "timeOffsetInMinutes" in body["context"]  # type: ignore[index]
    assert body["property"] == {"token": "req"} and body["environmentId"] == 3
    assert body["experienceCloud"] == {"analytics": {"trackingServer": "ts.example.com", "logging": "server_side"}}
    assert analytics == {"trackingServer": "ts.example.com"}  # nested parts are copied, not changed


def test_a_result_reads_as_the_official_sdks_dict() -> None:
    # Code ported from the official SDK: keys(), iteration, dict(r), json.dumps of a cookie,
    # `in` and `get` in agreement, to_dict() on the response model.
    from target_async.models import DecisioningMethod

    body = {"status": 200, "id": {"tntId": "new.35_0"}, "execute": {"mboxes": [{"name": "e", "index": 0}]}}
    result = build_envelope(prepare(SEED_REQUEST, session_id="s1"), body, decisioning_method=DecisioningMethod.SERVER_SIDE)
    assert list(result) == result.keys() == ["response", "target_cookie", "response_tokens", "meta", "visitor_state"]
    assert dict(result) == {name: result[name] for name in ["response", "target_cookie", "response_tokens", "meta", "visitor_state"]}
    assert len(result) == 5 and dict(result.items()) == dict(result)
    for absent in ("trace", "analytics_details", "target_location_hint_cookie"):
        assert absent not in result and result.get(absent) is None and result.get(absent, "x") == "x"
    assert "response" in result and result.get("targetCookie") is result.target_cookie
    cookie = json.loads(json.dumps(result["target_cookie"]))
    assert cookie == {"name": "mbox", "value": result.target_cookie.value, "maxAge": result.target_cookie.max_age}
    assert result["target_cookie"]["maxAge"] == result["target_cookie"]["max_age"] == result.target_cookie.max_age
    assert result["response"].to_dict() == {"status": 200, "id": {"tntId": "new.35_0"}, "execute": {"mboxes": [{"name": "e", "index": 0}]}}
    assert SEED_REQUEST.to_dict() == {"prefetch": {"mboxes": [{"name": "home"}, {"name": "product1"}]}}
