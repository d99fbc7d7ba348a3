"""Validate Delivery API JSON bodies against the OpenAPI spec (a helper for any test).

    from openapi import validate_delivery_request, validate_delivery_response

    validate_delivery_request(body)   # camelCase JSON dict; raises jsonschema.ValidationError

The spec is read from `$TARGET_OPENAPI_DIR`, else `<repo>/../shared/openapi`. Component
files reference each other with relative `$ref`s; every file is registered as a Draft 4
resource (OpenAPI 3.0 schemas are a Draft 4 dialect; the spec has no `nullable`) and
the compiled validators are cached.

Two spec defects are corrected after loading, both on maps the edge fills with plain
JSON values: `ResponseTokens` and `TraceResponse` declare every value to be an object,
but real token values are strings (or lists of strings) and trace values are strings,
objects and lists alike. Their values are accepted as any JSON.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

__all__ = [
    "component_files",
    "spec_dir",
    "validate_delivery_request",
    "validate_delivery_response",
]

_COMPONENT_FOLDERS = ("delivery/components", "common/components")
_ANY_JSON_VALUES = {"ResponseTokens", "TraceResponse"}


def spec_dir() -> Path:
    """The folder holding `delivery/` and `common/` of the Delivery API spec."""
    configured = os.environ.get("TARGET_OPENAPI_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[1].parent / "shared" / "openapi"


def component_files() -> dict[str, Path]:
    """Every schema component file, by component name (the file's stem)."""
    root = spec_dir()
    return {
        path.stem: path
        for folder in _COMPONENT_FOLDERS
        for path in sorted((root / folder).glob("*.yaml"))
    }


def _load(path: Path) -> dict[str, Any]:
    contents: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    if path.stem in _ANY_JSON_VALUES:
        contents[path.stem]["additionalProperties"] = {}
    return contents


@functools.cache
def _registry() -> Registry[Any]:
    resources: list[tuple[str, Resource[Any]]] = [
        (path.as_uri(), DRAFT4.create_resource(_load(path))) for path in component_files().values()
    ]
    return Registry().with_resources(resources)


@functools.cache
def _validator(component: str) -> jsonschema.Draft4Validator:
    uri = component_files()[component].as_uri()
    return jsonschema.Draft4Validator({"$ref": f"{uri}#/{component}"}, registry=_registry())


def _validate(component: str, body: Any) -> None:
    error = jsonschema.exceptions.best_match(_validator(component).iter_errors(body))
    if error is not None:
        raise jsonschema.ValidationError(
            f"{component} invalid at {error.json_path}: {error.message}"
        ) from error


def validate_delivery_request(body: Any) -> None:
    """Raise `jsonschema.ValidationError` unless `body` is a valid `DeliveryRequest`."""
    _validate("DeliveryRequest", body)


def validate_delivery_response(body: Any) -> None:
    """Raise `jsonschema.ValidationError` unless `body` is a valid `DeliveryResponse`."""
    _validate("DeliveryResponse", body)
