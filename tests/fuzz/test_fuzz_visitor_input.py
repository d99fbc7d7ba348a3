"""What a visitor sends (the `mbox` and `mboxEdgeCluster` cookies, location hints) and what a
caller passes per call, drawn at random: every call succeeds or raises a documented
`TargetError`, and no request ever goes to a host other than the configured one or an Adobe
edge cluster (`mboxedge<cluster>.tt.omtrdc.net`)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fuzzing import FUZZ, assert_edge_host, hostile_values
from hypothesis import given
from hypothesis import strategies as st

from target_async import AsyncTargetClient, TargetError, TargetTimeoutError, TargetValidationError

CONFIGURED_HOST = "demo.tt.omtrdc.net"
REQUEST = {"execute": {"mboxes": [{"name": "home", "index": 1}]}}
NOTIFICATIONS = {"notifications": [{"id": "n", "type": "display", "timestamp": 1_700_000_000_000}]}

# Cookie and hint text: what at.js writes, what an attacker would try, and noise.
_cluster_like = st.one_of(
    st.from_regex(r"[A-Za-z0-9]{1,16}", fullmatch=True),
    st.sampled_from(
        [
            "@127.0.0.1:1/",
            "x.@localhost:1/_0",
            "35/../../evil",
            "evil.com#",
            "F\U000997a2",
            "\uff13\uff15",  # full-width digits
            "35\r\nHost: evil",
            "a" * 300,
            "",
            "%2e%2e",
            "35:443",
        ]
    ),
    st.text(max_size=24),
)
_tnt_id = st.builds(lambda uuid, cluster, n: f"{uuid}.{cluster}_{n}", st.uuids().map(str), _cluster_like, st.integers(0, 9)) | st.text(max_size=40)
_entry_value = st.one_of(_tnt_id, st.text(max_size=20), st.sampled_from(["", "#", "|", "a#b#c"]))
_expiry = st.one_of(st.integers(-(2**40), 2**40).map(str), st.text(max_size=6))
_entry = st.builds(
    lambda name, value, expiry: f"{name}#{value}#{expiry}",
    st.sampled_from(["session", "PC", "other", ""]) | st.text(max_size=6),
    _entry_value,
    _expiry,
)
mbox_cookies = st.one_of(st.lists(_entry, max_size=4).map("|".join), st.text(max_size=80))


class Client:
    """A server-side client on a portal, the hosts it sent to and the bodies it sent."""

    def __init__(self, portal: BlockingPortal, client: AsyncTargetClient, hosts: list[str]) -> None:
        self.portal = portal
        self.client = client
        self.hosts = hosts

    def get_offers(self, **options: Any) -> Any:
        return self.portal.call(lambda: self.client.get_offers(**options))

    def check_hosts(self) -> None:
        for host in self.hosts:
            assert_edge_host(host, CONFIGURED_HOST)
        self.hosts.clear()


@pytest.fixture(scope="module")
def edge_client() -> Iterator[Client]:
    hosts: list[str] = []

    def edge(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        sent = json.loads(request.content)
        return httpx.Response(200, json={"status": 200, "requestId": sent.get("requestId"), "id": sent.get("id") or {}})

    options = {"client": "demo", "organization_id": "DEMO@AdobeOrg", "transport": httpx.MockTransport(edge)}
    with start_blocking_portal("asyncio") as portal, contextlib.ExitStack() as stack:
        client = stack.enter_context(portal.wrap_async_context_manager(AsyncTargetClient.create(options)))
        yield Client(portal, client, hosts)
        assert portal.call(client.flush, 5000) is True


def _call(edge_client: Client, **options: Any) -> None:
    try:
        result = edge_client.get_offers(**{"request": REQUEST, **options})
    except TargetValidationError:
        pass
    else:
        # What goes back into the visitor's cookies was checked too.
        assert "#" not in result.target_cookie.value.split("|")[0].split("#", 2)[1]
        hint = result.target_location_hint_cookie
        assert hint is None or (hint.value.isascii() and hint.value.isalnum())
    edge_client.check_hosts()


@FUZZ
@given(cookie=mbox_cookies)
def test_any_mbox_cookie_is_read_or_ignored_and_never_moves_the_request(edge_client: Client, cookie: str) -> None:
    _call(edge_client, target_cookie=cookie)


@FUZZ
@given(hint=_cluster_like)
def test_any_location_hint_cookie_is_used_or_ignored_and_never_moves_the_request(edge_client: Client, hint: str) -> None:
    _call(edge_client, target_location_hint=hint)


@FUZZ
@given(tnt_id=_tnt_id, hint=_cluster_like)
def test_any_tnt_id_in_the_request_is_used_or_ignored_and_never_moves_the_request(
    edge_client: Client, tnt_id: str, hint: str
) -> None:
    _call(edge_client, request={**REQUEST, "id": {"tntId": tnt_id}}, target_location_hint=hint)


@FUZZ
@given(hint=_cluster_like)
def test_a_configured_location_hint_is_used_or_refused_at_create(hint: str) -> None:
    hosts: list[str] = []

    def edge(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return httpx.Response(200, json={"status": 200})

    options = {"client": "demo", "organization_id": "DEMO@AdobeOrg", "transport": httpx.MockTransport(edge)}
    try:
        client = AsyncTargetClient.create(options, target_location_hint=hint)
    except TargetError:
        return

    async def call() -> None:
        async with client:
            await client.get_offers(request=REQUEST)

    with start_blocking_portal("asyncio") as portal:
        portal.call(call)
    for host in hosts:
        assert_edge_host(host, CONFIGURED_HOST)


_OPTION_NAMES = [
    "request",
    "target_cookie",
    "target_location_hint",
    "consumer_id",
    "customer_ids",
    "session_id",
    "decisioning_method",
    "timeout",
    "visitor",
    "visitor_cookie",
    "no_such_option",
]


@FUZZ
@given(
    options=st.dictionaries(st.sampled_from(_OPTION_NAMES), hostile_values(), max_size=4),
    call=st.sampled_from(["get_offers", "send_notifications", "enqueue_notifications", "get_attributes"]),
)
def test_any_call_option_is_used_or_refused_with_a_validation_error(
    edge_client: Client, options: dict[str, Any], call: str
) -> None:
    options.setdefault("request", NOTIFICATIONS if call in ("send_notifications", "enqueue_notifications") else REQUEST)
    client = edge_client.client
    try:
        if call == "enqueue_notifications":
            edge_client.portal.call(lambda: client.enqueue_notifications(options))
        elif call == "get_attributes":
            edge_client.portal.call(lambda: client.get_attributes(["home"], options))
        else:
            edge_client.portal.call(lambda: getattr(client, call)(options))
    except (TargetValidationError, TargetTimeoutError):  # a timeout of a few µs is a valid option
        pass
    edge_client.check_hosts()
    # The client still works.
    assert edge_client.get_offers(request=REQUEST).response.status == 200


@pytest.mark.parametrize(
    "options",
    [{"timeout": 10**400}, {"timeout": 10**5000}, {"decisioning_method": 10**5000}],
    ids=["timeout 10**400", "timeout 10**5000", "decisioning_method 10**5000"],
)
def test_an_integer_too_large_is_refused_with_a_validation_error(edge_client: Client, options: dict[str, Any]) -> None:
    # Found by the soak profile: OverflowError or ValueError (from the message's repr) instead.
    with pytest.raises(TargetValidationError):
        edge_client.get_offers(request=REQUEST, **options)
    with pytest.raises(TargetError):
        AsyncTargetClient.create(client="demo", organization_id="DEMO@AdobeOrg", **options)
