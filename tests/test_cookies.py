from __future__ import annotations

import pytest

from target_async._cookies import (
    LOCATION_HINT_MAX_AGE,
    TNT_ID_MAX_AGE,
    cluster_from_edge_host,
    cluster_from_tnt_id,
    edge_host,
    location_hint_cookie,
    parse_target_cookie,
    target_cookie,
    visitor_cookie_name,
)

NOW = 1570320000.0


def test_target_cookie_has_session_then_device_id_entries() -> None:
    cookie = target_cookie("sessionId", "tntId", now=NOW)
    assert cookie.name == "mbox"
    assert cookie.value == f"session#sessionId#{int(NOW) + 1860}|PC#tntId#{int(NOW) + TNT_ID_MAX_AGE}"
    assert cookie.max_age == TNT_ID_MAX_AGE
    assert cookie["maxAge"] == cookie["max_age"] == TNT_ID_MAX_AGE


def test_target_cookie_without_tnt_id_lives_as_long_as_the_session() -> None:
    cookie = target_cookie("s1", None, now=NOW + 0.4)
    assert cookie.value == f"session#s1#{int(NOW) + 1 + 1860}"
    # max age is measured from the exact now, rounded up: 1860.6 s -> 1861
    assert cookie.max_age == 1861


def test_cookie_values_are_url_encoded_and_round_trip() -> None:
    cookie = target_cookie("a b|c#d", "x/y", now=NOW)
    parsed = parse_target_cookie(cookie.value, now=NOW)
    assert parsed["session"].value == "a b|c#d"
    assert parsed["PC"].value == "x/y"


@pytest.mark.parametrize("value", ["", None, "a#1", "a#1#b", "garbage", "|||", "#"])
def test_malformed_cookies_are_ignored(value: str | None) -> None:
    assert parse_target_cookie(value, now=NOW) == {}


def test_expired_entries_are_dropped_and_later_duplicates_win() -> None:
    value = f"session#old#{int(NOW) - 1}|PC#first#{int(NOW) + 10}|PC#second#{int(NOW) + 10}"
    parsed = parse_target_cookie(value, now=NOW)
    assert "session" not in parsed
    assert parsed["PC"].value == "second"


def test_cluster_from_tnt_id() -> None:
    assert cluster_from_tnt_id("08210e2d751a44779b8313e2d2692b96.21_27") == "21"
    for bad in [None, "", "abc", "abc.", "abc.21", "abc._1", "a.b.c_1", "abc.21_1_2"]:
        assert cluster_from_tnt_id(bad) is None, bad


def test_cluster_from_edge_host() -> None:
    assert cluster_from_edge_host("mboxedge28.tt.omtrdc.net") == "28"
    for bad in [None, "", "mboxedge28.omtrdc.net", "demo.tt.omtrdc.net", "mboxedge.tt.omtrdc.net"]:
        assert cluster_from_edge_host(bad) is None, bad


def test_edge_host_prefers_cluster_then_server_domain_then_client() -> None:
    assert edge_host("acme", cluster="28", server_domain="x.example") == "mboxedge28.tt.omtrdc.net"
    assert edge_host("acme", cluster=None, server_domain="x.example") == "x.example"
    assert edge_host("acme", cluster=None, server_domain=None) == "acme.tt.omtrdc.net"


def test_location_hint_cookie_and_visitor_cookie_name() -> None:
    cookie = location_hint_cookie("35")
    assert cookie is not None
    assert (cookie.name, cookie.value, cookie.max_age) == ("mboxEdgeCluster", "35", LOCATION_HINT_MAX_AGE)
    assert location_hint_cookie(None) is None
    assert visitor_cookie_name("ABC@AdobeOrg") == "AMCV_ABC@AdobeOrg"
