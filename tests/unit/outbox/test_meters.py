"""The outbox's latency window and rate meter."""

from __future__ import annotations

import pytest

from edge.outbox.meters import LatencyWindow, RateWindow


def test_latency_percentiles_of_the_recent_samples_in_ms() -> None:
    window = LatencyWindow(size=100)
    assert window.percentile_ms(0.5) is None
    for n in range(1, 201):  # only the last 100 (101..200 ms) count
        window.record(n / 1000)

    assert window.percentile_ms(0.5) == pytest.approx(151.0)  # index round(49.5) = 50
    assert window.percentile_ms(0.99) == pytest.approx(199.0)
    assert window.percentile_ms(1.0) == pytest.approx(200.0)


def test_rate_counts_only_the_last_window() -> None:
    now = [0.0]
    rate = RateWindow(window_s=10.0, clock_s=lambda: now[0])
    rate.record(50)
    now[0] = 5.0
    rate.record(30)

    assert rate.per_s() == 8.0
    now[0] = 12.0
    assert rate.per_s() == 3.0
    now[0] = 30.0
    assert (rate.per_s(), rate.total) == (0.0, 80)
