"""The collector settings an ingest process runs with (why: cloud/ingest/collector.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from cloud.ingest.collector import YOUNG_THRESHOLD, settle_collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    if enabled:
        gc.enable()


def test_settling_freezes_what_exists_and_keeps_collecting_cycles(
    restored_collector: None,
) -> None:
    _, middle, old = gc.get_threshold()
    settle_collector()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (YOUNG_THRESHOLD, middle, old)
    assert gc.isenabled()

    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the cyclic collector frees it
    del a, b
    assert gc.collect() >= 2
