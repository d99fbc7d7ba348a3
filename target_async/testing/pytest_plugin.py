"""pytest fixtures for a local Target edge (registered as the `target_async` pytest11 plugin).

- `target_edge`: a started `LocalEdge` for an async test (`@pytest.mark.anyio`). On asyncio
  it serves from the test's own loop; on another anyio backend it serves from a thread.
- `target_edge_thread`: a started `LocalEdge` serving from a thread, for sync tests.

Both serve the bundled sample offers; assign `edge.offers = {...}` to change them, or
`edge.artifact = SAMPLE_ARTIFACT_PATH` (or any artifact) to decide from rules instead, e.g.
with a client from `edge.client_options(decisioning_method="on-device")`.
This module imports nothing heavy: the edge is imported when a fixture is first used.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from target_async.testing import LocalEdge

__all__ = ["target_edge", "target_edge_thread"]


@pytest.fixture
async def target_edge(anyio_backend: Any) -> AsyncIterator[LocalEdge]:
    """A local edge for this test, in the test's event loop when it is asyncio."""
    import sniffio

    from target_async.testing import LocalEdge

    if sniffio.current_async_library() == "asyncio":
        async with LocalEdge() as edge:
            yield edge
    else:
        with LocalEdge.run_in_thread() as edge:
            yield edge


@pytest.fixture
def target_edge_thread() -> Iterator[LocalEdge]:
    """A local edge serving from its own thread, for sync code."""
    from target_async.testing import LocalEdge

    with LocalEdge.run_in_thread() as edge:
        yield edge
