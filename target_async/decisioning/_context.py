"""The data rules are evaluated against: user agent, page/referring URL, mbox parameters, geo, time."""

from __future__ import annotations

import functools
import ipaddress
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from ._js import js_parse_float

__all__ = [
    "ALL_CONTEXT_PARTS",
    "GEO_LOOKUP_FIELDS",
    "ContextParts",
    "browser_context",
    "context_parts",
    "geo_context",
    "geo_from_lookup",
    "mbox_context",
    "merged_context_parts",
    "timing_context",
    "url_context",
    "valid_geo",
    "warm_up",
    "with_geo",
]

UNKNOWN: Final = "unknown"
UNKNOWN_IP_ADDRESS: Final = "unknownIpAddress"

# (name, pattern, group holding the version); the first match wins.
_BROWSERS: Final = (
    ("Edge", re.compile(r"(edge|edgios|edga|edg)/((\d+)?[\w.]+)", re.I | re.A), 2),
    ("Mobile Safari", re.compile(r"version/([\w.]+).+?mobile/\w+\s(safari)", re.I | re.A), 1),
    ("Safari", re.compile(r"version/([\w.]+).+?(mobile\s?safari|safari)", re.I | re.A), 1),
    ("Chrome", re.compile(r"(chrome)/v?([\w.]+)", re.I | re.A), 2),
    ("Firefox", re.compile(r"(firefox)/([\w.-]+)\Z", re.I | re.A), 2),
    ("IE", re.compile(r"(?:ms|\()(ie)\s([\w.]+)", re.I | re.A), 2),
    ("IE", re.compile(r"(trident).+rv[:\s]([\w.]+).+like\sgecko", re.I | re.A), 2),
)
_CLIENT_HINT_BROWSERS: Final = (
    ("Chrome", re.compile(r'Chrome";v="([0-9.]+)"', re.I), 1),
    ("Edge", re.compile(r'Edge";v="([0-9.]+)"', re.I), 1),
    ("Safari", re.compile(r'Safari";v="([0-9.]+)"', re.I), 1),
    ("Firefox", re.compile(r'Firefox";v="([0-9.]+)"', re.I), 1),
)
_PLATFORMS: Final = (
    ("iOS", re.compile(r"iPhone|iPad|iPod")),
    ("Android", re.compile(r"Android [0-9.]+;")),
    ("Linux", re.compile(r" Linux ")),
    ("Unix", re.compile(r"FreeBSD|OpenBSD|CrOS")),
    ("Windows", re.compile(r"[( ]Windows ")),
    ("Mac OS", re.compile(r"Macintosh;")),
)
# Artifacts target platforms by these lower-case names only.
_TARGET_PLATFORMS: Final = {
    "Windows": "windows",
    "Macintosh": "mac",
    "Mac OS": "mac",
    "macOS": "mac",
    "Linux": "linux",
}
# The parts of a rule context, in the order its keys are laid out. A decision builds only
# the parts its rules read (e.g. an A/B test reads just `allocation`, which is separate).
ContextParts = tuple[str, ...]
ALL_CONTEXT_PARTS: Final[ContextParts] = ("timing", "user", "page", "referring", "geo", "mbox")
_PART_OF_KEY: Final = {
    "current_timestamp": "timing",
    "current_time": "timing",
    "current_day": "timing",
    "user": "user",
    "page": "page",
    "referring": "referring",
    "geo": "geo",
    "mbox": "mbox",
}

_LEADING_DIGITS = re.compile(r"\s*([+-]?\d+)")

GEO_LOOKUP_FIELDS: Final = ("latitude", "longitude", "countryCode", "stateCode", "city")
_GEO_HEADERS: Final = (
    ("x-forwarded-for", "ipAddress", False),
    ("x-geo-latitude", "latitude", True),
    ("x-geo-longitude", "longitude", True),
    ("x-geo-country-code", "countryCode", False),
    ("x-geo-region-code", "stateCode", False),
    ("x-geo-city", "city", False),
)


def context_parts(paths: Iterable[str | None]) -> ContextParts:
    """The context parts that reading these data paths needs (None: the whole data)."""
    needed = set()
    for path in paths:
        if path is None:
            return ALL_CONTEXT_PARTS
        part = _PART_OF_KEY.get(path.split(".", 1)[0])
        if part is not None:
            needed.add(part)
    return tuple(part for part in ALL_CONTEXT_PARTS if part in needed)


def merged_context_parts(parts: Iterable[ContextParts]) -> ContextParts:
    """The context parts of several rules together."""
    needed = {part for rule_parts in parts for part in rule_parts}
    return tuple(part for part in ALL_CONTEXT_PARTS if part in needed)


def _major_version(version: str | None) -> int:
    """`parseInt(version.split(".")[0])`, with -1 when there is no number."""
    match = _LEADING_DIGITS.match(version.split(".")[0]) if version else None
    # A visitor's User-Agent: thousands of digits would make int() raise (and mean nothing).
    return int(match.group(1)) if match and len(match.group(1)) <= 9 else -1


def _match_browser(
    text: str, matchers: tuple[tuple[str, re.Pattern[str], int], ...]
) -> tuple[str, int]:
    for name, pattern, group in matchers:
        found = pattern.search(text)
        if found:
            return name, _major_version(found.group(group))
    return UNKNOWN, -1


@functools.lru_cache(maxsize=1024)
def _browser_context(user_agent: str, hint_ua: str, hint_platform: str | None) -> dict[str, Any]:
    name, version = _match_browser(user_agent, _BROWSERS)
    hint_name, hint_version = _match_browser(hint_ua, _CLIENT_HINT_BROWSERS)
    if hint_name != UNKNOWN:
        name = hint_name
    if hint_version >= 0:
        version = hint_version
    if hint_platform is None:
        hint_platform = next(
            (platform for platform, pattern in _PLATFORMS if pattern.search(user_agent)), UNKNOWN
        )
    return {
        "browserType": name.lower(),
        "platform": _TARGET_PLATFORMS.get(hint_platform, hint_platform),
        "locale": "en",
        "browserVersion": version,
    }


def browser_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """`user.*`: browser type/version from the user agent (overridden by client hints), platform."""
    user_agent = context.get("userAgent")
    hints = context.get("clientHints")
    if not isinstance(hints, Mapping):  # absent or malformed: the user agent decides
        hints = {}
    hint_ua = hints.get("browserUAWithFullVersion") or hints.get("browserUAWithMajorVersion")
    platform = hints.get("platform")
    return _browser_context(
        user_agent if isinstance(user_agent, str) else "",
        hint_ua if isinstance(hint_ua, str) else "",
        platform if isinstance(platform, str) else None,
    )


@functools.cache
def _public_suffix_list() -> Any:
    # Imported and parsed on first use (~60 ms): server-side-only clients never pay for it.
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def warm_up() -> None:
    """Load the public suffix list now rather than during the first decision."""
    _public_suffix_list()


@functools.lru_cache(maxsize=1024)
def _domain_parts(host: str) -> tuple[str, str, str]:
    """(subdomain, registrable domain, public suffix) of a host, by the public suffix list.

    A host that is not under a listed suffix (an intranet name, an IP address) is its own
    domain, with neither subdomain nor suffix.
    """
    lower_host = host.lower()
    suffix = _public_suffix_list().publicsuffix(lower_host, accept_unknown=False) if host else None
    if suffix is None or suffix == lower_host:
        return "", host, ""
    labels = lower_host[: -len(suffix) - 1].split(".")
    domain = f"{labels[-1]}.{suffix}"
    subdomain = ".".join(labels[:-1])
    if subdomain == "www":
        subdomain = ""
    elif subdomain.startswith("www."):
        subdomain = subdomain[4:]
    return subdomain, domain, suffix


def _split_url(url: str) -> tuple[str, str, str, str]:
    """(host, path, query, fragment); the host keeps its case and loses userinfo and port."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "", "", "", ""
    host = parts.netloc.rpartition("@")[2]
    # An IPv6 literal keeps its brackets; otherwise the port goes.
    host = host[: host.find("]") + 1] if host.startswith("[") else host.partition(":")[0]
    return host, parts.path, parts.query, parts.fragment


@functools.lru_cache(maxsize=1024)
def url_context(url: str) -> dict[str, Any]:
    """`page.*` / `referring.*`: URL parts and domain parts, each also lower-cased as `*_lc`."""
    host, path, query, fragment = _split_url(url)
    subdomain, domain, top_level_domain = _domain_parts(host)
    fields = {
        "url": url,
        "path": path,
        "query": query,
        "fragment": fragment,
        "subdomain": subdomain,
        "domain": domain,
        "topLevelDomain": top_level_domain,
    }
    return fields | {f"{key}_lc": value.lower() for key, value in fields.items()}


def _is_expandable(key: str) -> bool:
    return "." in key and ".." not in key and not key.startswith(".") and not key.endswith(".")


def _unflatten(parameters: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in parameters.items():
        if not _is_expandable(key):
            result[key] = value
            continue
        *parents, leaf = key.split(".")
        node = result
        for parent in parents:
            child = node.get(parent)
            if not isinstance(child, dict):
                child = node[parent] = {}
            node = child
        node[leaf] = value
    return result


def _with_lower_case(values: dict[str, Any]) -> dict[str, Any]:
    result = dict(values)
    for key, value in values.items():
        if isinstance(value, str):
            result[f"{key}_lc"] = value.lower()
        elif isinstance(value, dict):
            result[key] = _with_lower_case(value)
    return result


def mbox_context(detail: Mapping[str, Any]) -> dict[str, Any]:
    """`mbox.*`: the request's parameters, unflattened on dots, with `*_lc` copies of strings."""
    parameters = detail.get("parameters")
    if not parameters:
        return {}
    return _with_lower_case(_unflatten(parameters))


def geo_context(geo: Mapping[str, Any] | None) -> dict[str, Any]:
    """`geo.*` (absent values omitted)."""
    if not geo:
        return {}
    fields = {
        "country": geo.get("countryCode"),
        "region": geo.get("stateCode"),
        "city": geo.get("city"),
        "latitude": geo.get("latitude"),
        "longitude": geo.get("longitude"),
    }
    return {key: value for key, value in fields.items() if value is not None}


def timing_context(now_ms: int) -> dict[str, Any]:
    """`current_timestamp` (ms), `current_time` ("HHmm", UTC), `current_day` (1 = Monday ... 7 = Sunday)."""
    seconds = now_ms // 1000
    hours, minutes = seconds % 86400 // 3600, seconds % 3600 // 60
    weekday = (seconds // 86400 + 4) % 7  # 1970-01-01 was a Thursday; 0 = Sunday
    return {
        "current_timestamp": now_ms,
        "current_time": f"{hours:02d}{minutes:02d}",
        "current_day": weekday or 7,
    }


def is_valid_ip(value: Any) -> bool:
    return isinstance(value, str) and _is_ip_address(value)


@functools.lru_cache(maxsize=1024)
def _is_ip_address(text: str) -> bool:
    # Parsing an address costs ~1 us; a server sees the same visitors' addresses again and again.
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def valid_geo(geo: Mapping[str, Any] | None) -> dict[str, Any]:
    """The request's geo without an unusable `ipAddress` (invalid, or the `unknownIpAddress` marker)."""
    result = dict(geo or {})
    address = result.get("ipAddress")
    if "ipAddress" in result and (address == UNKNOWN_IP_ADDRESS or not is_valid_ip(address)):
        del result["ipAddress"]
    return result


def needs_lookup(geo: Mapping[str, Any] | None) -> bool:
    """Whether the geo names an IP to resolve and carries no location of its own."""
    geo = geo or {}
    address = geo.get("ipAddress")
    return (address == UNKNOWN_IP_ADDRESS or is_valid_ip(address)) and all(
        geo.get(field) is None for field in GEO_LOOKUP_FIELDS
    )


def with_geo(request: Mapping[str, Any], geo: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the request whose `context.geo` also holds `geo` (e.g. a geo lookup's answer)."""
    context = request.get("context")
    context = dict(context) if isinstance(context, Mapping) else {}
    context["geo"] = valid_geo(context.get("geo")) | dict(geo)
    return {**request, "context": context}


def geo_from_lookup(body: Mapping[str, Any]) -> dict[str, Any]:
    """The Geo wire fields of a geo lookup answer (`x-geo-*` keys); coordinates become numbers.

    The answer is untrusted: a field of the wrong type, or a coordinate that is not a
    finite number (NaN would make every notification of the decision unsendable), is dropped.
    """
    result: dict[str, Any] = {}
    for header, field, numeric in _GEO_HEADERS:
        value = body.get(header)
        if numeric:
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                number = js_parse_float(value)
                if math.isfinite(number):
                    result[field] = number
        elif isinstance(value, str):
            result[field] = value
    return result
