"""Which reads belong to which unit: read windows around triggers (pure; monotonic seconds).

A trigger (a photo-eye edge, or an unsolicited read on a checkpoint without one) opens a
window from `start_s` to `end_s`. A read belongs to the window with the latest start at or
before the read whose end is not yet past it: on a line the reader sees a unit after the
photo-eye does, so a read is the latest unit's. A window reaches back before its trigger
by the trigger's polling gap (the edge happened somewhere in it, and a fast reader may
answer before the poll that sees the edge).

The window is the longest the engine waits, not a fixed delay: it closes as soon as every
source of the checkpoint has reported and the read is *settled*, meaning the trigger input
has been polled after the read without a new edge, so no later unit can still claim it.
Waiting out a 120 ms window on every unit would put the window, not the Modbus round trip
and the outbox commit, on every unit's latency.

Units that one poll of a unit counter counted together (a `Batch`) share their times: their
reads go to them in arrival order, source by source.

Reads that no window takes are kept until they are settled (a trigger may still come for
them) and are then orphans, or, where reads are the trigger, open a window of their own. Reads that
arrive for a window already closed (a double read, a late second scanner) are late: they
were not part of the decision and are only counted.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from edge.reads import CodeRead


@dataclass(slots=True, eq=False, kw_only=True)
class Window:
    """The reads of one unit, collected between `start_s` and `end_s`."""

    number: int
    """Windows opened by this collector, from 1."""
    trigger_s: float
    """When the unit was seen: the poll that saw the photo-eye edge, or the first read."""
    start_s: float
    end_s: float
    deadline_s: float
    """When a decision not yet made becomes a hold: `decision_deadline_ms` after the unit
    reached the checkpoint at the earliest (a photo-eye edge happened after the poll before
    the one that saw it)."""
    output_by_s: float
    """The latest moment the unit's pass or reject may reach the PLC: after it the unit may
    have left and the output would act on the next one. The deadline, except for a window
    opened late by a read (no trigger came for it): counted from the read."""
    by_read: bool
    """Opened by an unsolicited read rather than a trigger edge."""
    awaiting: frozenset[str] = frozenset()
    """Sources that deliver for this window themselves (a camera decoding the frames of the
    window): it does not close before they report, whatever its end."""
    reported: set[str] = field(default_factory=set)
    """Sources that delivered for this window directly (a camera decoding around the
    trigger), with or without reads."""
    attached: list[CodeRead] = field(default_factory=list)
    """Reads those sources delivered."""
    batch: Batch | None = None
    """The units one poll of a unit counter counted together, this one among them."""
    closed: bool = False
    reads: tuple[CodeRead, ...] = ()
    """The reads the window took when it closed, in arrival order."""
    taken: tuple[CodeRead, ...] = ()
    """Of those, the ones it took from the unclaimed reads (not attached)."""
    unresolved: str | None = None
    """Set at closing when the window's batch could not be told apart: why."""

    def covers(self, at_s: float) -> bool:
        return self.start_s <= at_s <= self.end_s

    @property
    def pending(self) -> frozenset[str]:
        """Sources this window still waits for whatever its end."""
        return self.awaiting - self.reported


@dataclass(slots=True, eq=False)
class Batch:
    """Units that one poll of a unit counter counted together: they arrived between the same
    two polls, so time cannot tell their reads apart; order does. Units keep their order on a
    conveyor and a reader reads them in that order, so the n-th read of each source in the
    batch's time is the n-th unit's. That holds only if each source read every unit: a
    window of a batch waits until every source has as many reads as the batch has units, and
    closing without them (a source read some of the units) it is `unresolved`."""

    size: int
    windows: list[Window] = field(default_factory=list)
    """The batch's windows, in conveyor order."""


@dataclass(frozen=True, slots=True)
class Sweep:
    """What a sweep of the unclaimed reads found."""

    opened: tuple[Window, ...] = ()
    """Windows opened by unsolicited reads."""
    orphans: tuple[CodeRead, ...] = ()
    """Reads no trigger came for."""
    late: tuple[tuple[CodeRead, Window], ...] = ()
    """Reads that arrived for a window already closed."""


class ReadWindows:
    """The unclaimed reads and the windows they may belong to."""

    def __init__(
        self,
        *,
        sources: Collection[str],
        read_window_s: float,
        deadline_s: float,
        keep_closed_s: float = 2.0,
        max_unclaimed: int = 1000,
    ) -> None:
        if read_window_s <= 0 or deadline_s <= read_window_s:
            raise ValueError(
                f"Read windows: expected 0 < read_window_s < deadline_s, got {read_window_s} "
                f"and {deadline_s}"
            )
        self.sources = frozenset(sources)
        self.read_window_s = read_window_s
        self.deadline_s = deadline_s
        self.keep_closed_s = keep_closed_s
        self.max_unclaimed = max_unclaimed
        self._unclaimed: list[CodeRead] = []
        self._keys: list[float] = []
        self._windows: list[Window] = []
        self._opened = 0

    @property
    def unclaimed(self) -> tuple[CodeRead, ...]:
        return tuple(self._unclaimed)

    @property
    def open_windows(self) -> tuple[Window, ...]:
        return tuple(w for w in self._windows if not w.closed)

    def add(self, read: CodeRead) -> CodeRead | None:
        """Keep a read until a window takes it; returns the oldest read dropped to stay
        within `max_unclaimed`, if any."""
        index = bisect.bisect_right(self._keys, read.monotonic_s)
        self._keys.insert(index, read.monotonic_s)
        self._unclaimed.insert(index, read)
        if len(self._unclaimed) > self.max_unclaimed:
            self._keys.pop(0)
            return self._unclaimed.pop(0)
        return None

    def open(
        self,
        *,
        trigger_s: float,
        lookback_s: float = 0.0,
        by_read: bool = False,
        opened_s: float | None = None,
        arrived_after_s: float | None = None,
        batch: Batch | None = None,
    ) -> Window:
        """A window for a unit seen at `trigger_s`, reaching `lookback_s` before it; the
        next of `batch` when one poll counted several units (open them in conveyor order).

        The unit may have reached the checkpoint as early as `arrived_after_s` (the poll
        before the one that saw its edge): its deadline counts from then, so that an output
        in time never meets the next unit. A window opened late (`opened_s`, when a read
        turned out to have no trigger) gets its decision deadline from then, since the
        decision could not start earlier; its output is still due by the read's deadline.
        """
        self._opened += 1
        arrived_s = trigger_s if arrived_after_s is None else min(trigger_s, arrived_after_s)
        window = Window(
            number=self._opened,
            trigger_s=trigger_s,
            start_s=trigger_s - max(0.0, lookback_s),
            end_s=trigger_s + self.read_window_s,
            deadline_s=max(arrived_s, opened_s or arrived_s) + self.deadline_s,
            output_by_s=arrived_s + self.deadline_s,
            by_read=by_read,
            batch=batch,
        )
        if batch is not None:
            batch.windows.append(window)
        # Kept in trigger order: ends then ascend too (every window is read_window_s long),
        # which lets `owner` stop early.
        bisect.insort(self._windows, window, key=lambda w: w.trigger_s)
        return window

    def attach(self, window: Window, source: str, reads: Iterable[CodeRead]) -> None:
        """Reads a source delivered for this window itself (a camera decoding the frames
        around the trigger); the source counts as reported even with none."""
        if not window.closed:
            window.reported.add(source)
            window.attached.extend(reads)

    def owner(self, read: CodeRead) -> Window | None:
        """The window `read` belongs to (open or recently closed), or None."""
        window = self._owner_by_time(read.monotonic_s)
        if window is None or window.batch is None:
            return window
        batch = window.batch
        reads = self._batch_reads(batch, read.source_name)
        rank = next((i for i, r in enumerate(reads) if r is read), None)
        if rank is None:
            rank = bisect.bisect_right([r.monotonic_s for r in reads], read.monotonic_s)
        return batch.windows[min(rank, len(batch.windows) - 1)]

    def _owner_by_time(self, at_s: float) -> Window | None:
        """The window with the latest start at or before `at_s` whose end is not past it (any
        window of a batch: they share their times)."""
        best: Window | None = None
        for window in reversed(self._windows):
            if window.end_s < at_s:
                break
            if window.start_s <= at_s and (best is None or window.start_s > best.start_s):
                best = window
        return best

    def _batch_reads(self, batch: Batch, source: str) -> list[CodeRead]:
        """The reads of `source` in the time of `batch`, taken or not, in arrival order."""
        taken = [r for w in batch.windows for r in w.taken if r.source_name == source]
        free = [
            r
            for r in self._unclaimed
            if r.source_name == source
            and (w := self._owner_by_time(r.monotonic_s)) is not None
            and w.batch is batch
        ]
        return sorted([*taken, *free], key=lambda r: r.monotonic_s)

    def _batch_short(self, window: Window) -> list[tuple[str, int]]:
        """Sources (not delivering for the window themselves) that read fewer units of its
        batch than it has, with how many they read."""
        batch = window.batch
        if batch is None:
            return []
        counts = [
            (source, len(self._batch_reads(batch, source)))
            for source in sorted(self.sources - window.reported)
        ]
        return [(source, n) for source, n in counts if n < batch.size]

    def candidates(self, window: Window) -> list[CodeRead]:
        """The unclaimed reads that belong to `window` now."""
        return [r for r in self._unclaimed if self.owner(r) is window]

    def reported(self, window: Window) -> frozenset[str]:
        """Sources that have reported for `window`."""
        return frozenset(r.source_name for r in self.candidates(window)) | window.reported

    def complete(self, window: Window, *, triggers_known_until_s: float) -> bool:
        """Every source has reported, and no trigger can still come for the reads: the
        trigger input was polled after the newest of them (`triggers_known_until_s`)."""
        reads = self.candidates(window)
        if not self.sources <= (frozenset(r.source_name for r in reads) | window.reported):
            return False
        if self._batch_short(window):
            return False
        newest_s = max((r.monotonic_s for r in reads), default=-math.inf)
        return window.by_read or newest_s <= triggers_known_until_s

    def preview(self, window: Window) -> tuple[CodeRead, ...]:
        """The reads `close` would return now."""
        return tuple(
            sorted([*self.candidates(window), *window.attached], key=lambda r: r.monotonic_s)
        )

    def close(self, window: Window) -> tuple[CodeRead, ...]:
        """Close `window`, taking its reads out of the unclaimed ones."""
        if window.closed:
            return window.reads
        taken = self.candidates(window)
        reads = self.preview(window)
        taken_ids = {id(r) for r in taken}
        keep = [
            (k, r)
            for k, r in zip(self._keys, self._unclaimed, strict=True)
            if id(r) not in taken_ids
        ]
        self._keys = [k for k, _ in keep]
        self._unclaimed = [r for _, r in keep]
        window.closed = True
        window.reads = reads
        window.taken = tuple(taken)
        short = [(source, n) for source, n in self._batch_short(window) if n > 0]
        if short and window.batch is not None:
            read = ", ".join(f"{source} read {n}" for source, n in short)
            window.unresolved = (
                f"{window.batch.size} units reached the photo-eye between two polls of the unit"
                f" counter and {read} of them: which read is whose cannot be told."
            )
        return window.reads

    def sweep(
        self,
        now_s: float,
        *,
        open_by_read: Callable[[CodeRead], bool],
        settled: Callable[[CodeRead], bool],
        late_after: Callable[[CodeRead], bool] | None = None,
    ) -> Sweep:
        """Sort out the unclaimed reads no open window will take.

        A read that no window covers opens a window of its own when `open_by_read(read)`
        (later reads of it then join it); else, once `settled(read)` (no trigger can come for
        it any more), it is an orphan. A read of a closed window is late once
        `late_after(read)`: until then a delayed poll may still report the unit it belongs
        to. Closed windows are forgotten `keep_closed_s` after their end.
        """
        opened: list[Window] = []
        orphans: list[CodeRead] = []
        late: list[tuple[CodeRead, Window]] = []
        kept_keys: list[float] = []
        kept: list[CodeRead] = []
        for key, read in zip(self._keys, self._unclaimed, strict=True):
            owner = self.owner(read)
            if owner is not None and owner.closed and (late_after is None or late_after(read)):
                late.append((read, owner))
                continue
            if owner is None:
                if open_by_read(read):
                    opened.append(
                        self.open(trigger_s=read.monotonic_s, by_read=True, opened_s=now_s)
                    )
                elif settled(read):
                    orphans.append(read)
                    continue
            kept_keys.append(key)
            kept.append(read)
        self._keys, self._unclaimed = kept_keys, kept
        horizon_s = now_s - self.keep_closed_s
        self._windows = [w for w in self._windows if not (w.closed and w.end_s < horizon_s)]
        return Sweep(opened=tuple(opened), orphans=tuple(orphans), late=tuple(late))
