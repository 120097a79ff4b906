"""Capped exponential backoff with jitter, for broker reconnects.

Jitter spreads a fleet's reconnects after a broker restart: without it every agent on the
plant network retries in the same instant, again and again.
"""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["Backoff"]


class Backoff:
    """Delays of initial_s * 2**n, capped at max_s, each drawn uniformly from [d/2, d].

    >>> backoff = Backoff(initial_s=1.0, max_s=8.0, uniform=lambda lo, hi: hi)
    >>> [backoff.next_delay_s() for _ in range(5)]
    [1.0, 2.0, 4.0, 8.0, 8.0]
    >>> backoff.reset()
    >>> backoff.next_delay_s()
    1.0
    """

    def __init__(
        self,
        *,
        initial_s: float,
        max_s: float,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        if not 0 < initial_s <= max_s:
            raise ValueError(
                f"Invalid backoff: expected 0 < initial_s <= max_s, "
                f"got initial_s={initial_s}, max_s={max_s}"
            )
        self._initial_s = initial_s
        self._max_s = max_s
        self._uniform = uniform
        self._attempt = 0

    @property
    def attempt(self) -> int:
        """Delays handed out since the last reset."""
        return self._attempt

    def next_delay_s(self) -> float:
        ceiling = min(self._max_s, self._initial_s * 2.0 ** min(self._attempt, 62))
        self._attempt += 1
        return self._uniform(ceiling / 2.0, ceiling)

    def reset(self) -> None:
        self._attempt = 0
