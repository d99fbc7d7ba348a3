"""Visitor bucketing: which share (0.00-99.99) of an activity's traffic a visitor falls in."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import mmh3

from .._random import random_id
from ._js import js_string

__all__ = [
    "allocation",
    "allocation_by_key",
    "hash_unencoded_chars",
    "new_id",
    "new_id_pair",
    "visitor_id_for_allocation",
]

_TOTAL_BUCKETS = 10_000
_CAMPAIGN_BUCKET_SALT = "0"


def new_id() -> str:
    """A random 32-hex-digit id, the form Target uses for tntIds and notification ids."""
    return random_id()


def new_id_pair() -> tuple[str, str]:
    """Two `new_id`s (notifications need an id and an impression id)."""
    return random_id(), random_id()


def hash_unencoded_chars(text: str) -> int:
    """MurmurHash3 x86_32 (seed 0) over the UTF-16 code units, as a signed int32 (Guava's hashUnencodedChars)."""
    return int(mmh3.hash(text.encode("utf-16-le"), 0, True))


def allocation(
    client: str, activity_id: Any, visitor_id: str, salt: str = _CAMPAIGN_BUCKET_SALT
) -> float:
    """The visitor's allocation for an activity, rounded to 2 decimals."""
    return allocation_by_key(client, js_string(activity_id), visitor_id, salt)


def allocation_by_key(
    client: str, activity_key: str, visitor_id: str, salt: str = _CAMPAIGN_BUCKET_SALT
) -> float:
    """`allocation` for an activity id already turned into its string (`String(id)`)."""
    device_id = f"{client}.{activity_key}.{visitor_id}.{salt}"
    # hash_unencoded_chars and js_round (same arithmetic), inlined: this runs for each
    # activity of each decision.
    bucket = abs(mmh3.hash(device_id.encode("utf-16-le"), 0, True)) % _TOTAL_BUCKETS
    return math.floor(bucket / _TOTAL_BUCKETS * 100 * 100 + 0.5) / 100


def visitor_id_for_allocation(visitor: Mapping[str, Any] | None) -> str:
    """ECID, else tntId without its location hint, else thirdPartyId, else a random id.

    Customer ids are never used, so an authenticated-only visitor is bucketed at random.
    """
    if visitor:
        for candidate in (
            visitor.get("marketingCloudVisitorId"),
            _tnt_id_without_hint(visitor.get("tntId")),
            visitor.get("thirdPartyId"),
        ):
            if isinstance(candidate, str) and candidate:
                return candidate
    return new_id()


def _tnt_id_without_hint(tnt_id: Any) -> str | None:
    if isinstance(tnt_id, str) and tnt_id:
        return tnt_id.split(".", 1)[0]
    return None
