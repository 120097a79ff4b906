"""Python's cyclic garbage collector, settled for a process that ingests events.

Measured with one `tracegate cloud ingest` worker draining 20,000 events
(bench/ingest.py, GC callbacks timing each collection): with CPython's default
thresholds (700, 10, 10) the collector took 20-70 µs per event, as much as all
the rest of the worker's work. A batch's objects (decoded events, rows) are
alive while it waits for PostgreSQL, so they survive the young collections,
reach the oldest generation and set off full collections, and each of those
walked every object of the process (SQLAlchemy's mappers and caches, the
modules): about 100 ms each. Frozen after start-up, those are never walked
again; with a larger first threshold the young collections are rarer and find
most of a batch's objects already freed by reference counting. Together: about
4 µs per event. Nothing here turns the collector off: cycles are still
collected.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
"""Allocations between young collections (CPython's default: 700)."""


def settle_collector() -> None:
    """Freeze what the process holds now (call once it has started) and raise the young
    generation's threshold; the older generations keep their thresholds."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
