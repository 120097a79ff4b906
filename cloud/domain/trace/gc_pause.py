"""Pause Python's cyclic garbage collector while a large result is built.

A recall builds 100,000 tuples or more. Each allocation counts towards the collector's
thresholds, so the build sets off full collections that walk every object the process
holds, again and again, though none of the new tuples can form a cycle: on this machine
that took more time than the build itself (bench/trace.py, recall impact). Pausing it is
safe only around code that does not await: nothing else runs meanwhile, and the collector
is back before any other coroutine gets to allocate.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Collect nothing during the block (it must not await), as before after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
