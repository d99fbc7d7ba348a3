"""Artifact locations, the obfuscated format, artifact reading and the geo lookup helpers (pure)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from target_async import ArtifactError
from target_async.decisioning import (
    ArtifactSource,
    GeoCache,
    artifact_source,
    artifact_url,
    compile_artifact,
    deobfuscate,
    geo_lookup_headers,
    geo_lookup_key,
    load_artifact,
    obfuscate,
    parse_artifact,
)

CONFORMANCE_DIR = Path(
    os.environ.get(
        "TARGET_CONFORMANCE_DIR",
        Path(__file__).resolve().parents[1].parent / "shared" / "conformance",
    )
)
OBFUSCATED_ORG = "74F652E95F1B16FE0A495C92@AdobeOrg"
CDN = "https://assets.adobetarget.com"
KEY = "k" * 32


def test_the_obfuscated_sample_decodes_to_its_json_twin() -> None:
    data = (CONFORMANCE_DIR / "obfuscated" / "rules.bin").read_bytes()
    expected = json.loads((CONFORMANCE_DIR / "obfuscated" / "rules.json").read_bytes())
    assert data.startswith(b"ATOD:001")
    assert json.loads(deobfuscate(data, OBFUSCATED_ORG)) == expected
    artifact = load_artifact(data, obfuscated=True, organization_id=OBFUSCATED_ORG)
    assert artifact.raw == expected


def test_obfuscate_is_the_inverse_of_deobfuscate() -> None:
    content = json.dumps({"version": "1.0.0", "é": "ü" * 100}).encode()
    data = obfuscate(content, "ORG@AdobeOrg", KEY)
    assert data[:40] == b"ATOD:001" + KEY.encode()
    assert content not in data
    assert deobfuscate(data, "ORG@AdobeOrg") == content
    assert obfuscate(b"", "ORG@AdobeOrg", KEY) == data[:40]


def test_the_wrong_organization_gives_unreadable_json() -> None:
    data = (CONFORMANCE_DIR / "obfuscated" / "rules.bin").read_bytes()
    with pytest.raises(ArtifactError, match="Unable to read artifact JSON"):
        parse_artifact(data, obfuscated=True, organization_id="OTHER@AdobeOrg")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"ATOD:001short", "40-byte header"),
        (b"XXXX:001" + KEY.encode() + b"{}", "unknown obfuscation header"),
        (b"ATOD:002" + KEY.encode() + b"{}", "obfuscation version 2 is not supported"),
        (b"ATOD:abc" + KEY.encode() + b"{}", "unknown obfuscation header"),
    ],
)
def test_bad_obfuscation_headers_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(ArtifactError, match=message):
        deobfuscate(data, "ORG@AdobeOrg")


def test_an_organization_id_is_needed_to_deobfuscate() -> None:
    with pytest.raises(ArtifactError, match="organization id"):
        deobfuscate(obfuscate(b"{}", "ORG", KEY), "")


def test_obfuscate_wants_a_32_character_ascii_key() -> None:
    with pytest.raises(ValueError, match="32 ASCII"):
        obfuscate(b"{}", "ORG", "short")


def test_artifact_url() -> None:
    assert artifact_url(CDN, "acme", "production") == f"{CDN}/acme/production/v1/rules.json"
    assert artifact_url(CDN + "/", "acme", "1-PROD") == f"{CDN}/acme/1-prod/v1/rules.json"
    assert (
        artifact_url(CDN, "acme", "", "xyz-123") == f"{CDN}/acme/production/v1/xyz-123/rules.json"
    )


def test_artifact_sources() -> None:
    computed = artifact_source(
        cdn_host=CDN, client="acme", environment="staging", property_token="p1"
    )
    assert computed == ArtifactSource(
        f"{CDN}/acme/staging/v1/p1/rules.json", local=False, obfuscated=False
    )

    def located(location: str) -> ArtifactSource:
        return artifact_source(
            cdn_host=CDN, client="acme", environment="production", artifact_location=location
        )

    assert located("https://cdn.example/a/RULES.BIN?x=1") == ArtifactSource(
        "https://cdn.example/a/RULES.BIN?x=1", local=False, obfuscated=True
    )
    assert located("/srv/target/rules.json") == ArtifactSource(
        "/srv/target/rules.json", local=True, obfuscated=False
    )
    assert located("file:///srv/my%20rules/rules.bin") == ArtifactSource(
        "/srv/my rules/rules.bin", local=True, obfuscated=True
    )


def test_bad_json_and_unsupported_versions_are_refused() -> None:
    with pytest.raises(ArtifactError, match="Unable to read artifact JSON"):
        load_artifact(b'{"version": "1.0.0"', obfuscated=False, organization_id="o")
    with pytest.raises(ArtifactError, match="Unable to read artifact JSON"):
        load_artifact(b"\xff\xfe", obfuscated=False, organization_id="o")
    unsupported = (CONFORMANCE_DIR / "artifacts" / "TEST_ARTIFACT_UNSUPPORTED.json").read_bytes()
    with pytest.raises(ArtifactError, match=r"version \(99.0.0\) is not supported"):
        load_artifact(unsupported, obfuscated=False, organization_id="o")
    with pytest.raises(ArtifactError, match="not a JSON object"):
        load_artifact(b"[]", obfuscated=False, organization_id="o")


def _artifact(**changes: object) -> dict[str, object]:
    artifact = json.loads((CONFORMANCE_DIR / "artifacts" / "TEST_ARTIFACT_AB_SIMPLE.json").read_bytes())
    artifact.update(changes)
    return artifact


def _with_first_rule(change: Callable[[dict[str, Any]], None]) -> dict[str, object]:
    artifact = _artifact()
    change(artifact["rules"]["mboxes"]["mbox-magician"][0])  # type: ignore[index]
    return artifact


def _deep(depth: int) -> object:
    logic: object = True
    for _ in range(depth):
        logic = {"!": [logic]}
    return logic


HOSTILE_ARTIFACTS = {
    "a digit int() refuses": (_artifact(version="\u00b2.0.0"), "is not supported"),
    "responseTokens a number": (_artifact(responseTokens=5), "responseTokens must be a list of strings"),
    "responseTokens unhashable": (_artifact(responseTokens=[[1]]), "responseTokens must be a list of strings"),
    "remoteMboxes unhashable": (_artifact(remoteMboxes=[{"a": 1}]), "remoteMboxes must be a list of names"),
    "rules of an mbox not a list": (_artifact(rules={"mboxes": {"m": 5}}), "must be a list"),
    "a rule not an object": (_artifact(rules={"mboxes": {"m": [5]}}), "a rule is a int"),
    "a 700-deep condition": (
        _with_first_rule(lambda rule: rule.update(condition=_deep(700))),
        "nested more than 100 levels deep",
    ),
    "an unhashable activity id": (
        _with_first_rule(lambda rule: rule["meta"].update({"activity.id": [1]})),
        "activity.id",
    ),
    "unhashable audience ids": (
        _with_first_rule(lambda rule: rule["meta"].update({"audience.ids": [[1]]})),
        "audience.ids",
    ),
    "an unhashable rule key": (_with_first_rule(lambda rule: rule.update(ruleKey=[1])), "ruleKey"),
    "an unhashable consequence name": (
        _with_first_rule(lambda rule: rule["consequence"].update(name={"a": 1})),
        "consequence.name",
    ),
    "metrics not objects": (
        _with_first_rule(lambda rule: rule["consequence"].update(metrics=[5])),
        "consequence.metrics must be a list of objects",
    ),
    "an unhashable event token": (
        _with_first_rule(lambda rule: rule["consequence"]["options"][0].update(eventToken=[1])),
        "eventToken",
    ),
}


@pytest.mark.parametrize("case", HOSTILE_ARTIFACTS)
def test_an_artifact_deciding_could_not_use_is_refused_when_compiled(case: str) -> None:
    artifact, message = HOSTILE_ARTIFACTS[case]
    with pytest.raises(ArtifactError, match=re.escape(message)):
        compile_artifact(artifact)


def test_unreadable_bytes_are_refused_with_an_artifact_error() -> None:
    deep_json = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(ArtifactError, match="nested too deeply"):
        load_artifact(deep_json, obfuscated=False, organization_id="o")
    with pytest.raises(ArtifactError, match="unknown obfuscation header"):
        deobfuscate("ATOD:00\u00b2".encode("latin-1") + KEY.encode() + b"{}", "ORG@AdobeOrg")


def test_geo_lookup_key_and_headers() -> None:
    assert geo_lookup_key({"context": {"geo": {"ipAddress": "10.0.0.1"}}}) == "10.0.0.1"
    assert geo_lookup_key({"context": {"channel": "web"}}) is None
    assert geo_lookup_key({}) is None
    assert geo_lookup_headers("10.0.0.1") == {"x-forwarded-for": "10.0.0.1"}
    assert geo_lookup_headers("unknownIpAddress") == {}


def test_geo_cache_expires_and_evicts_the_least_recently_used() -> None:
    cache = GeoCache(size=2, ttl=10.0)
    cache.put("a", {"city": "A"}, now=0.0)
    cache.put("b", {"city": "B"}, now=1.0)
    assert cache.get("a", now=2.0) == {"city": "A"}  # now "b" is the least recently used
    cache.put("c", {"city": "C"}, now=3.0)
    assert cache.get("b", now=3.0) is None
    assert len(cache) == 2
    assert cache.get("a", now=9.9) == {"city": "A"}
    assert cache.get("a", now=10.0) is None
    assert len(cache) == 1
