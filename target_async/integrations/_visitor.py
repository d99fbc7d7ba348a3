"""Framework-neutral web helpers: visitor cookies in, call options out, cookies back.

Pure functions, no I/O and no web framework imports: the Starlette and aiohttp modules
(and any other framework, see the Flask example in the docs) are thin adapters over these.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any, Literal, Protocol, TypeAlias

import attrs

from .. import _serde
from .._attributes import AttributesProvider
from .._cookies import LOCATION_HINT_COOKIE, TARGET_COOKIE, Cookie, visitor_cookie_name
from .._delivery import TargetDeliveryResponse
from .._exceptions import TargetValidationError
from .._visitor import parse_amcv_cookie
from ..models import Address, ChannelType, ClientHints, Context, DeliveryRequest, Geo

__all__ = [
    "COOKIE_PATH",
    "HeaderLookup",
    "SameSite",
    "TargetResult",
    "amcv_cookie",
    "marketing_cloud_visitor_id",
    "request_context",
    "response_cookies",
    "visitor_options",
]

COOKIE_PATH = "/"
"""Path of the cookies set for Target: the whole site, as at.js sets them."""

_MAX_URL_LENGTH = 4096  # the Delivery API refuses longer `address.url` / `referringUrl`

SameSite: TypeAlias = Literal["lax", "strict", "none"]
TargetResult: TypeAlias = TargetDeliveryResponse | AttributesProvider
"""What the client's calls return: the cookies to send back are read from either."""


class HeaderLookup(Protocol):
    """Case-insensitive header access, as Starlette, aiohttp and Werkzeug headers offer."""

    def get(self, key: str, /) -> str | None: ...


def marketing_cloud_visitor_id(visitor_cookie: str | None) -> str | None:
    """The Experience Cloud visitor id (`MCMID`) held in an `AMCV_<org>` cookie value.

    The cookie (written by the Experience Cloud ID service in the browser) is
    `<checksum>|KEY|VALUE|KEY|VALUE...`, URL-encoded; it is read as the official SDKs read
    it (`target_async.Visitor`). Anything unreadable gives None: a malformed cookie never
    breaks a page.
    """
    return parse_amcv_cookie(visitor_cookie).get("MCMID") or None


def amcv_cookie(cookies: Mapping[str, str], organization_id: str) -> str | None:
    """The value of the visitor's `AMCV_<organization_id>` cookie, under either spelling of
    its name: `AMCV_...@AdobeOrg`, or `AMCV_...%40AdobeOrg` as browsers store it."""
    name = visitor_cookie_name(organization_id)
    return cookies.get(name) or cookies.get(name.replace("@", "%40")) or None


def _ip_address(host: str | None) -> str | None:
    # The peer may be a Unix socket path or a test client's placeholder name.
    if not host:
        return None
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _client_hints(headers: HeaderLookup) -> ClientHints | None:
    def unquoted(name: str) -> str | None:
        value = headers.get(name)
        return (value.strip().strip('"') or None) if value else None

    mobile = headers.get("sec-ch-ua-mobile")
    hints = ClientHints(
        mobile={"?1": True, "?0": False}.get(mobile.strip()) if mobile else None,
        model=unquoted("sec-ch-ua-model"),
        platform=unquoted("sec-ch-ua-platform"),
        platform_version=unquoted("sec-ch-ua-platform-version"),
        browser_ua_with_major_version=headers.get("sec-ch-ua") or None,
        browser_ua_with_full_version=headers.get("sec-ch-ua-full-version-list") or None,
        architecture=unquoted("sec-ch-ua-arch"),
        bitness=unquoted("sec-ch-ua-bitness"),
    )
    return None if hints == ClientHints() else hints


def request_context(url: str | None, headers: HeaderLookup, ip_address: str | None = None) -> Context:
    """The Delivery API `context` of a browser's page request.

    Web channel, the page URL and referrer, the user agent (the edge ignores the HTTP
    header of our own call: it must travel in the body), the User-Agent client hints the
    browser sent, and the visitor's IP for geo targeting (without it the edge would
    locate your server).
    """
    referrer = headers.get("referer")
    ip = _ip_address(ip_address)
    return Context(
        channel=ChannelType.WEB,
        address=Address(
            url=url[:_MAX_URL_LENGTH] if url else None,
            referring_url=referrer[:_MAX_URL_LENGTH] if referrer else None,
        ),
        user_agent=headers.get("user-agent") or None,
        client_hints=_client_hints(headers),
        geo=Geo(ip_address=ip) if ip else None,
    )


def _fill(given: Any, extra: Any) -> Any:
    """`given` with its unset (None) fields taken from `extra`; nested models are filled too."""
    if given is None:
        return extra
    if extra is None or not attrs.has(type(given)) or type(given) is not type(extra):
        return given
    changes = {
        field.name: _fill(value, getattr(extra, field.name))
        for field in attrs.fields(type(given))
        if (value := getattr(given, field.name)) is None or attrs.has(type(value))
    }
    return attrs.evolve(given, **changes)


def _fill_wire(given: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(given)
    for key, value in extra.items():
        if merged.get(key) is None:
            merged[key] = value
        elif isinstance(merged[key], dict) and isinstance(value, Mapping):
            merged[key] = _fill_wire(merged[key], value)
    return merged


def _with_context(
    delivery_request: DeliveryRequest | Mapping[str, Any] | None,
    context: Context | None,
) -> DeliveryRequest | dict[str, Any]:
    if delivery_request is None:
        return DeliveryRequest(context=context)
    if isinstance(delivery_request, DeliveryRequest):
        # A copy: the caller's request may be a module-level template shared by all visitors.
        return attrs.evolve(delivery_request, context=_fill(delivery_request.context, context))
    if isinstance(delivery_request, Mapping):
        # Wire JSON (camelCase), as the client accepts it.
        extra = _serde.unstructure(DeliveryRequest(context=context))
        return _fill_wire(dict(delivery_request), extra)
    raise TargetValidationError(
        f"Request object of type DeliveryRequest is required, got {type(delivery_request).__name__}"
    )


def _response_of(result: TargetResult) -> TargetDeliveryResponse:
    if isinstance(result, AttributesProvider):
        return result.get_response()
    if isinstance(result, TargetDeliveryResponse):
        return result
    raise TypeError(
        f"expected the result of get_offers, get_attributes or send_notifications, got {type(result).__name__}"
    )


def visitor_options(
    cookies: Mapping[str, str],
    delivery_request: DeliveryRequest | Mapping[str, Any] | None = None,
    /,
    *,
    organization_id: str | None = None,
    context: Context | None = None,
    result: TargetResult | None = None,
    **options: Any,
) -> dict[str, Any]:
    """The option mapping for `get_offers`, `get_attributes` or `send_notifications`.

    - `request`: `delivery_request` (or an empty one) with its unset `context` fields
      taken from `context`. Your request is copied, never changed; what you set in it wins.
    - `visitor_cookie`: the visitor's `AMCV_<organization_id>` cookie (either spelling of
      its name), from which the client sends the ECID, the Audience Manager fields and an
      A4T supplemental data id (see the "Visitor identity and A4T" page). A `visitor`
      given in `**options` is used instead, as the official SDKs do.
    - `target_cookie` and `target_location_hint`: the browser's `mbox` and
      `mboxEdgeCluster` cookies, or, when `result` (an earlier call for the same
      visitor while handling the same page) is given, the cookies it returned: a new
      visitor's first call creates the session and tntId that later calls must carry.
    - `**options`: any other call option (`customer_ids`, `decisioning_method`,
      `timeout`, ...); a `target_cookie` or `target_location_hint` given here wins.
    """
    if "request" in options:
        raise TargetValidationError("pass the DeliveryRequest as the second positional argument, not request=")
    target_cookie = cookies.get(TARGET_COOKIE) or None
    location_hint = cookies.get(LOCATION_HINT_COOKIE) or None
    if result is not None:
        response = _response_of(result)
        target_cookie = response.target_cookie.value
        if response.target_location_hint_cookie is not None:
            location_hint = response.target_location_hint_cookie.value
    merged: dict[str, Any] = {
        "request": _with_context(delivery_request, context),
        "target_cookie": target_cookie,
        "target_location_hint": location_hint,
        # A visitor of the caller's holds the cookie already.
        "visitor_cookie": amcv_cookie(cookies, organization_id)
        if organization_id and options.get("visitor") is None
        else None,
    }
    merged.update(options)
    return {key: value for key, value in merged.items() if value is not None}


def response_cookies(result: TargetResult) -> list[Cookie]:
    """The cookies to set on the browser after a call: `mbox`, then `mboxEdgeCluster` if known."""
    response = _response_of(result)
    cookies = [response.target_cookie]
    if response.target_location_hint_cookie is not None:
        cookies.append(response.target_location_hint_cookie)
    return cookies
