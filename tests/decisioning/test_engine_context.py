"""The rule context: browser, URL/domain parts, mbox parameters, time, geo."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from target_async.decisioning import geo_from_lookup, with_geo
from target_async.decisioning._context import (
    browser_context,
    mbox_context,
    needs_lookup,
    timing_context,
    url_context,
    valid_geo,
)

CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/80.0.3987.163 Safari/537.36"
)


@pytest.mark.parametrize(
    ("user_agent", "browser", "version", "platform"),
    [
        (CHROME_MAC, "chrome", 80, "mac"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:73.0) Gecko/20100101 Firefox/73.0",
            "firefox",
            73,
            "mac",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/13.0.5 Safari/605.1.15",
            "safari",
            13,
            "mac",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 13_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/13.0.3 Mobile/15E148 Safari/604.1",
            "mobile safari",
            13,
            "iOS",
        ),
        (
            "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; WOW64; Trident/6.0)",
            "ie",
            10,
            "windows",
        ),
        ("Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko", "ie", 11, "windows"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/91.0.4472.124 Safari/537.36 Edg/91.0.864.59",
            "edge",
            91,
            "windows",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:89.0) Gecko/20100101 Firefox/89.0",
            "firefox",
            89,
            "linux",
        ),
        ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64) Firefox/89.0 ", "unknown", -1, "linux"),
        ("", "unknown", -1, "unknown"),
    ],
)
def test_browser_from_user_agent(
    user_agent: str, browser: str, version: int, platform: str
) -> None:
    user = browser_context({"userAgent": user_agent})
    assert user == {
        "browserType": browser,
        "platform": platform,
        "locale": "en",
        "browserVersion": version,
    }


def test_client_hints_override_the_user_agent() -> None:
    user = browser_context(
        {
            "userAgent": CHROME_MAC,
            "clientHints": {
                "browserUAWithMajorVersion": '"Not A;Brand";v="99", "Microsoft Edge";v="92"',
                "platform": "Windows",
            },
        }
    )
    assert user["browserType"] == "edge"
    assert user["browserVersion"] == 92
    assert user["platform"] == "windows"
    assert browser_context({"clientHints": {"platform": "Chrome OS"}})["platform"] == "Chrome OS"
    # Malformed hints are ignored, like a malformed user agent.
    assert browser_context({"clientHints": "Chrome OS", "userAgent": 5}) == browser_context({})


def test_url_parts() -> None:
    page = url_context("http://local-target-test:8080/Home?Bar=true#hello")
    assert page["url"] == "http://local-target-test:8080/Home?Bar=true#hello"
    assert (page["path"], page["query"], page["fragment"]) == ("/Home", "Bar=true", "hello")
    assert (page["subdomain"], page["domain"], page["topLevelDomain"]) == (
        "",
        "local-target-test",
        "",
    )
    assert page["path_lc"] == "/home"
    assert page["query_lc"] == "bar=true"


@pytest.mark.parametrize(
    ("url", "subdomain", "domain", "top_level_domain"),
    [
        (
            "https://pied.piper.decentralized.test.hooli.com/?a=1",
            "pied.piper.decentralized.test",
            "hooli.com",
            "com",
        ),
        ("https://www.example.co.uk/x", "", "example.co.uk", "co.uk"),
        ("https://www.shop.example.com", "shop", "example.com", "com"),
        ("https://WWW.Example.COM", "", "example.com", "com"),
        (
            "http://test.wayne-enterprises.us-east-1.elasticbeanstalk.com/",
            "test",
            "wayne-enterprises.us-east-1.elasticbeanstalk.com",
            "us-east-1.elasticbeanstalk.com",
        ),
        ("http://127.0.0.1:8080/", "", "127.0.0.1", ""),
        ("http://user:pw@intranet.local/", "", "intranet.local", ""),
        ("", "", "", ""),
    ],
)
def test_domains_use_the_public_suffix_list(
    url: str, subdomain: str, domain: str, top_level_domain: str
) -> None:
    page = url_context(url)
    assert (page["subdomain"], page["domain"], page["topLevelDomain"]) == (
        subdomain,
        domain,
        top_level_domain,
    )


def test_mbox_parameters_are_unflattened_with_lower_case_copies() -> None:
    detail = {
        "parameters": {
            "favorite.color": "Blue",
            "favorite.size": 3,
            "a..b": "X",
            ".lead": "Y",
            "trail.": "Z",
            "plain": "Q",
        }
    }
    assert mbox_context(detail) == {
        "favorite": {"color": "Blue", "color_lc": "blue", "size": 3},
        "a..b": "X",
        "a..b_lc": "x",
        ".lead": "Y",
        ".lead_lc": "y",
        "trail.": "Z",
        "trail._lc": "z",
        "plain": "Q",
        "plain_lc": "q",
    }
    assert mbox_context({}) == {}


def _ms(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> int:
    moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


@pytest.mark.parametrize(
    ("now_ms", "time", "day"),
    [
        (_ms(2021, 2, 11, 19, 0), "1900", 4),  # a Thursday
        (_ms(2021, 2, 14, 0, 5), "0005", 7),  # a Sunday
        (_ms(2021, 2, 15, 23, 59, 59), "2359", 1),  # a Monday
    ],
)
def test_timing_is_utc(now_ms: int, time: str, day: int) -> None:
    assert timing_context(now_ms) == {
        "current_timestamp": now_ms,
        "current_time": time,
        "current_day": day,
    }


@pytest.mark.parametrize(
    ("geo", "lookup"),
    [
        ({"ipAddress": "127.0.0.1"}, True),
        ({"ipAddress": "2001:db8::1"}, True),
        ({"ipAddress": "unknownIpAddress"}, True),
        ({"ipAddress": "not-an-ip"}, False),
        ({"ipAddress": "127.0.0.1", "city": "SAN FRANCISCO"}, False),
        ({}, False),
        (None, False),
    ],
)
def test_geo_lookup_only_for_an_ip_without_location(
    geo: dict[str, Any] | None, lookup: bool
) -> None:
    assert needs_lookup(geo) is lookup


def test_geo_from_lookup_and_merge() -> None:
    body = {
        "x-geo-latitude": "37.75",
        "x-geo-longitude": -122.4,
        "x-geo-country-code": "US",
        "x-geo-region-code": "CA",
        "x-geo-city": "SAN FRANCISCO",
        "other": "ignored",
    }
    geo = geo_from_lookup(body)
    assert geo == {
        "latitude": 37.75,
        "longitude": -122.4,
        "countryCode": "US",
        "stateCode": "CA",
        "city": "SAN FRANCISCO",
    }
    request: dict[str, Any] = {
        "context": {"channel": "web", "geo": {"ipAddress": "unknownIpAddress"}},
        "id": {"tntId": "t"},
    }
    merged = with_geo(request, geo)
    assert merged["context"]["geo"] == geo  # the marker address is not a real one
    assert merged["context"]["channel"] == "web"
    assert request["context"]["geo"] == {"ipAddress": "unknownIpAddress"}
    assert valid_geo({"ipAddress": "10.0.0.1", "city": "X"}) == {
        "ipAddress": "10.0.0.1",
        "city": "X",
    }
