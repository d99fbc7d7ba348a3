"""Allocation hashing against the reference test vectors."""

from __future__ import annotations

import re

import pytest

from target_async.decisioning._allocation import (
    allocation,
    hash_unencoded_chars,
    visitor_id_for_allocation,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("someClientId.123456.tntId123.salty", -1846592194),
        ("targettesting.125880.4c038b35f1b1453d80a3e7da8208c617.campaign", -683299703),
    ],
)
def test_hash_matches_hash_unencoded_chars(text: str, expected: int) -> None:
    assert hash_unencoded_chars(text) == expected


@pytest.mark.parametrize(
    ("visitor", "expected"),
    [
        ({"marketingCloudVisitorId": "ecid123", "tntId": "tntId123"}, 29.06),
        ({"tntId": "tntId123"}, 21.94),
        ({"tntId": "tntId123.28_0"}, 21.94),  # the location hint is not part of the id
        ({"thirdPartyId": "thirtPartyId123"}, 73.15),
    ],
)
def test_allocation_vectors(visitor: dict[str, str], expected: float) -> None:
    visitor_id = visitor_id_for_allocation(visitor)
    assert allocation("someClientId", 123456, visitor_id, salt="salty") == expected


def test_allocation_of_the_trace_suite() -> None:
    visitor_id = visitor_id_for_allocation(
        {"thirdPartyId": "338e3c1e51f7416a8e1ccba4f81acea0.28_0"}
    )
    assert allocation("someClientId", 125873, visitor_id) == 48.44


def test_customer_ids_are_never_used_for_bucketing() -> None:
    visitor = {"customerIds": [{"id": "cust", "authenticatedState": "authenticated"}]}
    first, second = visitor_id_for_allocation(visitor), visitor_id_for_allocation(visitor)
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second
    assert visitor_id_for_allocation({"tntId": "", "thirdPartyId": "third"}) == "third"
