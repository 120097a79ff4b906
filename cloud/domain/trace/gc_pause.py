"""Pause Python's cyclic garbage collector while a large result is built.

A recall builds 100,000 tuples or more. Each allocation counts towards the collector's
thresholds, so the build sets off full collections that walk every object the process
holds, again and again, though none of the new tuples can form a cycle: on this machine
that took more time than the build itself (bench/trace.py, recall impact), and about as
long again while asyncpg decoded the 100,000 records of the fetch.

Pausing it is always safe, and never frees less: garbage in reference cycles is collected
later, not lost. Around a block that awaits, other coroutines allocate meanwhile without
cycle collection for as long (a fetch: a tenth of a second); overlapping pauses leave the
collector on once the first of them ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Collect no cycles during the block; after it, the collector is on if it was before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
