"""Random ids: drawn in blocks from the OS, never handed out twice."""

from __future__ import annotations

import os
import re
import threading

import pytest

from target_async._delivery import new_uuid4
from target_async._random import random_id


def test_ids_are_32_hex_digits_and_unique_across_blocks() -> None:
    ids = [random_id() for _ in range(10_000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_threads_never_get_the_same_id() -> None:
    drawn: list[list[str]] = [[] for _ in range(8)]

    def draw(into: list[str]) -> None:
        for _ in range(5_000):
            into.append(random_id())

    threads = [threading.Thread(target=draw, args=(into,)) for into in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for ids in drawn for i in ids]
    assert len(set(every)) == len(every) == 40_000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_does_not_repeat_the_parents_next_ids() -> None:
    random_id()  # the parent now holds a block with ids left in it
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave at once
        os.write(write_end, ",".join(random_id() for _ in range(3)).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child = pipe.read().split(",")
    os.waitpid(pid, 0)
    parent = [random_id() for _ in range(3)]
    assert len(child) == 3 and not set(child) & set(parent)


def test_new_uuid4_is_a_version_4_uuid() -> None:
    for _ in range(100):
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", new_uuid4())
