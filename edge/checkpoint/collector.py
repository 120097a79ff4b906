"""The read windows on the event loop: reads come in, windows wait for theirs.

`ReadWindows` decides what belongs where; `ReadCollector` wakes the windows waiting on it
when a read arrives, and tells the engine about windows that unsolicited reads open.

No read is dropped unjudged: a read no trigger came for opens a window of its own once it
is settled (the trigger input was polled after it, or could not be polled at all), so the
unit the photo-eye missed is recorded, and held.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

from edge.checkpoint.window import ReadWindows, Sweep, Window
from edge.reads import CodeRead

log = logging.getLogger("edge.checkpoint")


class ReadCollector:
    """Reads from every source of a checkpoint, handed to the windows waiting for them."""

    def __init__(
        self,
        windows: ReadWindows,
        *,
        triggers_known_until: Callable[[], float],
        settle_poll_s: float,
        reads_trigger: Callable[[CodeRead], bool],
        settle_s: float,
        poll_triggers: Callable[[], None] = lambda: None,
    ) -> None:
        """`triggers_known_until()` is the monotonic time of the latest trigger poll (+inf
        without a trigger input). `reads_trigger(read)` says that no trigger can be expected
        for a read (always where reads are the trigger; elsewhere while the trigger input
        could not be watched). An unclaimed read waits `settle_s` for its trigger, and until
        the trigger input has been polled `settle_s / 2` after it unless `reads_trigger`: a
        PLC that stops answering is declared down only after its timeout.

        `poll_triggers()` asks for a trigger poll now: each read calls it, since the poll
        after a read is what settles it, and waiting for the next periodic one would add up
        to a poll period to every unit's decision."""
        self.windows = windows
        self._known_until = triggers_known_until
        self._settle_poll_s = settle_poll_s
        self._reads_trigger = reads_trigger
        self._settle_s = settle_s
        self._poll_triggers = poll_triggers
        self._changed = asyncio.Event()
        self._settling = 0
        """Windows whose sources are all in, waiting for the poll that settles their reads."""
        self.on_read: Callable[[CodeRead], None] = lambda read: None
        """Called with each read as it arrives, before any window takes it."""
        self.on_open: Callable[[Window], None] = lambda window: None
        self.on_sweep: Callable[[Sweep], None] = lambda sweep: None
        self.dropped = 0
        """Unclaimed reads dropped to stay within the bound (nobody triggered for them)."""

    def add(self, read: CodeRead) -> None:
        """A read from any source; wakes the windows and, where reads trigger, opens one."""
        self._poll_triggers()
        self.on_read(read)
        dropped = self.windows.add(read)
        if dropped is not None:
            self.dropped += 1
            log.warning("read dropped, no trigger came for it: %r", dropped.text)
        if self._settle_s <= 0:
            self.sweep()
        self._notify()

    def sweep(self) -> Sweep:
        """Open windows for reads no trigger came for; find late reads."""
        now_s = time.monotonic()
        known_s = self._known_until()
        half_s = self._settle_s / 2

        def waited(read: CodeRead) -> bool:
            return now_s - read.monotonic_s >= self._settle_s

        def opens(read: CodeRead) -> bool:
            # A trigger that may still come must have its chance first, or one unit would get
            # two windows.
            if not waited(read):
                return False
            return self._reads_trigger(read) or known_s >= read.monotonic_s + half_s

        def late(read: CodeRead) -> bool:
            # The poll answering after a read may still report the unit it belongs to (a unit
            # counter polled late after a stalled CPU: the read came first); until then it is
            # not the late read of the window before.
            return (
                known_s >= read.monotonic_s
                or self._reads_trigger(read)
                or now_s - read.monotonic_s >= self.windows.read_window_s
            )

        sweep = self.windows.sweep(
            now_s, open_by_read=opens, settled=lambda read: False, late_after=late
        )
        for window in sweep.opened:
            self.on_open(window)
        if sweep.orphans or sweep.late:
            self.on_sweep(sweep)
        return sweep

    async def run_sweeps(self, *, period_s: float) -> None:
        """Sweep every `period_s`, and at once after each read."""
        while True:
            await self._wait(period_s)
            self.sweep()

    async def collect(
        self,
        window: Window,
        *,
        early: Callable[[tuple[CodeRead, ...]], None] | None = None,
    ) -> tuple[CodeRead, ...]:
        """Wait until `window` is complete or has ended; close it and return its reads.

        `early(reads)` is called once if every source has reported but the reads still wait
        for the trigger poll that settles them, so the caller can start on them meanwhile.
        """
        while True:
            now_s = time.monotonic()
            known_s = math.inf if window.by_read else self._known_until()
            ended = now_s >= window.end_s and not window.pending
            if ended or self.windows.complete(window, triggers_known_until_s=known_s):
                reads = self.windows.close(window)
                self._notify()
                return reads
            # Past its end, a window waits only for sources that deliver for it themselves;
            # the decision deadline bounds that wait.
            wait_s = max(window.end_s, window.deadline_s if window.pending else 0) - now_s
            settling = self.windows.sources <= self.windows.reported(window)
            if settling:
                # Every source is in; only the trigger poll that settles the reads is missing.
                wait_s = min(wait_s, self._settle_poll_s)
                if early is not None:
                    early(self.windows.preview(window))
                    early = None
            self._settling += settling
            try:
                await self._wait(wait_s)
            finally:
                self._settling -= settling

    def trigger_polled(self) -> None:
        """The trigger input was just polled: a window waiting for the poll that settles its
        reads looks again now rather than at its next `settle_poll_s`."""
        if self._settling:
            self._notify()

    def attach(self, window: Window, source: str, reads: list[CodeRead]) -> None:
        self.windows.attach(window, source, reads)
        self._notify()

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _wait(self, timeout_s: float) -> None:
        event = self._changed
        try:
            async with asyncio.timeout(max(0.0, timeout_s)):
                await event.wait()
        except TimeoutError:
            pass
