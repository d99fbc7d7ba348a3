"""Where a rules artifact comes from and how its bytes become a `CompiledArtifact` (no I/O)."""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import attrs

from .._exceptions import ArtifactError
from ._compile import SUPPORTED_ARTIFACT_MAJOR_VERSION, CompiledArtifact, compile_artifact
from ._obfuscation import deobfuscate

__all__ = [
    "ArtifactSource",
    "artifact_source",
    "artifact_url",
    "load_artifact",
    "parse_artifact",
]

JSON_ARTIFACT_NAME: Final = "rules.json"
OBFUSCATED_SUFFIX: Final = ".bin"


@attrs.frozen
class ArtifactSource:
    """Where the client downloads (or reads) its artifact.

    `location` is an HTTP(S) URL, or a local file path when `local`; `obfuscated` is true
    for the `rules.bin` form.
    """

    location: str
    local: bool
    obfuscated: bool


def artifact_url(
    cdn_host: str, client: str, environment: str, property_token: str | None = None
) -> str:
    """The CDN URL of a client's JSON artifact: `{cdn_host}/{client}/{environment}/v1/[{token}/]rules.json`."""
    parts = [
        cdn_host.rstrip("/"),
        client,
        environment.lower() or "production",
        f"v{SUPPORTED_ARTIFACT_MAJOR_VERSION}",
        property_token,
        JSON_ARTIFACT_NAME,
    ]
    return "/".join(part for part in parts if part)


def _file_path(location: str) -> str | None:
    """The local path `location` names (a `file://` URL or a path), or None for an HTTP(S) URL."""
    split = urlsplit(location)
    if split.scheme in ("http", "https"):
        return None
    if split.scheme == "file":
        return unquote(split.path)
    return location


def artifact_source(
    *,
    cdn_host: str,
    client: str,
    environment: str,
    property_token: str | None = None,
    artifact_location: str | None = None,
) -> ArtifactSource:
    """Where to get the artifact, given the client's configuration.

    `artifact_location` (an HTTP(S) URL, a `file://` URL or a local path) overrides the
    computed CDN URL; a name ending in `.bin` means the obfuscated form.
    """
    location = artifact_location or artifact_url(cdn_host, client, environment, property_token)
    obfuscated = urlsplit(location).path.lower().endswith(OBFUSCATED_SUFFIX)
    path = _file_path(location)
    if path is not None:
        return ArtifactSource(path, local=True, obfuscated=obfuscated)
    return ArtifactSource(location, local=False, obfuscated=obfuscated)


def parse_artifact(content: bytes, *, obfuscated: bool, organization_id: str) -> Any:
    """The JSON value in an artifact file (de-obfuscated first when `obfuscated`).

    Raises `ArtifactError` when it cannot be read.
    """
    if obfuscated:
        content = deobfuscate(content, organization_id)
    try:
        return json.loads(content)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        raise ArtifactError(f"Unable to read artifact JSON: {error}") from error
    except RecursionError as error:
        raise ArtifactError("Unable to read artifact JSON: nested too deeply") from error


def load_artifact(content: bytes, *, obfuscated: bool, organization_id: str) -> CompiledArtifact:
    """Read and compile an artifact file; raises `ArtifactError` (unreadable, bad version, bad rule)."""
    return compile_artifact(
        parse_artifact(content, obfuscated=obfuscated, organization_id=organization_id)
    )
