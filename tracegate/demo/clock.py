"""One line clock for the whole demo, across processes.

The PLCs and scanners run in the demo's process on a `SharedLineClock`; the camera runs
inside its checkpoint's agent process (the adapter decodes the frames it grabs) on a
`FollowingLineClock`. The shared clock writes its state to a small JSON file whenever the
line starts or stops, and the follower reads it back: `time.monotonic()` is the same
system-wide clock (CLOCK_MONOTONIC) in every process of the host, so both compute the
same line time, and a line stop freezes the camera's picture too.
"""

from __future__ import annotations

import time
from pathlib import Path

import msgspec

from edge.sim.units import LineClock

STANDING_S = 1e9
"""Before the line starts, its time 0 lies this far in the future."""


class ClockState(msgspec.Struct, frozen=True, kw_only=True):
    start_monotonic_s: float
    paused_total_s: float
    paused_at_s: float | None


class SharedLineClock(LineClock):
    """The demo's line clock: standing until `start()`; every change is written to `path`."""

    def __init__(self, path: Path) -> None:
        super().__init__(start_monotonic_s=time.monotonic() + STANDING_S)
        self.path = path
        self.stops = 0
        """How many times the line was stopped."""
        self._write()

    @property
    def started(self) -> bool:
        return self.start_monotonic_s < time.monotonic() + STANDING_S / 2

    def start(self) -> None:
        """Start the line now (line time 0 is this instant)."""
        self.start_monotonic_s = time.monotonic()
        self._paused_total_s = 0.0
        self._paused_at_s = None
        self._write()

    def pause(self) -> None:
        if self._paused_at_s is None:
            self.stops += 1
        super().pause()
        self._write()

    def resume(self) -> None:
        super().resume()
        self._write()

    def _write(self) -> None:
        state = ClockState(
            start_monotonic_s=self.start_monotonic_s,
            paused_total_s=self._paused_total_s,
            paused_at_s=self._paused_at_s,
        )
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_bytes(msgspec.json.encode(state))
        tmp.replace(self.path)


class FollowingLineClock(LineClock):
    """Line time as the demo's `SharedLineClock` has it, read from its file (at most every
    `refresh_s`); standing while the file is missing."""

    def __init__(self, path: Path, *, refresh_s: float = 0.02) -> None:
        super().__init__(start_monotonic_s=time.monotonic() + STANDING_S)
        self.path = path
        self.refresh_s = refresh_s
        self._read_at_s = -1.0

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._read_at_s < self.refresh_s:
            return
        self._read_at_s = now
        try:
            state = msgspec.json.decode(self.path.read_bytes(), type=ClockState)
        except (OSError, msgspec.DecodeError):
            return
        self.start_monotonic_s = state.start_monotonic_s
        self._paused_total_s = state.paused_total_s
        self._paused_at_s = state.paused_at_s

    def at(self, monotonic_s: float) -> float:
        self._refresh()
        return super().at(monotonic_s)

    @property
    def paused(self) -> bool:
        self._refresh()
        return self._paused_at_s is not None

    def pause(self) -> None:
        raise RuntimeError("a following line clock cannot stop the line")

    def resume(self) -> None:
        raise RuntimeError("a following line clock cannot restart the line")
