"""Small in-memory meters for the outbox's metrics: recent latencies and a windowed rate.

Used from the event loop's thread only.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

__all__ = ["LatencyWindow", "RateWindow"]


class LatencyWindow:
    """The last `size` latencies, for p50/p99 of recent commits."""

    def __init__(self, *, size: int) -> None:
        self._samples: deque[float] = deque(maxlen=size)

    def record(self, latency_s: float) -> None:
        self._samples.append(latency_s)

    def percentile_ms(self, fraction: float) -> float | None:
        """The latency (ms) below which `fraction` of the recent samples fall, or None."""
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        index = min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))
        return ordered[index] * 1000.0


class RateWindow:
    """Counts per second over the last `window_s` seconds."""

    def __init__(self, *, window_s: float, clock_s: Callable[[], float] = time.monotonic) -> None:
        self._window_s = window_s
        self._clock_s = clock_s
        self._events: deque[tuple[float, int]] = deque()
        self._in_window = 0
        self._total = 0

    def record(self, count: int) -> None:
        now = self._clock_s()
        self._events.append((now, count))
        self._in_window += count
        self._total += count
        self._trim(now)

    def per_s(self) -> float:
        now = self._clock_s()
        self._trim(now)
        return self._in_window / self._window_s

    @property
    def total(self) -> int:
        return self._total

    def _trim(self, now: float) -> None:
        horizon = now - self._window_s
        while self._events and self._events[0][0] < horizon:
            self._in_window -= self._events.popleft()[1]
