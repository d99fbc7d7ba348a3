"""Visitor identity, pure (no event loop): the AMCV cookie, SDID rules, the request merge.

The cases are the reference's tables (visitor-identity.md §1 and §8), observed with the
official Node SDK.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest

from target_async import AuthenticatedState, CustomerId, TargetValidationError, Visitor
from target_async._options import parse_call_options
from target_async._visitor import (
    SUPPLEMENTAL_DATA_ID,
    apply_identity,
    customer_id_entries,
    leading_integer,
    parse_amcv_cookie,
    visitor_state,
)
from tests.openapi import validate_delivery_request

ORG = "B4R5ID3NT1TY0000000000A1@AdobeOrg"
ECID_A = "58468956307185063323496428429442401355"
ECID_B = "23954183418424393233374536291497735322"
ECID_C = "07327024324407615753261034601928137009"
BLOB = "RKhpRz8krg2tLO6pguXWp5olkAcUniQYPHaMWWgdJ3xzPWQmdj0y"
MBOX_REQUEST: dict[str, Any] = {"context": {"channel": "web"}, "execute": {"mboxes": [{"name": "home", "index": 0}]}}


# -- §1: the AMCV_<org> cookie ---------------------------------------------------------------

COOKIE_CASES = [
    (
        f"-1124106680|MCIDTS|19700|MCMID|{ECID_A}|MCAID|NONE|MCOPTOUT-1700007200s|NONE|vVersion|5.5.0",
        {"MCMID": ECID_A},
    ),
    (
        f"1585540135|MCIDTS|19700|MCMID|{ECID_C}|MCAAMLH-1700604000|9|MCAAMB-1700604000|{BLOB}|vVersion|5.5.0",
        {"MCMID": ECID_C, "MCAAMLH": "9", "MCAAMB": BLOB},
    ),
    (
        f"1585540135%7CMCIDTS%7C19700%7CMCMID%7C{ECID_C}%7CMCAAMLH-1700604000%7C9%7CMCAAMB-1700604000%7C{BLOB}",
        {"MCMID": ECID_C, "MCAAMLH": "9", "MCAAMB": BLOB},
    ),
    (f"MCMID|{ECID_B}|MCAAMLH|6", {"MCMID": ECID_B, "MCAAMLH": "6"}),
    (f"-1124106680|MCMID|{ECID_B}|MCAAMLH|6|MCAAMB", {"MCMID": ECID_B, "MCAAMLH": "6"}),
    (f"-1124106680|MCMID-1400000000|{ECID_B}|MCAAMLH-1400000000|4", {"MCMID": ECID_B, "MCAAMLH": "4"}),
    (f"-1124106680|MCMID|{ECID_A}|MCAAMLH|3|MCMID|{ECID_B}", {"MCMID": ECID_B, "MCAAMLH": "3"}),
    ("-1124106680|MCMID||MCAAMLH-1700604000|6", {"MCMID": "", "MCAAMLH": "6"}),
    ("T", {}),
    ("", {}),
    ("hello world", {}),
    # Not in the table: a bad escape makes Node throw; here it is no cookie.
    (f"-1124106680|MCMID|{ECID_A}|MCAAMLH|%E0%A4%A", {}),
    ("-1124106680%7CMCMID%7C%FF%FE", {}),
    ("1%7CMCMID%7Ca+b", {"MCMID": "a+b"}),  # `+` stays `+`
]


@pytest.mark.parametrize(("cookie", "values"), COOKIE_CASES)
def test_the_amcv_cookie_is_read_as_the_official_sdks_read_it(cookie: str, values: dict[str, str]) -> None:
    assert parse_amcv_cookie(cookie) == values
    assert Visitor(ORG, cookie).get_visitor_values() == values


@pytest.mark.parametrize(("cookie", "values"), COOKIE_CASES)
def test_the_request_carries_what_the_cookie_has(cookie: str, values: dict[str, str]) -> None:
    body = copy.deepcopy(MBOX_REQUEST)
    apply_identity(body, organization_id=ORG, visitor_cookie=cookie)
    assert body.get("id") == ({"marketingCloudVisitorId": values["MCMID"]} if values.get("MCMID") else None)
    audience_manager = {
        key: value
        for key, value in (("locationHint", leading_integer(values.get("MCAAMLH"))), ("blob", values.get("MCAAMB")))
        if value
    }
    assert body["experienceCloud"].get("audienceManager") == (audience_manager or None)
    validate_delivery_request(body)


def test_a_bad_escape_is_logged_without_the_value(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "target_async"):
        assert parse_amcv_cookie(f"1|MCMID|{ECID_A}|x|%E0%A4%A") == {}
    assert "not validly URI-encoded" in caplog.text and ECID_A not in caplog.text


@pytest.mark.parametrize(
    ("hint", "sent"),
    [("9x", 9), ("7.9", 7), ("abc", None), ("0", None), ("-3", None), (" 12", 12), ("35", 35)],
)
def test_the_location_hint_is_the_leading_integer_and_at_least_1(hint: str, sent: int | None) -> None:
    body = copy.deepcopy(MBOX_REQUEST)
    apply_identity(body, organization_id=ORG, visitor_cookie=f"1|MCMID|{ECID_A}|MCAAMLH|{hint}")
    assert body["experienceCloud"].get("audienceManager") == ({"locationHint": sent} if sent else None)
    validate_delivery_request(body)


def test_what_the_request_sets_wins() -> None:
    body = {
        **MBOX_REQUEST,
        "id": {"marketingCloudVisitorId": "mine", "customerIds": [{"id": "r", "integrationCode": "req", "authenticatedState": "unknown"}]},
        "experienceCloud": {
            "audienceManager": {"locationHint": 3, "blob": "myblob"},
            "analytics": {"logging": "client_side", "trackingServer": "t.example", "trackingServerSecure": "ts.example"},
        },
    }
    given = copy.deepcopy(body)
    apply_identity(
        body, organization_id=ORG, visitor_cookie=f"1|MCMID|{ECID_A}|MCAAMLH|9|MCAAMB|{BLOB}", customer_ids={"crm": "c1"}
    )
    assert body["id"] == {
        "marketingCloudVisitorId": "mine",
        "customerIds": [
            {"id": "c1", "integrationCode": "crm", "authenticatedState": "unknown"},
            {"id": "r", "integrationCode": "req", "authenticatedState": "unknown"},
        ],
    }
    assert body["experienceCloud"]["audienceManager"] == {"locationHint": 3, "blob": "myblob"}
    analytics = body["experienceCloud"]["analytics"]
    assert analytics["logging"] == "client_side"
    assert (analytics["trackingServer"], analytics["trackingServerSecure"]) == ("t.example", "ts.example")
    assert given["experienceCloud"]["analytics"].get("supplementalDataId") is None, "the caller's dict is not changed"
    validate_delivery_request(body)


def test_a_request_ecid_of_empty_string_means_no_ecid_and_an_empty_id_is_left_out() -> None:
    body: dict[str, Any] = {**MBOX_REQUEST, "id": {"marketingCloudVisitorId": ""}}
    apply_identity(body, organization_id=ORG, visitor_cookie=f"1|MCMID|{ECID_A}")
    assert "id" not in body
    body = {**MBOX_REQUEST, "id": {"tntId": "", "thirdPartyId": None, "customerIds": []}}
    apply_identity(body, organization_id=ORG)
    assert "id" not in body


def test_the_request_can_fill_one_audience_manager_field_and_the_cookie_the_other() -> None:
    body: dict[str, Any] = {**MBOX_REQUEST, "experienceCloud": {"audienceManager": {"blob": "mine"}, "analytics": {"logging": ""}}}
    apply_identity(body, organization_id=ORG, visitor_cookie="1|MCAAMLH|6|MCAAMB|cookie-blob")
    assert body["experienceCloud"]["audienceManager"] == {"locationHint": 6, "blob": "mine"}
    assert body["experienceCloud"]["analytics"]["logging"] == "server_side"


def test_values_the_api_refuses_are_not_sent(caplog: pytest.LogCaptureFixture) -> None:
    body = copy.deepcopy(MBOX_REQUEST)
    with caplog.at_level(logging.WARNING, "target_async"):
        apply_identity(body, organization_id=ORG, visitor_cookie=f"1|MCMID|{'9' * 129}|MCAAMB|{'b' * 1025}")
    assert "id" not in body and "audienceManager" not in body["experienceCloud"]
    assert "not sent" in caplog.text and "9" * 129 not in caplog.text
    validate_delivery_request(body)


# -- customer ids ----------------------------------------------------------------------------


def test_customer_ids_auth_states_0_1_2() -> None:
    """§8 cust-auth-states-0-1-2."""
    customer_ids = {
        "crm": {"id": "c-1", "authState": 1},
        "loyalty": {"id": "l-2", "authState": 2},
        "newsletter": {"id": "n-0", "authState": 0},
    }
    body = copy.deepcopy(MBOX_REQUEST)
    visitor = apply_identity(body, organization_id=ORG, customer_ids=customer_ids)
    assert body["id"]["customerIds"] == [
        {"id": "c-1", "integrationCode": "crm", "authenticatedState": "authenticated"},
        {"id": "l-2", "integrationCode": "loyalty", "authenticatedState": "logged_out"},
        {"id": "n-0", "integrationCode": "newsletter", "authenticatedState": "unknown"},
    ]
    assert visitor_state(visitor)[ORG]["customerIDs"] == customer_ids
    validate_delivery_request(body)


@pytest.mark.parametrize(
    ("auth_state", "sent"),
    [
        (AuthenticatedState.AUTHENTICATED, "authenticated"),
        (AuthenticatedState.LOGGED_OUT, "logged_out"),
        ("0", "unknown"),
        ("1", "authenticated"),
        ("2", "logged_out"),
        ("logged_out", "logged_out"),
        (None, "unknown"),
    ],
)
def test_auth_states_in_every_spelling(auth_state: Any, sent: str) -> None:
    entries = customer_id_entries({"crm": {"id": "c", "auth_state": auth_state}})
    assert entries == [{"id": "c", "integrationCode": "crm", "authenticatedState": sent}]


def test_the_state_keeps_the_map_in_the_client_side_visitor_api_spelling() -> None:
    visitor = Visitor(ORG)
    visitor.set_customer_ids({"crm": {"id": "c", "auth_state": AuthenticatedState.AUTHENTICATED}, "web": "w"})
    assert visitor.get_state()[ORG]["customerIDs"] == {"crm": {"id": "c", "authState": 1}, "web": "w"}


def test_empty_customer_ids_are_skipped_and_integer_like_codes_come_first() -> None:
    entries = customer_id_entries({"crm": "", "b": "1", "web": None, "20": "2", "3": "3"})
    assert [entry["integrationCode"] for entry in entries] == ["3", "20", "b"]


@pytest.mark.parametrize(
    ("customer_ids", "message"),
    [
        ({"crm": {"id": "c", "auth_state": 3}}, r"customer_ids\['crm'\]: unknown auth_state 3"),
        ({"crm": {"id": "c", "auth_state": "yes"}}, "unknown auth_state 'yes'"),
        ({"crm": {"id": "c", "auth_state": True}}, "unknown auth_state True"),
        ({"crm": {"auth_state": 1}}, r"customer_ids\['crm'\] needs a non-empty 'id'"),
        ({"crm": {"id": 42}}, "needs a non-empty 'id' string, got 42"),
        ({"crm": 42}, r"customer_ids\['crm'\] must be an id string"),
        ({"": "x"}, "integration codes must be non-empty strings"),
        ({"c" * 51: "x"}, "at most 50 characters"),
        ({"crm": "x" * 129}, "at most 128 characters"),
        ("crm", "must be a list of CustomerId or a mapping"),
        (42, "must be a list of CustomerId or a mapping"),
    ],
)
def test_bad_customer_ids_name_the_option(customer_ids: Any, message: str) -> None:
    with pytest.raises(TargetValidationError, match=message):
        parse_call_options({"customer_ids": customer_ids}, {})


def test_more_than_50_customer_ids_are_refused() -> None:
    with pytest.raises(TargetValidationError, match="at most 50 customer ids, got 51"):
        apply_identity(copy.deepcopy(MBOX_REQUEST), organization_id=ORG, customer_ids={f"c{i}": "x" for i in range(51)})


def test_a_customer_id_list_comes_after_the_visitors_and_before_the_requests() -> None:
    visitor = Visitor(ORG)
    visitor.set_customer_ids({"crm": "v"})
    body = {**MBOX_REQUEST, "id": {"customerIds": [{"id": "r", "integrationCode": "req", "authenticatedState": "unknown"}]}}
    apply_identity(
        body,
        organization_id=ORG,
        visitor=visitor,
        customer_ids=[CustomerId(id="l", integration_code="list", authenticated_state=AuthenticatedState.AUTHENTICATED)],
    )
    assert [entry["id"] for entry in body["id"]["customerIds"]] == ["v", "l", "r"]
    assert visitor.get_state()[ORG]["customerIDs"] == {"crm": "v"}, "a list is not the visitor's"


def test_a_customer_id_map_replaces_the_shared_visitors_and_stays_for_later_calls() -> None:
    visitor = Visitor(ORG)
    apply_identity(copy.deepcopy(MBOX_REQUEST), organization_id=ORG, visitor=visitor, customer_ids={"crm": "1", "web": "2"})
    later = copy.deepcopy(MBOX_REQUEST)
    apply_identity(later, organization_id=ORG, visitor=visitor)
    assert [entry["id"] for entry in later["id"]["customerIds"]] == ["1", "2"]
    cleared = copy.deepcopy(MBOX_REQUEST)
    apply_identity(cleared, organization_id=ORG, visitor=visitor, customer_ids={})
    assert "id" not in cleared and visitor.get_state()[ORG]["customerIDs"] == {}


# -- §3: supplemental data ids -------------------------------------------------------------------


def _sdids(consumers: list[str | None], request_sdid_at: int | None = None) -> tuple[list[int], dict[str, Any], list[str]]:
    """Run one call per consumer on one shared visitor: the SDIDs sent, numbered in order
    of first appearance, the final state and the raw SDIDs."""
    visitor = Visitor(ORG)
    sent: list[str] = []
    for position, consumer in enumerate(consumers):
        body = copy.deepcopy(MBOX_REQUEST)
        if position == request_sdid_at:
            body["experienceCloud"] = {"analytics": {"supplementalDataId": sent[0]}}
        state_before = visitor.get_state()
        apply_identity(body, organization_id=ORG, visitor=visitor, consumer_id=consumer)
        if position == request_sdid_at:
            assert visitor.get_state() == state_before, "a kept SDID uses nothing up"
        sent.append(body["experienceCloud"]["analytics"]["supplementalDataId"])
        validate_delivery_request(body)
    numbers = {sdid: n for n, sdid in enumerate(dict.fromkeys(sent), start=1)}
    assert all(SUPPLEMENTAL_DATA_ID.fullmatch(sdid) for sdid in sent)
    return [numbers[sdid] for sdid in sent], visitor.get_state()[ORG], sent


def _numbered(sdid_state: dict[str, Any], sent: list[str]) -> dict[str, Any]:
    numbers = {sdid: n for n, sdid in enumerate(dict.fromkeys(sent), start=1)}
    return {key: numbers.get(value, value) if isinstance(value, str) else value for key, value in sdid_state.items()}


TGM = "payload:target-global-mbox"


SDID_CASES: list[tuple[str, list[str | None], int | None, list[int], dict[str, Any]]] = [
    ("sdid-no-options", [None], None, [1], {"cur": 1, "cur_set": [TGM], "last": None, "last_set": []}),
    ("shared-two-consumers", ["first", "second"], None, [1, 1], {"cur": 1, "cur_set": ["payload:first", "payload:second"], "last": None, "last_set": []}),
    ("shared-a-a-b", ["A", "A", "B"], None, [1, 2, 1], {"cur": 2, "cur_set": ["payload:A"], "last": 1, "last_set": ["payload:A", "payload:B"]}),
    ("shared-a-b-a", ["A", "B", "A"], None, [1, 1, 2], {"cur": 2, "cur_set": ["payload:A"], "last": 1, "last_set": ["payload:A", "payload:B"]}),
    ("shared-default-consumer-thrice", [None, None, None], None, [1, 2, 3], {"cur": 3, "cur_set": [TGM], "last": 2, "last_set": [TGM]}),
    ("shared-request-sdid-is-current", ["A", "A", "A"], 1, [1, 1, 2], {"cur": 2, "cur_set": ["payload:A"], "last": 1, "last_set": ["payload:A"]}),
    (
        "shared-a-a-b-b-default-x3",
        ["A", "A", "B", "B", None, None, None],
        None,
        [1, 2, 1, 2, 1, 2, 3],
        {"cur": 3, "cur_set": [TGM], "last": 2, "last_set": ["payload:A", "payload:B", TGM]},
    ),
]
"""The §8 SDID cases: consumers in call order (None: no consumer_id), the call whose request
carries the current SDID, the SDIDs sent numbered by first use, and the final state."""


@pytest.mark.parametrize(("case", "consumers", "request_sdid_at", "numbers", "final"), SDID_CASES)
def test_the_reference_sdid_cases(
    case: str, consumers: list[str | None], request_sdid_at: int | None, numbers: list[int], final: dict[str, Any]
) -> None:
    got, state, sent = _sdids(consumers, request_sdid_at)
    assert got == numbers, case
    assert_reference_state(state["sdid"], sent, final)


def assert_reference_state(sdid_state: dict[str, Any], sent: list[str], final: dict[str, Any]) -> None:
    """The `sdid` part of a visitor state, its SDIDs numbered as in `sent`, is `final`."""
    sdid = _numbered(sdid_state, sent)
    assert sdid["supplementalDataIDCurrent"] == final["cur"]
    assert sorted(sdid["supplementalDataIDCurrentConsumed"]) == final["cur_set"]
    assert sdid.get("supplementalDataIDLast") == final["last"]
    assert sorted(sdid["supplementalDataIDLastConsumed"]) == final["last_set"]
    assert all(value is True for value in sdid["supplementalDataIDCurrentConsumed"].values())


def test_the_state_after_a_a_b_is_the_reference_json() -> None:
    """§4: keyed by the org id, `sdid` with both SDIDs and their consumers."""
    visitor = Visitor("B4R5ID3NT1TY0000000000A1")  # `@AdobeOrg` is added
    first = visitor.get_supplemental_data_id("A")
    second = visitor.get_supplemental_data_id("A")
    assert visitor.get_supplemental_data_id("B") == first
    assert visitor.get_state() == {
        ORG: {
            "sdid": {
                "supplementalDataIDCurrent": second,
                "supplementalDataIDCurrentConsumed": {"payload:A": True},
                "supplementalDataIDLast": first,
                "supplementalDataIDLastConsumed": {"payload:A": True, "payload:B": True},
            }
        }
    }


def test_a_cookie_alone_gives_a_new_visitor_and_a_new_sdid_on_every_call() -> None:
    """§8 sdid-cookie-twice-same-consumer: nothing carries over between calls."""
    cookie = f"1|MCMID|{ECID_A}"
    first, second = copy.deepcopy(MBOX_REQUEST), copy.deepcopy(MBOX_REQUEST)
    apply_identity(first, organization_id=ORG, visitor_cookie=cookie, consumer_id="page")
    visitor = apply_identity(second, organization_id=ORG, visitor_cookie=cookie, consumer_id="page")
    assert first["experienceCloud"]["analytics"]["supplementalDataId"] != second["experienceCloud"]["analytics"]["supplementalDataId"]
    sdid = visitor.get_state()[ORG]["sdid"]
    assert sdid["supplementalDataIDCurrentConsumed"] == {"payload:page": True}
    assert "supplementalDataIDLast" not in sdid


def test_a_given_visitor_and_a_cookie_must_be_the_same_visitor() -> None:
    """Node ignores `visitorCookie` next to a `visitor`: the same cookie is fine, another refused."""
    body = copy.deepcopy(MBOX_REQUEST)
    apply_identity(body, organization_id=ORG, visitor=Visitor(ORG, f"1|MCMID|{ECID_A}"), visitor_cookie=f"2|MCMID|{ECID_A}")
    assert body["id"]["marketingCloudVisitorId"] == ECID_A
    with pytest.raises(TargetValidationError, match="visitor_cookie holds other values than the visitor given"):
        apply_identity(
            copy.deepcopy(MBOX_REQUEST),
            organization_id=ORG,
            visitor=Visitor(ORG, f"1|MCMID|{ECID_A}"),
            visitor_cookie=f"1|MCMID|{ECID_B}",
        )
    duck = copy.deepcopy(MBOX_REQUEST)
    apply_identity(duck, organization_id=ORG, visitor=PythonSdkVisitor(), visitor_cookie=f"1|MCMID|{ECID_A}|MCAAMLH|9|MCAAMB|{BLOB}")


def test_an_empty_consumer_id_is_its_own_consumer() -> None:
    visitor = Visitor(ORG)
    visitor.get_supplemental_data_id("")
    assert visitor.get_state()[ORG]["sdid"]["supplementalDataIDCurrentConsumed"] == {"payload:": True}
    assert parse_call_options({"consumer_id": ""}, {}).consumer_id == ""


def test_without_asking_for_an_sdid_the_request_keeps_its_own() -> None:
    body: dict[str, Any] = {**MBOX_REQUEST, "experienceCloud": {"analytics": {"supplementalDataId": "X" * 33}}}
    visitor = apply_identity(body, organization_id=ORG, supplemental_data_id=False)
    assert body["experienceCloud"]["analytics"] == {"supplementalDataId": "X" * 33, "logging": "server_side"}
    assert visitor.get_state() == {ORG: {}}


def test_sdids_have_the_visitor_service_format() -> None:
    visitor = Visitor(ORG)
    sdids = {visitor.get_supplemental_data_id() for _ in range(2000)}
    assert len(sdids) == 2000
    assert all(SUPPLEMENTAL_DATA_ID.fullmatch(sdid) and len(sdid) == 33 for sdid in sdids)
    assert {sdid[0] for sdid in sdids} == set("01234567")


def test_a_visitor_needs_an_organization_and_a_str_cookie() -> None:
    with pytest.raises(TargetValidationError, match="organization id"):
        Visitor("")
    with pytest.raises(TargetValidationError, match="amcv_cookie must be a str"):
        Visitor(ORG, b"MCMID|1")  # type: ignore[arg-type]
    assert Visitor(ORG, None).marketing_cloud_visitor_id is None
    assert ECID_A not in repr(Visitor(ORG, f"1|MCMID|{ECID_A}"))


# -- duck-typed visitors (the official Python SDK's) -------------------------------------------


class PythonSdkVisitor:
    """A visitor as code written for the official Python SDK passes it, snake_case state."""

    def __init__(self, state_sdid: str | None = None, customer_ids: dict[str, Any] | None = None) -> None:
        self.calls: list[Any] = []
        self.sdid = state_sdid
        self.customer_ids = customer_ids

    def get_visitor_values(self) -> dict[str, str]:
        return {"MCMID": ECID_A, "MCAAMLH": "9", "MCAAMB": BLOB}

    def get_state(self) -> dict[str, Any]:
        part: dict[str, Any] = {"sdid": {"supplemental_data_id_current": self.sdid}}
        if self.customer_ids is not None:
            part["customer_ids"] = self.customer_ids
        return {ORG: part}

    def get_supplemental_data_id(self, consumer_id: str) -> str:
        self.calls.append(consumer_id)
        self.sdid = "1" * 16 + "-" + "2" * 16
        return self.sdid


class NodeShapedVisitor(PythonSdkVisitor):
    def get_state(self) -> dict[str, Any]:
        part: dict[str, Any] = {"sdid": {"supplementalDataIDCurrent": self.sdid}}
        if self.customer_ids is not None:
            part["customerIDs"] = self.customer_ids
        return {ORG: part}


@pytest.mark.parametrize("visitor_class", [PythonSdkVisitor, NodeShapedVisitor])
def test_a_duck_typed_visitor_in_either_state_shape(visitor_class: type[PythonSdkVisitor]) -> None:
    visitor = visitor_class(customer_ids={"crm": {"id": "c", "authState": "1"}})
    body = copy.deepcopy(MBOX_REQUEST)
    got = apply_identity(body, organization_id=ORG, visitor=parse_call_options({"visitor": visitor}, {}).visitor, consumer_id="page")
    assert got is visitor and visitor.calls == ["page"]
    assert body["id"] == {
        "marketingCloudVisitorId": ECID_A,
        "customerIds": [{"id": "c", "integrationCode": "crm", "authenticatedState": "authenticated"}],
    }
    assert body["experienceCloud"] == {
        "audienceManager": {"locationHint": 9, "blob": BLOB},
        "analytics": {"logging": "server_side", "supplementalDataId": visitor.sdid},
    }
    validate_delivery_request(body)
    # Its current SDID in the request is kept without asking the visitor again.
    again = {**MBOX_REQUEST, "experienceCloud": {"analytics": {"supplementalDataId": visitor.sdid}}}
    apply_identity(again, organization_id=ORG, visitor=visitor)
    assert visitor.calls == ["page"]
    state = visitor_state(visitor)
    assert state == visitor.get_state() and state is not None
    state[ORG]["sdid"].clear()
    assert visitor.get_state()[ORG]["sdid"], "the result's state is a copy"


def test_a_duck_typed_visitor_gets_the_customer_id_map_for_the_call() -> None:
    visitor = PythonSdkVisitor()
    body = copy.deepcopy(MBOX_REQUEST)
    apply_identity(body, organization_id=ORG, visitor=visitor, customer_ids={"crm": "c"})
    assert body["id"]["customerIds"] == [{"id": "c", "integrationCode": "crm", "authenticatedState": "unknown"}]


@pytest.mark.parametrize(
    ("visitor", "message"),
    [
        (object(), "visitor must be a target_async.Visitor or an object with get_visitor_values()"),
        ({"MCMID": "1"}, "got dict"),
    ],
)
def test_a_visitor_without_the_methods_is_refused(visitor: Any, message: str) -> None:
    with pytest.raises(TargetValidationError, match=message):
        parse_call_options({"visitor": visitor}, {})


def test_a_duck_typed_visitor_giving_wrong_values_is_refused() -> None:
    class ShortSdid(PythonSdkVisitor):
        def get_supplemental_data_id(self, consumer_id: str) -> str:
            return "abc"

    with pytest.raises(TargetValidationError, match="33-character supplemental data id"):
        apply_identity(copy.deepcopy(MBOX_REQUEST), organization_id=ORG, visitor=ShortSdid())

    class NumericEcid(PythonSdkVisitor):
        def get_visitor_values(self) -> dict[str, Any]:
            return {"MCMID": 123}

    with pytest.raises(TargetValidationError, match="MCMID must be a str"):
        apply_identity(copy.deepcopy(MBOX_REQUEST), organization_id=ORG, visitor=NumericEcid())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"visitor_cookie": 5}, "visitor_cookie must be a str, got int"),
        ({"consumer_id": 5}, "consumer_id must be a str, got int"),
        ({"consumer_id": None}, None),
        ({"visitor_cookie": ""}, None),
    ],
)
def test_identity_option_types(options: dict[str, Any], message: str | None) -> None:
    if message is None:
        parsed = parse_call_options(options, {})
        assert parsed.visitor_cookie is None and parsed.consumer_id is None
        return
    with pytest.raises(TargetValidationError, match=message):
        parse_call_options(options, {})
