"""Units one poll of a unit counter counted together: their windows share the poll's times, so
reads go to them in arrival order, source by source; a source that read only some of them
leaves every window of the batch unresolved (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from edge.checkpoint.window import Batch, ReadWindows, Window
from edge.reads import CodeRead

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def read(at_s: float, text: str, *, source: str = "front") -> CodeRead:
    return CodeRead(
        text=text,
        symbology_id="]d2",
        source_kind="scanner",
        source_name=source,
        read_at=NOW,
        monotonic_s=at_s,
    )


def batch_of(rw: ReadWindows, size: int, *, at_s: float = 10.0) -> list[Window]:
    batch = Batch(size=size)
    return [rw.open(trigger_s=at_s, lookback_s=0.02, batch=batch) for _ in range(size)]


def texts(reads: tuple[CodeRead, ...]) -> list[str]:
    return [r.text for r in reads]


def test_reads_of_a_batch_go_to_its_units_in_arrival_order() -> None:
    rw = ReadWindows(sources=("front",), read_window_s=0.1, deadline_s=0.2)
    first, second = batch_of(rw, 2)
    for r in (read(9.995, "A"), read(10.004, "B")):
        rw.add(r)
    assert texts(tuple(rw.candidates(first))) == ["A"]
    assert texts(tuple(rw.candidates(second))) == ["B"]
    assert rw.complete(second, triggers_known_until_s=10.01)
    # Closed out of order, each keeps its own read.
    assert texts(rw.close(second)) == ["B"]
    assert texts(rw.close(first)) == ["A"]
    assert first.unresolved is None and second.unresolved is None


def test_each_source_is_ranked_on_its_own() -> None:
    rw = ReadWindows(sources=("front", "back"), read_window_s=0.1, deadline_s=0.2)
    first, second = batch_of(rw, 2)
    for r in (
        read(10.001, "A", source="front"),
        read(10.002, "B", source="front"),
        read(10.003, "A", source="back"),
        read(10.006, "B", source="back"),
    ):
        rw.add(r)
    assert [(r.source_name, r.text) for r in rw.close(first)] == [("front", "A"), ("back", "A")]
    assert [(r.source_name, r.text) for r in rw.close(second)] == [("front", "B"), ("back", "B")]


def test_a_batch_waits_until_each_source_read_every_unit() -> None:
    rw = ReadWindows(sources=("front",), read_window_s=0.1, deadline_s=0.2)
    first, second = batch_of(rw, 2)
    rw.add(read(10.004, "A"))
    # One read for two units: it may be either unit's, so neither window is complete.
    assert not rw.complete(first, triggers_known_until_s=10.05)
    rw.add(read(10.012, "B"))
    assert rw.complete(first, triggers_known_until_s=10.05)
    assert rw.complete(second, triggers_known_until_s=10.05)


def test_a_source_that_read_some_units_of_a_batch_leaves_them_all_unresolved() -> None:
    rw = ReadWindows(sources=("front",), read_window_s=0.1, deadline_s=0.2)
    first, second, third = batch_of(rw, 3)
    rw.add(read(10.004, "A"))
    rw.add(read(10.008, "C"))
    # The end of the windows: they close with what they have.
    assert texts(rw.close(first)) == ["A"]
    assert texts(rw.close(second)) == ["C"]
    assert texts(rw.close(third)) == []
    expected = (
        "3 units reached the photo-eye between two polls of the unit counter and front read 2"
        " of them: which read is whose cannot be told."
    )
    assert [w.unresolved for w in (first, second, third)] == [expected] * 3


def test_a_source_that_read_none_of_a_batch_is_no_read_not_a_confusion() -> None:
    rw = ReadWindows(sources=("front",), read_window_s=0.1, deadline_s=0.2)
    first, second = batch_of(rw, 2)
    assert rw.close(first) == () and rw.close(second) == ()
    assert first.unresolved is None and second.unresolved is None


def test_an_extra_read_goes_to_the_last_unit_of_the_batch_and_later_units_keep_theirs() -> None:
    rw = ReadWindows(sources=("front",), read_window_s=0.1, deadline_s=0.2)
    first, second = batch_of(rw, 2)
    later = rw.open(trigger_s=10.02, lookback_s=0.005)
    for r in (read(10.002, "A"), read(10.005, "B"), read(10.008, "B"), read(10.021, "C")):
        rw.add(r)
    assert texts(rw.close(first)) == ["A"]
    assert texts(rw.close(second)) == ["B", "B"]
    assert texts(rw.close(later)) == ["C"]


def test_a_read_in_a_closed_windows_time_waits_for_the_poll_that_may_claim_it() -> None:
    # After a stalled CPU the reads of the units it hid can come before the counter poll that
    # reports them: within the window of the unit before, they are not its late reads yet.
    rw = ReadWindows(sources=("front",), read_window_s=0.1, deadline_s=0.2)
    before = rw.open(trigger_s=10.0, lookback_s=0.005)
    rw.add(read(10.003, "A"))
    assert texts(rw.close(before)) == ["A"]
    rw.add(read(10.060, "B"))
    polled_after = {"B": False}
    sweep = rw.sweep(
        10.061,
        open_by_read=lambda r: False,
        settled=lambda r: False,
        late_after=lambda r: polled_after[r.text],
    )
    assert sweep.late == () and texts(rw.unclaimed) == ["B"]
    (batched,) = batch_of(rw, 1, at_s=10.062)
    assert texts(rw.close(batched)) == ["B"]
    # Once the poll after it came and no window took it, it is late.
    rw.add(read(10.070, "B"))
    polled_after["B"] = True
    sweep = rw.sweep(
        10.072,
        open_by_read=lambda r: False,
        settled=lambda r: False,
        late_after=lambda r: polled_after[r.text],
    )
    assert [(r.text, w.number) for r, w in sweep.late] == [("B", batched.number)]
