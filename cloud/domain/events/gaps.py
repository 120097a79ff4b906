"""Late events filling the seq gaps a device's earlier jumps opened, for a whole batch at once.

Several workers share one subscription, so the broker interleaves each device's
events between them: a worker that stores seqs 1, 3, 5 opens gaps at 2 and 4,
and the other worker's batch fills them a moment later. With two workers that
is about one gap per event, opened and closed again within a second. It is
worked out here set-wise: one query for the open gaps of every device of the
batch, one for how often each late seq is stored, the matching in Python (by
bisection: gaps of one device never overlap), one statement for the changes.
"""

from __future__ import annotations

import uuid
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db import bulk
from cloud.db.base import Base
from cloud.db.dialect import is_postgres
from cloud.domain.events.models import Event, SeqGap

Late = Mapping[str, Sequence[tuple[int, uuid.UUID]]]
"""Per device: (seq, event_id) of newly stored events at or below its tracked maximum."""


@dataclass(slots=True)
class OpenGap:
    id: int
    device_id: str
    first_seq: int
    last_seq: int
    missing: int


@dataclass(slots=True)
class Filling:
    changed: dict[int, OpenGap] = field(default_factory=dict)
    """Gaps whose count of missing events went down, by id."""
    closed: int = 0
    reused: list[uuid.UUID] = field(default_factory=list)
    """Late events whose seq was in no open gap or stored before: the device reused it."""


def fill_gaps(
    gaps: Sequence[OpenGap], late: Late, counts: Mapping[tuple[str, int], int]
) -> Filling:
    """Match late events to open gaps. `counts` holds how many stored events (this batch's
    included) have each (device, seq): more than one means the seq was used twice.

    >>> gap = OpenGap(id=7, device_id="d", first_seq=4, last_seq=6, missing=3)
    >>> e4, e5, e9 = uuid.UUID(int=4), uuid.UUID(int=5), uuid.UUID(int=9)
    >>> done = fill_gaps([gap], {"d": [(5, e5), (4, e4), (2, e9)]}, {("d", 4): 1, ("d", 5): 1})
    >>> done.changed[7].missing, done.closed, done.reused == [e9]
    (1, 0, True)
    """
    by_device: dict[str, list[OpenGap]] = {}
    for open_gap in sorted(gaps, key=lambda g: (g.device_id, g.first_seq)):
        by_device.setdefault(open_gap.device_id, []).append(open_gap)
    filling = Filling()
    for device_id, entries in late.items():
        device_gaps = by_device.get(device_id, [])
        starts = [gap.first_seq for gap in device_gaps]
        filled: set[int] = set()
        for seq, event_id in sorted(entries, key=lambda entry: entry[0]):
            at = bisect_right(starts, seq) - 1
            gap = device_gaps[at] if at >= 0 and device_gaps[at].last_seq >= seq else None
            if gap is None or counts.get((device_id, seq), 0) > 1 or seq in filled:
                filling.reused.append(event_id)
                continue
            filled.add(seq)
            gap.missing -= 1
            filling.changed[gap.id] = gap
            if gap.missing == 0:
                filling.closed += 1
    return filling


async def fill_late(session: AsyncSession, late: Late, now: datetime) -> Filling:
    """Count the late events down from their gaps, close gaps that are complete."""
    if not any(late.values()):
        return Filling()
    gaps = await _open_gaps(session, late)
    counts = await _seq_counts(session, late)
    filling = fill_gaps(gaps, late, counts)
    await _write(session, list(filling.changed.values()), now)
    return filling


_PG_OPEN_GAPS = """
SELECT g.id, g.device_id, g.first_seq, g.last_seq, g.missing
FROM seq_gaps AS g
JOIN unnest($1::text[], $2::bigint[], $3::bigint[]) AS r(device_id, low, high)
  ON g.device_id = r.device_id AND g.closed_at IS NULL
 AND g.first_seq <= r.high AND g.last_seq >= r.low
"""
_PG_SEQ_COUNTS = """
SELECT e.device_id, e.seq, count(*) FROM events AS e
JOIN unnest($1::text[], $2::bigint[]) AS l(device_id, seq)
  ON e.device_id = l.device_id AND e.seq = l.seq
GROUP BY e.device_id, e.seq
"""
_PG_WRITE = """
UPDATE seq_gaps AS g
SET missing = c.missing, closed_at = CASE WHEN c.missing = 0 THEN $3::timestamptz END
FROM unnest($1::bigint[], $2::bigint[]) AS c(id, missing)
WHERE g.id = c.id
"""


async def _open_gaps(session: AsyncSession, late: Late) -> list[OpenGap]:
    devices = sorted(device for device, entries in late.items() if entries)
    rows: Sequence[Any]
    if is_postgres(session):
        lows = [min(seq for seq, _ in late[device]) for device in devices]
        highs = [max(seq for seq, _ in late[device]) for device in devices]
        rows = await bulk.fetch(session, _PG_OPEN_GAPS, devices, lows, highs)
    else:
        rows = (
            await session.execute(
                select(
                    SeqGap.id, SeqGap.device_id, SeqGap.first_seq, SeqGap.last_seq, SeqGap.missing
                ).where(SeqGap.device_id.in_(devices), SeqGap.closed_at.is_(None))
            )
        ).all()
    return [OpenGap(*row) for row in rows]


async def _seq_counts(session: AsyncSession, late: Late) -> dict[tuple[str, int], int]:
    pairs = sorted({(device, seq) for device, entries in late.items() for seq, _ in entries})
    if is_postgres(session):
        rows = await bulk.fetch(
            session, _PG_SEQ_COUNTS, [d for d, _ in pairs], [s for _, s in pairs]
        )
        return {(device, seq): count for device, seq, count in rows}
    counts: dict[tuple[str, int], int] = {}
    for device in sorted({device for device, _ in pairs}):
        seqs = [seq for d, seq in pairs if d == device]
        found = await session.execute(
            select(Event.seq, func.count())
            .where(Event.device_id == device, Event.seq.in_(seqs))
            .group_by(Event.seq)
        )
        counts.update({(device, seq): count for seq, count in found})
    return counts


async def _write(session: AsyncSession, changed: list[OpenGap], now: datetime) -> None:
    if not changed:
        return
    if is_postgres(session):
        await bulk.fetch(
            session, _PG_WRITE, [g.id for g in changed], [g.missing for g in changed], now
        )
        return
    table = Base.metadata.tables["seq_gaps"]
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("gap_id"))
        .values(missing=bindparam("left"), closed_at=bindparam("closed")),
        [
            {"gap_id": g.id, "left": g.missing, "closed": now if g.missing == 0 else None}
            for g in changed
        ],
    )
