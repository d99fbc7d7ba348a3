from __future__ import annotations

import logging

import httpx
import pytest

from target_async._config import DecisioningMethod, RetryPolicy, parse_config
from target_async._exceptions import TargetConfigError

BASE = {"client": "acme", "organization_id": "ORG@AdobeOrg"}


def test_defaults_follow_the_official_documentation() -> None:
    config = parse_config(BASE)
    assert config.timeout == 3000
    assert config.polling_interval == 300_000
    assert config.decisioning_method is DecisioningMethod.SERVER_SIDE
    assert config.secure is True and config.scheme == "https"
    assert config.telemetry_enabled is True
    assert config.environment == "production"
    assert config.cdn_host == "https://assets.adobetarget.com"
    assert config.logger is logging.getLogger("target_async")


@pytest.mark.parametrize(
    ("options", "key", "message"),
    [
        (None, None, "Options are required"),
        ({"organization_id": "o"}, "client", "Client is required"),
        ({"client": "c"}, "organization_id", "Organization Id is required"),
        ({**BASE, "timeout": "3000"}, "timeout", "timeout must be a number"),
        ({**BASE, "timeout": 0}, "timeout", "timeout must be > 0"),
        ({**BASE, "secure": "yes"}, "secure", "secure must be a bool"),
        ({**BASE, "decisioning_method": "local"}, "decisioning_method", "Invalid Decisioning Method."),
        ({**BASE, "organizationId": "x"}, "organizationId", "did you mean 'organization_id'"),
        ({**BASE, "tiemout": 1}, "tiemout", r"Unknown option 'tiemout' \(did you mean 'timeout'\?\)"),
        ({"client": "c", "organisation_id": "o"}, "organisation_id", "did you mean 'organization_id'"),
        ({**BASE, "artefact_location": "x"}, "artefact_location", "did you mean 'artifact_location'"),
        ({**BASE, "events": {"clientReady": print}}, "events", "unknown event 'clientReady'"),
        ({**BASE, "events": {"client_ready": 1}}, "events", "is not callable"),
        ({**BASE, "transport": object()}, "transport", "httpx.AsyncBaseTransport"),
        ({**BASE, "environment_id": "7"}, "environment_id", "environment_id must be an int"),
        ({**BASE, "artifact_payload": "{}"}, "artifact_payload", "must be a mapping"),
        ({**BASE, "retry": 3}, "retry", "RetryPolicy"),
    ],
)
def test_bad_options_raise_a_config_error_naming_the_key(
    options: dict[str, object] | None, key: str | None, message: str
) -> None:
    with pytest.raises(TargetConfigError, match=message) as info:
        parse_config(options)
    assert info.value.key == key


def test_values_are_normalised() -> None:
    config = parse_config(
        {
            **BASE,
            "decisioning_method": "on-device",
            "environment": "1-PROD",
            "secure": False,
            "cdn_base_path": "cdn.example",
            "limits": httpx.Limits(max_connections=5),
            "retry": RetryPolicy(max_retries=0),
        }
    )
    assert config.decisioning_method is DecisioningMethod.ON_DEVICE
    assert config.environment == "1-prod"
    assert config.scheme == "http"
    assert config.cdn_host == "https://cdn.example"
    assert config.limits.max_connections == 5
    assert config.retry.max_retries == 0


def test_polling_interval_is_in_milliseconds_with_a_minimum(caplog: pytest.LogCaptureFixture) -> None:
    assert parse_config({**BASE, "polling_interval": 0}).polling_interval == 0
    assert parse_config({**BASE, "polling_interval": 600_000}).polling_interval == 600_000
    with caplog.at_level(logging.WARNING, logger="target_async"):
        assert parse_config({**BASE, "polling_interval": 300}).polling_interval == 300_000
    assert "below the minimum" in caplog.text
