"""Artifact locations, the obfuscated format, artifact reading and the geo lookup helpers (pure)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from target_async import ArtifactError
from target_async.decisioning import (
    ArtifactSource,
    GeoCache,
    artifact_source,
    artifact_url,
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
