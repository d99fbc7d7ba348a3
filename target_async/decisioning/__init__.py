"""On-device decisioning: pure, synchronous evaluation of Target rules artifacts.

Compile an artifact once (`compile_artifact`), then `decide` Delivery requests (camelCase
JSON dicts) against it. Nothing here does I/O: geo lookups, artifact downloads and the
notification/telemetry requests are the caller's, with the helpers below deciding what
to fetch or send. Names load on first use: the client imports only what a
server-side call needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ._artifact import (
        ArtifactSource,
        artifact_source,
        artifact_url,
        load_artifact,
        parse_artifact,
    )
    from ._compile import CompiledArtifact, compile_artifact
    from ._context import geo_from_lookup, warm_up, with_geo
    from ._decide import LocalDecision, decide, needs_geo_lookup, remote_dependency
    from ._geo import GEO_PATH, GeoCache, geo_lookup_headers, geo_lookup_key
    from ._obfuscation import deobfuscate, obfuscate
    from ._telemetry import (
        ARTIFACT_DOWNLOAD_REQUEST_ID,
        artifact_telemetry_entry,
        notification_request,
        telemetry_entry,
    )
    from ._trace import NOT_APPLICABLE, ArtifactInfo

_EXPORTS: dict[str, str] = {
    "ARTIFACT_DOWNLOAD_REQUEST_ID": "._telemetry",
    "ArtifactInfo": "._trace",
    "ArtifactSource": "._artifact",
    "CompiledArtifact": "._compile",
    "GEO_PATH": "._geo",
    "GeoCache": "._geo",
    "LocalDecision": "._decide",
    "NOT_APPLICABLE": "._trace",
    "artifact_source": "._artifact",
    "artifact_telemetry_entry": "._telemetry",
    "artifact_url": "._artifact",
    "compile_artifact": "._compile",
    "decide": "._decide",
    "deobfuscate": "._obfuscation",
    "geo_from_lookup": "._context",
    "geo_lookup_headers": "._geo",
    "geo_lookup_key": "._geo",
    "load_artifact": "._artifact",
    "needs_geo_lookup": "._decide",
    "notification_request": "._telemetry",
    "obfuscate": "._obfuscation",
    "parse_artifact": "._artifact",
    "remote_dependency": "._decide",
    "telemetry_entry": "._telemetry",
    "warm_up": "._context",
    "with_geo": "._context",
}

__all__ = [
    "ARTIFACT_DOWNLOAD_REQUEST_ID",
    "GEO_PATH",
    "NOT_APPLICABLE",
    "ArtifactInfo",
    "ArtifactSource",
    "CompiledArtifact",
    "GeoCache",
    "LocalDecision",
    "artifact_source",
    "artifact_telemetry_entry",
    "artifact_url",
    "compile_artifact",
    "decide",
    "deobfuscate",
    "geo_from_lookup",
    "geo_lookup_headers",
    "geo_lookup_key",
    "load_artifact",
    "needs_geo_lookup",
    "notification_request",
    "obfuscate",
    "parse_artifact",
    "remote_dependency",
    "telemetry_entry",
    "warm_up",
    "with_geo",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
