"""Fixtures of the fault matrix: a short artifact retry schedule (its length is not what the
matrix tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from target_async import _on_device
from target_async._config import RetryPolicy


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def fast_artifact_retry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(
        _on_device, "ARTIFACT_RETRY", RetryPolicy(max_retries=1, initial_delay=0.01, max_delay=0.05)
    )
    yield
