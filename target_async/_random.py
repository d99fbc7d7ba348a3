"""Random 32-hex-digit ids (request, session, tnt and notification ids).

They come from the OS's CSPRNG, as `uuid.uuid4()`'s do, but fetched a block at a time:
`os.urandom` is a system call of about half a microsecond, and an on-device call makes
several ids. A block is handed out through a list iterator, whose `next()` is atomic, so
threads never get the same id; a forked child fetches its own blocks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

__all__ = ["random_id"]

_IDS_PER_BLOCK = 64
_ids: Iterator[str] = iter(())


def random_id() -> str:
    """32 random lowercase hex digits, never handed out twice."""
    global _ids
    try:
        return next(_ids)
    except StopIteration:
        digits = os.urandom(16 * _IDS_PER_BLOCK).hex()
        block = iter([digits[start : start + 32] for start in range(0, len(digits), 32)])
        _ids = block
        return next(block)


def _new_block_after_fork() -> None:
    global _ids
    _ids = iter(())


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_new_block_after_fork)
