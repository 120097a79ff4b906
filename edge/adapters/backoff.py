"""Waits between reconnection attempts: exponential, capped, with jitter. Pure code.

Jitter spreads the attempts of many agents that lost the same peer at the same instant
(a switch reboot), so they do not all knock at once.

>>> import random
>>> backoff = ReconnectBackoff(min_s=0.5, max_s=4.0, jitter=0.0, rng=random.Random(1))
>>> [backoff.next_delay_s() for _ in range(6)]
[0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
>>> backoff.reset(); backoff.next_delay_s()
0.5
"""

from __future__ import annotations

import random


class ReconnectBackoff:
    """Delay before each attempt: `min_s` doubled per failed attempt up to `max_s`, then
    multiplied by a random factor in [1 - jitter, 1]: never above `max_s`, and spread even
    once capped."""

    def __init__(
        self,
        *,
        min_s: float,
        max_s: float,
        jitter: float = 0.2,
        factor: float = 2.0,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 < min_s <= max_s:
            raise ValueError(
                f"ReconnectBackoff: expected 0 < min_s <= max_s, got min_s={min_s}, max_s={max_s}"
            )
        if not 0 <= jitter < 1:
            raise ValueError(f"ReconnectBackoff jitter: expected 0 <= jitter < 1, got {jitter}")
        if factor < 1:
            raise ValueError(f"ReconnectBackoff factor: expected >= 1, got {factor}")
        self.min_s = min_s
        self.max_s = max_s
        self.jitter = jitter
        self.factor = factor
        self._rng = rng or random.Random()
        self._attempts = 0

    @property
    def attempts(self) -> int:
        """Delays handed out since the last reset."""
        return self._attempts

    def next_delay_s(self) -> float:
        """The wait before the next attempt; each call counts one more failed attempt."""
        # min(...) before the power so a long outage cannot overflow the float.
        exponent = min(self._attempts, 64)
        base = min(self.max_s, self.min_s * self.factor**exponent)
        self._attempts += 1
        if self.jitter == 0:
            return base
        return base * self._rng.uniform(1 - self.jitter, 1)

    def reset(self) -> None:
        """Start again from `min_s` (after a connection that held)."""
        self._attempts = 0
