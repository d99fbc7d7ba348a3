"""The rules artifact a local edge serves: loaded once, in the forms the CDN serves it.

The edge answers `GET /{client}/{environment}/v1/[{property}/]rules.json` (and `rules.bin`,
obfuscated for the edge's organization) with an `ETag`, and decides Delivery requests from
the compiled form. Pure: reading a file is the only I/O, at load time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeAlias

from target_async._exceptions import ArtifactError, TargetConfigError
from target_async.decisioning import CompiledArtifact, compile_artifact
from target_async.decisioning._obfuscation import obfuscate

__all__ = [
    "ARTIFACT_PATH",
    "SAMPLE_ARTIFACT_PATH",
    "ArtifactSource",
    "ServedArtifact",
    "artifact_url",
]

SAMPLE_ARTIFACT_PATH = Path(__file__).with_name("sample_artifact.json")
CDN_HOST = "assets.adobetarget.com"

ArtifactSource: TypeAlias = Mapping[str, Any] | str | os.PathLike[str]
"""A rules artifact as a (JSON-decoded) mapping, or the path of its JSON file."""

ARTIFACT_PATH = re.compile(
    r"/(?P<client>[^/]+)/(?P<environment>[^/]+)/v1/(?:(?P<property>[^/]+)/)?rules\.(?P<format>json|bin)"
)
"""The CDN path layout; `property` is absent for the artifact of the whole workspace."""


def artifact_url(
    client: str,
    environment: str = "production",
    *,
    property_token: str | None = None,
    obfuscated: bool = False,
    host: str = CDN_HOST,
) -> str:
    """Where the SDK downloads an artifact from, e.g. `https://assets.adobetarget.com/acme/production/v1/rules.json`."""
    parts = [f"https://{host}", client, environment.lower(), "v1"]
    if property_token:
        parts.append(property_token)
    parts.append("rules.bin" if obfuscated else "rules.json")
    return "/".join(parts)


def _experiences(artifact: CompiledArtifact) -> dict[str, tuple[Any, Any]]:
    experiences: dict[str, tuple[Any, Any]] = {}
    for section in (artifact.mbox_rules, artifact.view_rules):
        for rules in section.values():
            for rule in rules:
                for token in rule.event_tokens:
                    experiences[token] = (rule.activity_id, rule.meta.get("experience.id"))
    return experiences


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


class ServedArtifact:
    """One artifact, as JSON bytes, obfuscated bytes (made on first use) and compiled rules.

    An artifact the engine refuses (e.g. `"version": "99.0.0"`) is still served by the CDN
    routes, so clients can be tested against it; `compiled` is then None and `compile_error`
    says why, and the Delivery route answers 500.
    """

    __slots__ = (
        "_obfuscated",
        "compile_error",
        "compiled",
        "experiences",
        "json_bytes",
        "json_etag",
        "raw",
    )

    def __init__(self, raw: Mapping[str, Any], json_bytes: bytes) -> None:
        self.raw = raw
        self.json_bytes = json_bytes
        self.json_etag = _etag(json_bytes)
        self.compiled: CompiledArtifact | None = None
        self.compile_error: str | None = None
        try:
            self.compiled = compile_artifact(raw)
        except ArtifactError as error:
            self.compile_error = str(error)
        self.experiences: dict[str, tuple[Any, Any]] = (
            _experiences(self.compiled) if self.compiled is not None else {}
        )
        """eventToken -> (activity id, experience id), for analytics payloads."""
        self._obfuscated: dict[str, tuple[bytes, str]] = {}

    @classmethod
    def load(cls, source: ArtifactSource) -> ServedArtifact:
        """Read a JSON file (served byte for byte) or serialise a mapping."""
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            try:
                data = path.read_bytes()
                raw = json.loads(data)
            except (OSError, ValueError) as error:
                raise TargetConfigError(
                    f"cannot read artifact file {path}: {error}", key="artifact"
                ) from error
            if not isinstance(raw, dict):
                raise TargetConfigError(
                    f"artifact file {path} must hold a JSON object", key="artifact"
                )
            return cls(raw, data)
        if not isinstance(source, Mapping):
            raise TargetConfigError(
                f"artifact must be a mapping or a file path, got {type(source).__name__}",
                key="artifact",
            )
        try:
            data = json.dumps(source, separators=(",", ":")).encode()
        except (TypeError, ValueError) as error:
            raise TargetConfigError(f"artifact is not JSON: {error}", key="artifact") from error
        return cls(json.loads(data), data)

    def obfuscated(self, organization_id: str) -> tuple[bytes, str]:
        """`rules.bin` for an organization, and its ETag."""
        served = self._obfuscated.get(organization_id)
        if served is None:
            # A key derived from the content: the same artifact always gives the same bytes and ETag.
            key = hashlib.sha256(self.json_bytes).hexdigest()[:32]
            data = obfuscate(self.json_bytes, organization_id, key)
            served = self._obfuscated[organization_id] = (data, _etag(data))
        return served
