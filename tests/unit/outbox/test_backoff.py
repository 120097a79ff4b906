"""Reconnect backoff: exponential, capped, jittered within [d/2, d]."""

from __future__ import annotations

import random

import pytest

from edge.publish import Backoff


def test_delays_double_up_to_the_cap_with_the_upper_jitter_bound() -> None:
    backoff = Backoff(initial_s=0.5, max_s=4.0, uniform=lambda lo, hi: hi)

    assert [backoff.next_delay_s() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff.attempt == 6


def test_jitter_stays_within_half_to_full_delay() -> None:
    rng = random.Random(7)
    backoff = Backoff(initial_s=1.0, max_s=30.0, uniform=rng.uniform)
    ceilings = [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]

    delays = [backoff.next_delay_s() for _ in ceilings]

    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)  # jittered, not a fixed schedule


def test_reset_starts_again_from_the_initial_delay() -> None:
    backoff = Backoff(initial_s=1.0, max_s=8.0, uniform=lambda lo, hi: hi)
    for _ in range(5):
        backoff.next_delay_s()

    backoff.reset()

    assert (backoff.attempt, backoff.next_delay_s()) == (0, 1.0)


def test_a_huge_attempt_count_does_not_overflow() -> None:
    backoff = Backoff(initial_s=1.0, max_s=60.0, uniform=lambda lo, hi: hi)
    for _ in range(2000):
        delay = backoff.next_delay_s()

    assert delay == 60.0


@pytest.mark.parametrize(("initial_s", "max_s"), [(0.0, 1.0), (2.0, 1.0), (-1.0, 5.0)])
def test_invalid_bounds_are_refused(initial_s: float, max_s: float) -> None:
    with pytest.raises(ValueError) as caught:
        Backoff(initial_s=initial_s, max_s=max_s)

    assert str(caught.value) == (
        "Invalid backoff: expected 0 < initial_s <= max_s, "
        f"got initial_s={initial_s}, max_s={max_s}"
    )
