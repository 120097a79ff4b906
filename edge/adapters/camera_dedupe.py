"""Report a code once while it stays in view of a continuously decoding camera.

A code on a passing unit is visible in many consecutive frames; the line wants one read per
unit. A code absent from `forget_after_frames` decoded frames in a row is forgotten, so a
second unit carrying the same code (a duplicated serial, which the checkpoint must catch)
is reported again once the gap between units has been seen.

>>> dedupe = ConsecutiveDedupe(forget_after_frames=2)
>>> [dedupe.first_seen(codes) for codes in (["A"], ["A", "B"], ["B"], [], [], ["A"])]
[['A'], ['B'], [], [], [], ['A']]
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class ConsecutiveDedupe(Generic[K]):
    """Filters each decoded frame's codes down to those not already in view."""

    def __init__(self, *, forget_after_frames: int = 2) -> None:
        if forget_after_frames < 1:
            raise ValueError(f"forget_after_frames: expected >= 1, got {forget_after_frames}")
        self.forget_after_frames = forget_after_frames
        self._missing_for: dict[K, int] = {}
        """Codes in view (or recently) -> decoded frames since they were last seen."""

    def first_seen(self, codes: Iterable[K]) -> list[K]:
        """The codes of this frame that were not in view, in the order given, each once."""
        present = list(dict.fromkeys(codes))
        fresh = [code for code in present if code not in self._missing_for]
        for code in list(self._missing_for):
            self._missing_for[code] += 1
            if self._missing_for[code] >= self.forget_after_frames:
                del self._missing_for[code]
        for code in present:
            self._missing_for[code] = 0
        return fresh

    def reset(self) -> None:
        """Forget every code (a new trigger starts a new unit)."""
        self._missing_for.clear()
