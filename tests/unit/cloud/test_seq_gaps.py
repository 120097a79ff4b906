"""Late events matched to open seq gaps (pure logic of cloud/domain/events/gaps.py)."""

from __future__ import annotations

import doctest
import uuid

from cloud.domain.events import gaps
from cloud.domain.events.gaps import OpenGap, fill_gaps


def ids(*numbers: int) -> list[uuid.UUID]:
    return [uuid.UUID(int=n) for n in numbers]


def test_doctests() -> None:
    assert doctest.testmod(gaps).failed == 0


def test_each_late_event_counts_down_the_gap_it_falls_in() -> None:
    # Two workers interleave a device's events: a gap of one seq per event, and another device.
    open_gaps = [OpenGap(id=n, device_id="a", first_seq=n, last_seq=n, missing=1) for n in (2, 4)]
    open_gaps += [
        OpenGap(id=10, device_id="a", first_seq=6, last_seq=9, missing=4),
        OpenGap(id=20, device_id="b", first_seq=1, last_seq=3, missing=3),
    ]
    e2, e4, e7, e8, b2 = ids(2, 4, 7, 8, 102)
    late = {"a": [(8, e8), (2, e2), (7, e7), (4, e4)], "b": [(2, b2)]}
    counts = {("a", 2): 1, ("a", 4): 1, ("a", 7): 1, ("a", 8): 1, ("b", 2): 1}

    filling = fill_gaps(open_gaps, late, counts)

    assert {gap_id: gap.missing for gap_id, gap in filling.changed.items()} == {
        2: 0,
        4: 0,
        10: 2,
        20: 2,
    }
    assert filling.closed == 2
    assert filling.reused == []


def test_a_seq_in_no_gap_stored_twice_or_sent_twice_is_a_reused_seq() -> None:
    gap = OpenGap(id=1, device_id="a", first_seq=5, last_seq=6, missing=2)
    first, again, outside, stored_before = ids(1, 2, 3, 4)
    late = {"a": [(5, first), (5, again), (3, outside), (6, stored_before)]}
    counts = {("a", 5): 1, ("a", 3): 1, ("a", 6): 2}

    filling = fill_gaps([gap], late, counts)

    assert gap.missing == 1
    assert filling.closed == 0
    assert sorted(filling.reused) == sorted([again, outside, stored_before])


def test_nothing_late_changes_nothing() -> None:
    gap = OpenGap(id=1, device_id="a", first_seq=5, last_seq=6, missing=2)
    filling = fill_gaps([gap], {}, {})
    assert (filling.changed, filling.closed, filling.reused) == ({}, 0, [])
    assert gap.missing == 2
