"""The cross-SDK conformance schema: where it lives, its cases, its clock and its matcher.

Shared by the engine-level runner (`tests/decisioning/test_conformance_engine.py`) and
the client-level runner (`tests/conformance/test_conformance_client.py`). The rules are
those of the schema's README.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

CONFORMANCE_DIR = Path(
    os.environ.get(
        "TARGET_CONFORMANCE_DIR",
        Path(__file__).resolve().parents[2].parent / "shared" / "conformance",
    )
)

_ANY: dict[str, Callable[[Any], bool]] = {
    "expect.any(Object)": lambda value: isinstance(value, (dict, list)),
    "expect.any(String)": lambda value: isinstance(value, str),
    "expect.any(Number)": lambda value: (
        isinstance(value, (int, float)) and not isinstance(value, bool)
    ),
}


def mismatches(expected: Any, actual: Any, path: str = "$") -> Iterator[str]:
    """Where `actual` does not match `expected` (objects: subset; arrays: same length; expect.any)."""
    if isinstance(expected, str) and expected in _ANY:
        if not _ANY[expected](actual):
            yield f"{path}: {actual!r} is not {expected}"
    elif isinstance(expected, dict):
        if not isinstance(actual, dict):
            yield f"{path}: expected an object, got {actual!r}"
            return
        for key, value in expected.items():
            if key in actual:
                yield from mismatches(value, actual[key], f"{path}.{key}")
            else:
                yield f"{path}.{key}: missing"
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            yield f"{path}: expected an array of {len(expected)}, got {actual!r}"
            return
        for position, (item, actual_item) in enumerate(zip(expected, actual, strict=True)):
            yield from mismatches(item, actual_item, f"{path}[{position}]")
    elif expected != actual or isinstance(expected, bool) != isinstance(actual, bool):
        yield f"{path}: expected {expected!r}, got {actual!r}"


def cases() -> list[Any]:
    """Every case of every suite, as `pytest.param(suite, case, id="SUITE::case")`."""
    params = []
    for suite_path in sorted((CONFORMANCE_DIR / "models").glob("*.json")):
        suite = json.loads(suite_path.read_text(encoding="utf-8"))
        for name, case in suite["test"].items():
            params.append(pytest.param(suite, case, id=f"{suite_path.stem}::{name}"))
    return params


def mock_epoch_seconds(mock_date: dict[str, int]) -> float:
    """A case's `mockDate` (UTC, JavaScript's 0-based month) as epoch seconds."""
    moment = datetime(
        mock_date["year"],
        mock_date["month"] + 1,  # JavaScript months are 0-based
        mock_date["date"],
        mock_date.get("hours", 0),
        mock_date.get("minutes", 0),
        mock_date.get("seconds", 0),
        tzinfo=timezone.utc,
    )
    return moment.timestamp()
