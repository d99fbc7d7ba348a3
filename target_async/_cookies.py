"""Visitor cookies and edge routing: the `mbox` cookie, `mboxEdgeCluster` and the edge host.

Pure functions, no I/O. Formats follow the official SDKs byte for byte so that a cookie
written by at.js or by `target-python-sdk` is read here and vice versa.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any
from urllib.parse import quote, unquote

import attrs

__all__ = [
    "EDGE_CLUSTER_PREFIX",
    "LOCATION_HINT_COOKIE",
    "LOCATION_HINT_MAX_AGE",
    "SESSION_MAX_AGE",
    "TARGET_COOKIE",
    "TNT_ID_MAX_AGE",
    "Cookie",
    "InternalCookie",
    "cluster_from_edge_host",
    "cluster_from_tnt_id",
    "describe_untrusted",
    "edge_host",
    "is_cluster",
    "location_hint_cookie",
    "parse_target_cookie",
    "target_cookie",
    "visitor_cookie_name",
]

TARGET_COOKIE = "mbox"
LOCATION_HINT_COOKIE = "mboxEdgeCluster"
SESSION_ENTRY = "session"
DEVICE_ID_ENTRY = "PC"
EDGE_CLUSTER_PREFIX = "mboxedge"
EDGE_DOMAIN = "tt.omtrdc.net"

# An edge cluster as Adobe names them ("28", "35", "irl1"): a short token of ASCII letters
# and digits. It becomes part of a host name, so anything else (a visitor's cookie may hold
# "@evil.example/") is never used.
_CLUSTER = re.compile(r"[A-Za-z0-9]{1,16}")

# The edge keeps a session 30 minutes; one extra minute covers clock skew (as at.js does).
SESSION_MAX_AGE = 1860
LOCATION_HINT_MAX_AGE = 1860
# 732 days, the lifetime at.js gives the visitor's device id.
TNT_ID_MAX_AGE = 63244800


class Cookie(dict[str, Any]):
    """A cookie for the caller to set on its HTTP response (`max_age` in seconds).

    The official SDKs' cookie dict `{"name", "value", "maxAge"}`, so `json.dumps` and
    `cookie["maxAge"]` work as there, with the attributes `name`, `value` and `max_age`.
    """

    __slots__ = ()

    def __init__(self, name: str, value: str, max_age: int) -> None:
        super().__init__(name=name, value=value, maxAge=max_age)

    @property
    def name(self) -> str:
        name: str = self["name"]
        return name

    @property
    def value(self) -> str:
        value: str = self["value"]
        return value

    @property
    def max_age(self) -> int:
        max_age: int = self["maxAge"]
        return max_age

    def __missing__(self, key: str) -> Any:
        if key == "max_age":  # the snake_case spelling reads too
            return self["maxAge"]
        raise KeyError(key)

    def __repr__(self) -> str:
        return f"Cookie(name={self.name!r}, value={self.value!r}, max_age={self.max_age!r})"


@attrs.frozen
class InternalCookie:
    """One `name#value#expires` entry of the `mbox` cookie (`expires` in epoch seconds)."""

    name: str
    value: str
    expires: int


_URL_SAFE = re.compile(r"[A-Za-z0-9_.~-]*")


def _quote(value: str) -> str:
    # Session ids and tntIds are nearly always URL-safe; skip `quote` for them (hot path).
    return value if _URL_SAFE.fullmatch(value) else quote(value)


def visitor_cookie_name(organization_id: str) -> str:
    """Name of the Experience Cloud visitor (ECID) cookie for an organization."""
    return f"AMCV_{organization_id}"


def _now_seconds(now: float | None) -> int:
    return math.ceil(time.time() if now is None else now)


def parse_target_cookie(value: str | None, *, now: float | None = None) -> dict[str, InternalCookie]:
    """Parse an `mbox` cookie value into its unexpired entries by name.

    Malformed parts are ignored, never raised: a broken cookie from a browser must not
    break a page. A later duplicate wins.
    """
    if not value:
        return {}
    now_s = _now_seconds(now)
    entries: dict[str, InternalCookie] = {}
    for part in value.split("|"):
        pieces = part.split("#")
        if len(pieces) < 3:
            continue
        try:
            expires = int(pieces[2])
        except ValueError:
            continue
        if now_s > expires:
            continue
        name = unquote(pieces[0])
        entries[name] = InternalCookie(name=name, value=unquote(pieces[1]), expires=expires)
    return entries


def target_cookie(session_id: str, tnt_id: str | None, *, now: float | None = None) -> Cookie:
    """The `mbox` cookie to return after a response: the session entry, then the device id."""
    now_exact = time.time() if now is None else now
    now_s = math.ceil(now_exact)
    # Formatted directly (no InternalCookie per entry): this runs on every response. The
    # entry names are URL-safe constants, so only the values need quoting.
    latest = now_s + SESSION_MAX_AGE
    value = f"{SESSION_ENTRY}#{_quote(session_id)}#{latest}"
    if tnt_id:
        latest = now_s + TNT_ID_MAX_AGE
        value = f"{value}|{DEVICE_ID_ENTRY}#{_quote(tnt_id)}#{latest}"
    max_age = math.ceil(abs(latest * 1000 - now_exact * 1000) / 1000)
    return Cookie(name=TARGET_COOKIE, value=value, max_age=max_age)


def is_cluster(value: object) -> bool:
    """Whether `value` is an edge cluster name: 1-16 ASCII letters and digits."""
    return isinstance(value, str) and _CLUSTER.fullmatch(value) is not None


def describe_untrusted(value: object, limit: int = 24) -> str:
    """A visitor's value as it may appear in a log line: ASCII-escaped and truncated."""
    text = ascii(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def cluster_from_tnt_id(tnt_id: object) -> str | None:
    """The edge cluster encoded in a tntId: `<uuid>.<cluster>_<n>` → `<cluster>`.

    None when the tntId carries no cluster, or one that is not a cluster name.
    """
    if not isinstance(tnt_id, str) or "." not in tnt_id:  # most tntIds a page sends carry no hint
        return None
    parts = tnt_id.split(".")
    if len(parts) != 2 or not parts[1]:
        return None
    location = parts[1].split("_")
    if len(location) != 2 or not is_cluster(location[0]):
        return None
    return location[0]


def cluster_from_edge_host(host: object) -> str | None:
    """The cluster of an edge host name: `mboxedge28.tt.omtrdc.net` → `28`.

    None for anything else, including a host of another domain or a malformed cluster.
    """
    if not isinstance(host, str) or not host:
        return None
    parts = host.split(".")
    if len(parts) != 4 or not parts[0].startswith(EDGE_CLUSTER_PREFIX) or ".".join(parts[1:]).lower() != EDGE_DOMAIN:
        return None
    cluster = parts[0][len(EDGE_CLUSTER_PREFIX) :]
    return cluster if is_cluster(cluster) else None


def edge_host(client: str, *, cluster: str | None, server_domain: str | None) -> str:
    """Host name of the edge to call: the visitor's cluster wins, as at.js does.

    A `cluster` that is not a cluster name is ignored: only the configured host or
    `mboxedge<cluster>.tt.omtrdc.net` is ever returned.
    """
    if cluster and is_cluster(cluster):
        return f"{EDGE_CLUSTER_PREFIX}{cluster}.{EDGE_DOMAIN}"
    if server_domain:
        return server_domain
    return f"{client}.{EDGE_DOMAIN}"


def location_hint_cookie(cluster: str | None) -> Cookie | None:
    """The `mboxEdgeCluster` cookie for a known cluster (none when unknown or malformed)."""
    if not cluster or not is_cluster(cluster):
        return None
    return Cookie(name=LOCATION_HINT_COOKIE, value=cluster, max_age=LOCATION_HINT_MAX_AGE)

