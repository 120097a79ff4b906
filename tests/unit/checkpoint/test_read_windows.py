"""Which reads belong to which unit: read windows, settling, orphans and late reads (pure)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from edge.checkpoint.window import ReadWindows
from edge.reads import CodeRead

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def ALWAYS(read: CodeRead) -> bool:  # noqa: N802 - reads as a constant at the call sites
    return True


def NEVER(read: CodeRead) -> bool:  # noqa: N802
    return False


def settled_after(now_s: float, settle_s: float) -> Callable[[CodeRead], bool]:
    return lambda read: now_s - read.monotonic_s >= settle_s


def read(at_s: float, text: str = "A", *, source: str = "front") -> CodeRead:
    return CodeRead(
        text=text,
        symbology_id="]d2",
        source_kind="scanner",
        source_name=source,
        read_at=NOW,
        monotonic_s=at_s,
    )


def windows(*sources: str) -> ReadWindows:
    return ReadWindows(sources=sources or ("front",), read_window_s=0.1, deadline_s=0.2)


def texts(reads: tuple[CodeRead, ...] | list[CodeRead]) -> list[str]:
    return [r.text for r in reads]


def test_a_window_spans_its_lookback_read_window_and_deadline() -> None:
    w = windows().open(trigger_s=10.0, lookback_s=0.004)
    assert (w.start_s, w.end_s, w.deadline_s) == pytest.approx((9.996, 10.1, 10.2))


def test_a_deadline_counts_from_the_earliest_the_unit_can_have_arrived() -> None:
    # The photo-eye edge happened between the poll answered at 9.998 and the one at 10.0: an
    # output due 0.2 s after 10.0 could meet the next unit of a line whose pitch is 0.2 s.
    w = windows().open(trigger_s=10.0, lookback_s=0.004, arrived_after_s=9.998)
    assert (w.start_s, w.deadline_s, w.output_by_s) == pytest.approx((9.996, 10.198, 10.198))


def test_a_window_opened_late_by_a_read_owes_its_output_by_the_reads_deadline() -> None:
    # No trigger came for the read at 10.0; the window opens at 10.03: the decision gets its
    # time from then, but the unit was in front of the reader at 10.0.
    w = windows().open(trigger_s=10.0, by_read=True, opened_s=10.03)
    assert (w.deadline_s, w.output_by_s) == pytest.approx((10.23, 10.2))


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError) as error:
        ReadWindows(sources=("front",), read_window_s=0.2, deadline_s=0.2)
    assert str(error.value) == (
        "Read windows: expected 0 < read_window_s < deadline_s, got 0.2 and 0.2"
    )


def test_a_read_belongs_to_the_latest_window_that_started_before_it() -> None:
    rw = windows()
    first = rw.open(trigger_s=10.0)
    second = rw.open(trigger_s=10.05)
    rw.add(read(10.02, "first's"))
    rw.add(read(10.06, "second's"))
    assert texts(rw.candidates(first)) == ["first's"]
    assert texts(rw.candidates(second)) == ["second's"]


def test_a_read_just_before_the_edge_poll_falls_in_the_lookback() -> None:
    rw = windows()
    rw.add(read(9.998, "early"))
    w = rw.open(trigger_s=10.0, lookback_s=0.003)
    assert texts(rw.candidates(w)) == ["early"]
    assert texts(rw.close(w)) == ["early"]
    assert rw.unclaimed == ()


def test_complete_needs_every_source() -> None:
    rw = windows("front", "back")
    w = rw.open(trigger_s=10.0)
    rw.add(read(10.01, source="front"))
    assert not rw.complete(w, triggers_known_until_s=math.inf)
    rw.add(read(10.02, source="back"))
    assert rw.complete(w, triggers_known_until_s=math.inf)


def test_complete_waits_until_the_trigger_was_polled_after_the_newest_read() -> None:
    rw = windows()
    w = rw.open(trigger_s=10.0)
    rw.add(read(10.02))
    assert not rw.complete(w, triggers_known_until_s=10.019)
    assert rw.complete(w, triggers_known_until_s=10.021)


def test_a_window_opened_late_gets_its_deadline_from_then() -> None:
    rw = windows()
    rw.add(read(10.0))
    (w,) = rw.sweep(10.5, open_by_read=ALWAYS, settled=settled_after(10.5, 0.0)).opened
    assert (w.trigger_s, w.end_s, w.deadline_s) == pytest.approx((10.0, 10.1, 10.7))


def test_an_unsettled_read_waits_for_its_trigger() -> None:
    rw = windows()
    rw.add(read(10.0, "waiting"))
    sweep = rw.sweep(10.5, open_by_read=NEVER, settled=lambda read: False)
    assert sweep.orphans == () and texts(rw.unclaimed) == ["waiting"]


def test_a_window_opened_by_a_read_needs_no_trigger_poll() -> None:
    rw = windows()
    rw.add(read(10.0))
    (w,) = rw.sweep(10.0, open_by_read=ALWAYS, settled=settled_after(10.0, 0.0)).opened
    assert w.by_read and w.trigger_s == 10.0
    assert rw.complete(w, triggers_known_until_s=-math.inf)


def test_a_source_that_reports_for_the_window_counts_even_without_reads() -> None:
    rw = windows("front", "camera")
    w = rw.open(trigger_s=10.0)
    rw.add(read(10.01, "A", source="front"))
    assert not rw.complete(w, triggers_known_until_s=math.inf)
    rw.attach(w, "camera", [])
    assert rw.complete(w, triggers_known_until_s=math.inf)


def test_attached_reads_are_part_of_the_window_in_time_order() -> None:
    rw = windows("front", "camera")
    w = rw.open(trigger_s=10.0)
    rw.add(read(10.03, "scanned", source="front"))
    rw.attach(w, "camera", [read(9.99, "decoded", source="camera")])
    assert texts(rw.close(w)) == ["decoded", "scanned"]


def test_close_takes_only_the_window_s_reads() -> None:
    rw = windows()
    w = rw.open(trigger_s=10.0)
    rw.add(read(10.01, "mine"))
    rw.add(read(10.5, "later"))
    assert texts(rw.close(w)) == ["mine"]
    assert texts(rw.unclaimed) == ["later"]
    assert texts(rw.close(w)) == ["mine"]


def test_a_read_after_its_window_closed_is_late() -> None:
    rw = windows()
    w = rw.open(trigger_s=10.0)
    rw.add(read(10.01, "A"))
    rw.close(w)
    rw.add(read(10.011, "A"))
    sweep = rw.sweep(10.02, open_by_read=NEVER, settled=settled_after(10.02, 0.01))
    assert [(r.text, owner.number) for r, owner in sweep.late] == [("A", w.number)]
    assert rw.unclaimed == ()


def test_a_read_no_trigger_came_for_is_an_orphan_once_settled() -> None:
    rw = windows()
    rw.add(read(10.0, "stray"))
    assert rw.sweep(10.005, open_by_read=NEVER, settled=settled_after(10.005, 0.01)).orphans == ()
    assert texts(
        rw.sweep(10.011, open_by_read=NEVER, settled=settled_after(10.011, 0.01)).orphans
    ) == ["stray"]
    assert rw.unclaimed == ()


def test_an_unsolicited_read_opens_a_window_that_later_reads_join() -> None:
    rw = windows("front", "back")
    rw.add(read(10.0, "A", source="front"))
    rw.add(read(10.05, "A", source="back"))
    (w,) = rw.sweep(10.06, open_by_read=ALWAYS, settled=settled_after(10.06, 0.0)).opened
    assert texts(rw.close(w)) == ["A", "A"]


def test_reads_farther_apart_than_a_window_open_a_window_each() -> None:
    rw = windows()
    rw.add(read(10.0, "A"))
    rw.add(read(10.3, "B"))
    opened = rw.sweep(10.3, open_by_read=ALWAYS, settled=settled_after(10.3, 0.0)).opened
    assert [texts(rw.close(w)) for w in opened] == [["A"], ["B"]]


def test_closed_windows_are_forgotten_after_keep_closed_s() -> None:
    rw = ReadWindows(sources=("front",), read_window_s=0.1, deadline_s=0.2, keep_closed_s=1.0)
    w = rw.open(trigger_s=10.0)
    rw.close(w)
    rw.sweep(11.05, open_by_read=NEVER, settled=settled_after(11.05, 0.01))
    rw.add(read(10.05, "late"))
    assert rw.owner(rw.unclaimed[0]) is w
    rw.sweep(11.2, open_by_read=NEVER, settled=settled_after(11.2, 0.01))
    assert rw.owner(read(10.05)) is None


def test_unclaimed_reads_are_bounded_oldest_dropped_first() -> None:
    rw = ReadWindows(sources=("front",), read_window_s=0.1, deadline_s=0.2, max_unclaimed=2)
    assert rw.add(read(1.0, "a")) is None
    assert rw.add(read(2.0, "b")) is None
    dropped = rw.add(read(3.0, "c"))
    assert dropped is not None and dropped.text == "a"
    assert texts(rw.unclaimed) == ["b", "c"]
