"""The same code in consecutive frames is reported once."""

from __future__ import annotations

import pytest

from edge.adapters.camera_dedupe import ConsecutiveDedupe


def test_code_in_view_for_many_frames_is_reported_once() -> None:
    dedupe: ConsecutiveDedupe[str] = ConsecutiveDedupe(forget_after_frames=2)

    reported = [dedupe.first_seen(["A"]) for _ in range(30)]

    assert reported == [["A"]] + [[]] * 29


def test_one_missed_decode_does_not_report_again() -> None:
    dedupe: ConsecutiveDedupe[str] = ConsecutiveDedupe(forget_after_frames=2)

    reported = [dedupe.first_seen(codes) for codes in (["A"], [], ["A"], ["A"])]

    assert reported == [["A"], [], [], []]


def test_same_code_on_the_next_unit_is_reported_after_the_gap() -> None:
    dedupe: ConsecutiveDedupe[str] = ConsecutiveDedupe(forget_after_frames=2)

    frames = (["A"], ["A"], [], [], ["A"], ["A"])

    assert [dedupe.first_seen(codes) for codes in frames] == [["A"], [], [], [], ["A"], []]


def test_duplicates_within_a_frame_count_once_and_order_is_kept() -> None:
    dedupe: ConsecutiveDedupe[str] = ConsecutiveDedupe()

    assert dedupe.first_seen(["B", "A", "B"]) == ["B", "A"]
    assert dedupe.first_seen(["A", "C"]) == ["C"]


def test_reset_forgets_everything() -> None:
    dedupe: ConsecutiveDedupe[str] = ConsecutiveDedupe()
    dedupe.first_seen(["A"])

    dedupe.reset()

    assert dedupe.first_seen(["A"]) == ["A"]


def test_forget_after_must_be_positive() -> None:
    with pytest.raises(ValueError) as caught:
        ConsecutiveDedupe(forget_after_frames=0)

    assert str(caught.value) == "forget_after_frames: expected >= 1, got 0"
