"""Per-call option parsing (pure, no I/O)."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from target_async import TargetValidationError
from target_async._options import _CHECKS, CallOptions, parse_call_options
from target_async.models import DecisioningMethod


def test_every_option_has_a_check() -> None:
    assert set(_CHECKS) == {field.name for field in attrs.fields(CallOptions)}


def test_given_options_are_checked_and_the_others_keep_their_defaults() -> None:
    def callback(_: object) -> None: ...

    parsed = parse_call_options(
        {"request": {"x": 1}, "session_id": "s-1", "target_cookie": "", "timeout": 250},
        {"decisioning_method": "hybrid", "callback": callback, "consumer_id": None},
    )
    assert parsed == CallOptions(
        request={"x": 1},
        session_id="s-1",
        timeout=250,
        decisioning_method=DecisioningMethod.HYBRID,
        callback=callback,
    )
    assert parse_call_options(None, {}) == CallOptions()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"session_id": 5}, "session_id must be a str, got int"),
        ({"target_location_hint": b"28"}, "target_location_hint must be a str, got bytes"),
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"timeout": True}, "timeout must be a positive number"),
        ({"customer_ids": "abc"}, "customer_ids must be a list"),
        ({"decisioning_method": "local"}, "Invalid Decisioning Method"),
        ({"err_callback": "print"}, "Callback must be a callable function"),
        ({"targetCookie": None}, "Unknown option 'targetCookie'"),
    ],
)
def test_a_bad_option_names_what_was_wrong(options: dict[str, Any], message: str) -> None:
    with pytest.raises(TargetValidationError, match=message):
        parse_call_options(options, {})


def test_an_option_given_twice_differently_is_refused() -> None:
    with pytest.raises(TargetValidationError, match="given both"):
        parse_call_options({"session_id": "a"}, {"session_id": "b"})
