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

# The public names, by the module defining each: the one list. `__all__` and the lazy
# `__getattr__` are made from it, and tests/test_public_api.py checks that the imports
# type checkers read below name the same.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "._artifact": (
        "ArtifactSource",
        "artifact_source",
        "artifact_url",
        "load_artifact",
        "parse_artifact",
    ),
    "._compile": (
        "CompiledArtifact",
        "compile_artifact",
    ),
    "._context": (
        "geo_from_lookup",
        "warm_up",
        "with_geo",
    ),
    "._decide": (
        "LocalDecision",
        "decide",
        "needs_geo_lookup",
        "remote_dependency",
    ),
    "._geo": (
        "GEO_PATH",
        "GeoCache",
        "geo_lookup_headers",
        "geo_lookup_key",
    ),
    "._obfuscation": (
        "deobfuscate",
        "obfuscate",
    ),
    "._telemetry": (
        "ARTIFACT_DOWNLOAD_REQUEST_ID",
        "artifact_telemetry_entry",
        "notification_request",
        "telemetry_entry",
    ),
    "._trace": (
        "NOT_APPLICABLE",
        "ArtifactInfo",
    ),
}

if TYPE_CHECKING:
    from ._artifact import ArtifactSource as ArtifactSource
    from ._artifact import artifact_source as artifact_source
    from ._artifact import artifact_url as artifact_url
    from ._artifact import load_artifact as load_artifact
    from ._artifact import parse_artifact as parse_artifact
    from ._compile import CompiledArtifact as CompiledArtifact
    from ._compile import compile_artifact as compile_artifact
    from ._context import geo_from_lookup as geo_from_lookup
    from ._context import warm_up as warm_up
    from ._context import with_geo as with_geo
    from ._decide import LocalDecision as LocalDecision
    from ._decide import decide as decide
    from ._decide import needs_geo_lookup as needs_geo_lookup
    from ._decide import remote_dependency as remote_dependency
    from ._geo import GEO_PATH as GEO_PATH
    from ._geo import GeoCache as GeoCache
    from ._geo import geo_lookup_headers as geo_lookup_headers
    from ._geo import geo_lookup_key as geo_lookup_key
    from ._obfuscation import deobfuscate as deobfuscate
    from ._obfuscation import obfuscate as obfuscate
    from ._telemetry import ARTIFACT_DOWNLOAD_REQUEST_ID as ARTIFACT_DOWNLOAD_REQUEST_ID
    from ._telemetry import artifact_telemetry_entry as artifact_telemetry_entry
    from ._telemetry import notification_request as notification_request
    from ._telemetry import telemetry_entry as telemetry_entry
    from ._trace import NOT_APPLICABLE as NOT_APPLICABLE
    from ._trace import ArtifactInfo as ArtifactInfo

__all__ = sorted(
    (name for names in _EXPORTS.values() for name in names),
    key=lambda name: (0 if name.isupper() else 1 if name[0].isupper() else 2, name),
)

# Hidden from type checkers: a module `__getattr__` would make every misspelt import `Any`.
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        globals(),
        {name: module for module, names in _EXPORTS.items() for name in names},
    )
