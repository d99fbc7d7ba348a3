"""Per-call option parsing (pure, no I/O)."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from target_async import (
    AsyncTargetClient,
    AttributesCallbackOptions,
    CallbackOptions,
    ClientOptions,
    ErrCallbackOptions,
    RequestOptions,
    TargetClient,
    TargetConfig,
    TargetConfigError,
    TargetValidationError,
)
from target_async._options import _CHECKS, CallOptions, parse_call_options
from target_async.models import DecisioningMethod


def test_every_option_has_a_check() -> None:
    assert set(_CHECKS) == {field.name for field in attrs.fields(CallOptions)}


def test_the_typed_options_name_what_the_runtime_takes() -> None:
    runtime = {field.name for field in attrs.fields(CallOptions)}
    assert RequestOptions.__annotations__.keys() | {"callback", "err_callback"} == runtime
    for typed in (CallbackOptions, AttributesCallbackOptions, ErrCallbackOptions):
        assert typed.__annotations__.keys() <= runtime
    assert CallbackOptions.__required_keys__ == AttributesCallbackOptions.__required_keys__ == {"callback"}
    assert ErrCallbackOptions.__required_keys__ == {"err_callback"}
    assert "callback" not in ErrCallbackOptions.__annotations__
    assert ClientOptions.__annotations__.keys() == {field.name for field in attrs.fields(TargetConfig)}
    assert not RequestOptions.__required_keys__ and not ClientOptions.__required_keys__


@pytest.mark.parametrize(
    ("given", "suggested"),
    [
        ("reqeust", "request"),
        ("targetCookie", "target_cookie"),
        ("sessionID", "session_id"),
        ("customer_id", "customer_ids"),
        ("err_calback", "err_callback"),
    ],
)
def test_a_near_miss_gets_a_did_you_mean(given: str, suggested: str) -> None:
    with pytest.raises(TargetValidationError, match=rf"Unknown option '{given}' \(did you mean '{suggested}'\?\)"):
        parse_call_options({given: None}, {})


def test_an_unrelated_name_gets_no_suggestion() -> None:
    with pytest.raises(TargetValidationError) as info:
        parse_call_options({"colour": "red"}, {})
    assert "did you mean" not in str(info.value)


@pytest.mark.parametrize("client_class", [AsyncTargetClient, TargetClient])
def test_the_client_constructors_say_to_use_create(client_class: type[Any]) -> None:
    with pytest.raises(TargetConfigError, match=rf"{client_class.__name__}\.create\(options\)"):
        client_class({"client": "acme", "organization_id": "o@AdobeOrg"})


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
