"""Reading the obfuscated (`rules.bin`) form of a rules artifact.

Layout: a 40-byte header, `"ATOD:001"` (prefix, colon, 3-digit format version) then a
32-character key, followed by the artifact JSON XOR-ed with the UTF-8 bytes of
`organization_id + key`, repeated.
"""

from __future__ import annotations

from typing import Final

from .._exceptions import ArtifactError

__all__ = ["OBFUSCATION_HEADER_LENGTH", "deobfuscate", "obfuscate"]

OBFUSCATION_HEADER_LENGTH: Final = 40
OBFUSCATION_PREFIX: Final = "ATOD"
SUPPORTED_OBFUSCATION_VERSION: Final = 1
_VERSION_LENGTH: Final = 8  # "ATOD:001"


def _xor(data: bytes, key: bytes) -> bytes:
    """`data` XOR-ed with `key` repeated; one big-integer XOR instead of a Python loop per byte."""
    if not data:
        return b""
    stream = (key * (len(data) // len(key) + 1))[: len(data)]
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(
        len(data), "little"
    )


def deobfuscate(data: bytes, organization_id: str) -> bytes:
    """The artifact JSON (UTF-8 bytes) inside an obfuscated artifact.

    Raises `ArtifactError` when the header is missing, names another format or version,
    or the organization id is empty (the key could not be built).
    """
    if len(data) < OBFUSCATION_HEADER_LENGTH:
        raise ArtifactError(
            f"Invalid Artifact: an obfuscated artifact needs a {OBFUSCATION_HEADER_LENGTH}-byte "
            f"header, got {len(data)} bytes"
        )
    header = data[:_VERSION_LENGTH].decode("latin-1")
    prefix, _, version = header.partition(":")
    if prefix != OBFUSCATION_PREFIX or not (version.isascii() and version.isdigit()):
        raise ArtifactError(f"Invalid Artifact: unknown obfuscation header {header!r}")
    if int(version) != SUPPORTED_OBFUSCATION_VERSION:
        raise ArtifactError(
            f"Invalid Artifact: obfuscation version {int(version)} is not supported "
            f"(supported: {SUPPORTED_OBFUSCATION_VERSION})"
        )
    if not organization_id:
        raise ArtifactError("Invalid Artifact: an organization id is needed to read it")
    key = organization_id.encode() + data[_VERSION_LENGTH:OBFUSCATION_HEADER_LENGTH]
    return _xor(data[OBFUSCATION_HEADER_LENGTH:], key)


def obfuscate(artifact_json: bytes, organization_id: str, key: str) -> bytes:
    """The obfuscated form of `artifact_json` (the inverse of `deobfuscate`; for tests and tools).

    `key` must be 32 ASCII characters.
    """
    if len(key) != OBFUSCATION_HEADER_LENGTH - _VERSION_LENGTH or not key.isascii():
        raise ValueError("the obfuscation key must be 32 ASCII characters")
    header = f"{OBFUSCATION_PREFIX}:{SUPPORTED_OBFUSCATION_VERSION:03d}{key}".encode()
    return header + _xor(artifact_json, organization_id.encode() + key.encode())
