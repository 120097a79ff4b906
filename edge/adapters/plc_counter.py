"""A PLC's unit counter, read by polling: how many units each poll adds (pure, no I/O).

The PLC increments the counter on every rising edge of the photo-eye, scanning its input
every millisecond or so; the agent polls the counter and sees every unit however late a
poll comes. What the counter says between two polls on one connection is new units. After
a start or a reconnect the first value only sets the baseline (the units counted meanwhile
passed without a window), and is compared with the last value seen to tell how many units
went by unwatched.

>>> counter = UnitCounter(bits=16)
>>> counter.step(65534)
CounterStep(units=0, unwatched=None, went_back_from=None)
>>> counter.step(1)
CounterStep(units=3, unwatched=None, went_back_from=None)
>>> counter.rebase()
>>> counter.step(11)
CounterStep(units=0, unwatched=10, went_back_from=None)
>>> counter.step(4)
CounterStep(units=0, unwatched=None, went_back_from=11)
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_UNITS_PER_POLL = 1000
"""More new units than this in one poll is taken for a counter reset, not for units: at 150
units/s it would take the agent's polls stalling for 6 s on a live connection, while a uint16
counter reset from above 32,768 to near 0 reads, modulo 2^16, as tens of thousands."""


@dataclass(frozen=True, slots=True)
class CounterStep:
    """What one poll of the counter means."""

    units: int
    """Units that reached the photo-eye since the previous poll (0 on a baseline)."""
    unwatched: int | None
    """On the first poll after a reconnect (or a restart that knew the last value): units the
    PLC counted while the agent was not watching; None otherwise or when unknown."""
    went_back_from: int | None
    """The previous value when the counter went back or jumped implausibly (a PLC restart or
    reset): the new value is the baseline and no unit is inferred."""


class UnitCounter:
    """The baseline of a `bits`-wide counter that wraps to 0 (uint16 or uint32)."""

    def __init__(self, *, bits: int, last_known: int | None = None) -> None:
        """`last_known`: the value last seen before this agent started, if recorded; the
        first poll then tells how many units went by while it was not running."""
        if bits not in (16, 32):
            raise ValueError(f"unit counter: expected 16 or 32 bits, got {bits}")
        self.modulus = 1 << bits
        self.value: int | None = None
        """The value of the latest poll; None until the first one, and after `rebase`."""
        self.last_known = last_known
        """The value last seen, kept across `rebase`."""

    def rebase(self) -> None:
        """The connection was lost: the next value is a baseline, not new units."""
        if self.value is not None:
            self.last_known = self.value
        self.value = None

    def step(self, raw: int) -> CounterStep:
        """Take the value of a poll."""
        if not 0 <= raw < self.modulus:
            raise ValueError(f"unit counter: expected 0 to {self.modulus - 1}, got {raw}")
        previous, self.value = self.value, raw
        if previous is None:
            known, self.last_known = self.last_known, raw
            if known is None:
                return CounterStep(units=0, unwatched=None, went_back_from=None)
            ahead = self._ahead(known, raw)
            if ahead < 0:
                return CounterStep(units=0, unwatched=None, went_back_from=known)
            return CounterStep(units=0, unwatched=ahead, went_back_from=None)
        self.last_known = raw
        ahead = self._ahead(previous, raw)
        if ahead < 0 or ahead > MAX_UNITS_PER_POLL:
            return CounterStep(units=0, unwatched=None, went_back_from=previous)
        return CounterStep(units=ahead, unwatched=None, went_back_from=None)

    def _ahead(self, old: int, new: int) -> int:
        """How far `new` is ahead of `old` through the wrap: negative when it is behind
        (within half the counter's range)."""
        half = self.modulus // 2
        return (new - old + half) % self.modulus - half
