"""ReconnectBackoff: doubling, cap, jitter bounds, reset."""

from __future__ import annotations

import random

import pytest

from edge.adapters.backoff import ReconnectBackoff


def test_doubles_up_to_the_cap_without_jitter() -> None:
    backoff = ReconnectBackoff(min_s=0.5, max_s=30.0, jitter=0.0)
    assert [backoff.next_delay_s() for _ in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.attempts == 8


def test_jitter_stays_within_its_band_and_under_the_cap() -> None:
    backoff = ReconnectBackoff(min_s=1.0, max_s=4.0, jitter=0.25, rng=random.Random(5))
    delays = [backoff.next_delay_s() for _ in range(200)]
    assert 0.75 <= delays[0] <= 1.0
    assert 1.5 <= delays[1] <= 2.0
    assert all(3.0 <= d <= 4.0 for d in delays[2:])
    assert len(set(delays[2:])) == 198  # spread even at the cap, not clamped to one value


def test_long_outage_does_not_overflow() -> None:
    backoff = ReconnectBackoff(min_s=0.1, max_s=2.0, jitter=0.0)
    for _ in range(5000):
        delay = backoff.next_delay_s()
    assert delay == 2.0


def test_reset_starts_again_from_the_minimum() -> None:
    backoff = ReconnectBackoff(min_s=0.5, max_s=30.0, jitter=0.0)
    for _ in range(4):
        backoff.next_delay_s()
    backoff.reset()
    assert backoff.next_delay_s() == 0.5


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"min_s": 0.0, "max_s": 1.0},
            "ReconnectBackoff: expected 0 < min_s <= max_s, got min_s=0.0, max_s=1.0",
        ),
        (
            {"min_s": 2.0, "max_s": 1.0},
            "ReconnectBackoff: expected 0 < min_s <= max_s, got min_s=2.0, max_s=1.0",
        ),
        (
            {"min_s": 1.0, "max_s": 2.0, "jitter": 1.0},
            "ReconnectBackoff jitter: expected 0 <= jitter < 1, got 1.0",
        ),
        (
            {"min_s": 1.0, "max_s": 2.0, "factor": 0.5},
            "ReconnectBackoff factor: expected >= 1, got 0.5",
        ),
    ],
)
def test_invalid_options(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError) as info:
        ReconnectBackoff(
            min_s=options["min_s"],
            max_s=options["max_s"],
            jitter=options.get("jitter", 0.2),
            factor=options.get("factor", 2.0),
        )
    assert str(info.value) == message
