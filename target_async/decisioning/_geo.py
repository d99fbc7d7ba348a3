"""The geo lookup service: what to ask it, and a small cache of its answers (no I/O)."""

from __future__ import annotations

import collections
from collections.abc import Mapping
from typing import Any, Final

from ._context import UNKNOWN_IP_ADDRESS

__all__ = ["GEO_PATH", "GeoCache", "geo_lookup_headers", "geo_lookup_key"]

GEO_PATH: Final = "/v1/geo"
DEFAULT_GEO_CACHE_SIZE: Final = 1024
DEFAULT_GEO_CACHE_TTL: Final = 600.0  # s; an IP's location hardly moves within minutes


def geo_lookup_key(request: Mapping[str, Any]) -> str | None:
    """The IP address (or "unknownIpAddress") a request's `context.geo` asks to resolve."""
    context = request.get("context")
    geo = context.get("geo") if isinstance(context, Mapping) else None
    address = geo.get("ipAddress") if isinstance(geo, Mapping) else None
    return address if isinstance(address, str) else None


def geo_lookup_headers(ip_address: str) -> dict[str, str]:
    """Headers of the lookup: the address to resolve, or none for "unknownIpAddress"
    (the service then resolves the caller's own address)."""
    return {} if ip_address == UNKNOWN_IP_ADDRESS else {"x-forwarded-for": ip_address}


class GeoCache:
    """Recent lookup answers by IP address: least recently used evicted, entries expire.

    Without it every on-device call for a request that only names an IP would wait on a
    network round trip. `now` is a monotonic time in seconds, given by the caller.
    """

    def __init__(
        self, *, size: int = DEFAULT_GEO_CACHE_SIZE, ttl: float = DEFAULT_GEO_CACHE_TTL
    ) -> None:
        self._size = size
        self._ttl = ttl
        self._entries: collections.OrderedDict[str, tuple[float, dict[str, Any]]] = (
            collections.OrderedDict()
        )

    def get(self, ip_address: str, now: float) -> dict[str, Any] | None:
        entry = self._entries.get(ip_address)
        if entry is None:
            return None
        expires, geo = entry
        if now >= expires:
            del self._entries[ip_address]
            return None
        self._entries.move_to_end(ip_address)
        return geo

    def put(self, ip_address: str, geo: dict[str, Any], now: float) -> None:
        self._entries[ip_address] = (now + self._ttl, geo)
        self._entries.move_to_end(ip_address)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
