"""Per-device `seq` tracking: every jump opens a gap, every late event fills one.

Devices number their events 1, 2, 3, ... with no gaps (DESIGN.md); a missing
number means an event was lost somewhere between the outbox and the database
(a broker dropping a slow subscriber's queue, for instance), so it is recorded
where people look, and closed when the event turns up after all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db import bulk
from cloud.db.base import Base
from cloud.db.dialect import insert_for, is_postgres
from cloud.domain.events.gaps import fill_late
from cloud.domain.events.models import DeviceSequence, SeqGap


@dataclass(frozen=True, slots=True)
class SequenceStep:
    """What a batch of one device's seqs does to its tracked maximum."""

    max_seq: int
    opened: tuple[tuple[int, int], ...]
    """New gaps, as (first missing, last missing)."""
    late: tuple[int, ...]
    """Seqs at or below the previous maximum: a gap filled, or a seq used twice."""


def advance_sequence(max_seq: int, seqs: Iterable[int]) -> SequenceStep:
    """Walk a device's new seqs in order from its tracked maximum.

    >>> advance_sequence(3, [4, 7, 5, 9])
    SequenceStep(max_seq=9, opened=((6, 6), (8, 8)), late=())
    >>> advance_sequence(9, [6, 10])
    SequenceStep(max_seq=10, opened=(), late=(6,))

    Seqs are sorted first, so a batch that arrives shuffled opens no gap.
    """
    opened: list[tuple[int, int]] = []
    late: list[int] = []
    current = max_seq
    for seq in sorted(seqs):
        if seq > current + 1:
            opened.append((current + 1, seq - 1))
            current = seq
        elif seq == current + 1:
            current = seq
        else:
            late.append(seq)
    return SequenceStep(max_seq=current, opened=tuple(opened), late=tuple(late))


@dataclass(slots=True)
class SequenceOutcome:
    gaps_opened: int = 0
    gaps_closed: int = 0
    reused: list[uuid.UUID] = field(default_factory=list)


_PG_LOCK_DEVICES = """
INSERT INTO device_sequences (device_id, max_seq, updated_at)
SELECT device_id, 0, $2 FROM unnest($1::text[]) AS device_id ORDER BY device_id
ON CONFLICT (device_id) DO UPDATE SET device_id = EXCLUDED.device_id
RETURNING device_id, max_seq
"""
_PG_ADVANCE = """
UPDATE device_sequences AS s SET max_seq = a.max_seq, updated_at = $3
FROM unnest($1::text[], $2::bigint[]) AS a(device_id, max_seq)
WHERE s.device_id = a.device_id
"""


async def lock_devices(
    session: AsyncSession, device_ids: Sequence[str], now: datetime
) -> dict[str, int]:
    """Each device's tracked maximum, its row locked until commit (PostgreSQL).

    Shared subscriptions spread one device's events over every worker; the lock
    serialises them per device. Rows are taken in device order so two workers
    never wait on each other in a cycle.
    """
    ordered = sorted(set(device_ids))
    if not ordered:
        return {}
    if is_postgres(session):
        # One round trip: the no-op update takes each row's lock, in device order, and
        # returns its current maximum (a new device starts at 0). Raw asyncpg: building
        # the SQLAlchemy statement cost more than running it, once per batch.
        found = await bulk.fetch(session, _PG_LOCK_DEVICES, ordered, now)
        return {device_id: max_seq for device_id, max_seq in found}
    await session.execute(
        insert_for(session, DeviceSequence).on_conflict_do_nothing(),
        [{"device_id": d, "max_seq": 0, "updated_at": now} for d in ordered],
    )
    rows = await session.execute(
        select(DeviceSequence.device_id, DeviceSequence.max_seq)
        .where(DeviceSequence.device_id.in_(ordered))
        .order_by(DeviceSequence.device_id)
        .with_for_update()
    )
    return {device_id: max_seq for device_id, max_seq in rows}


async def record_sequences(
    session: AsyncSession,
    maxima: dict[str, int],
    stored: Iterable[tuple[str, int, uuid.UUID]],
    now: datetime,
) -> SequenceOutcome:
    """Advance each device's maximum over its newly stored events; open and fill gaps.

    `stored` holds (device_id, seq, event_id) of events inserted in this
    transaction (duplicates of earlier events are not in it). Seq 0 is outside
    the chain (last-will status messages) and is skipped.
    """
    outcome = SequenceOutcome()
    by_device: dict[str, list[tuple[int, uuid.UUID]]] = {}
    for device_id, seq, event_id in stored:
        if seq > 0:
            by_device.setdefault(device_id, []).append((seq, event_id))
    new_gaps: list[dict[str, object]] = []
    advanced: list[dict[str, object]] = []
    late: dict[str, list[tuple[int, uuid.UUID]]] = {}
    for device_id, entries in by_device.items():
        step = advance_sequence(maxima[device_id], (seq for seq, _ in entries))
        for first, last in step.opened:
            new_gaps.append(
                {
                    "device_id": device_id,
                    "first_seq": first,
                    "last_seq": last,
                    "missing": last - first + 1,
                    "opened_at": now,
                }
            )
        if step.max_seq != maxima[device_id]:
            advanced.append({"device": device_id, "max_seq": step.max_seq, "updated_at": now})
        if step.late:
            late_seqs = set(step.late)
            late[device_id] = [(seq, event_id) for seq, event_id in entries if seq in late_seqs]
    filling = await fill_late(session, late, now)
    outcome.gaps_closed += filling.closed
    outcome.reused += filling.reused
    if advanced and is_postgres(session):
        await bulk.fetch(
            session,
            _PG_ADVANCE,
            [row["device"] for row in advanced],
            [row["max_seq"] for row in advanced],
            now,
        )
    elif advanced:
        table = Base.metadata.tables["device_sequences"]
        # One executemany for every device of the batch (rows already locked, in order).
        await session.execute(
            update(table)
            .where(table.c.device_id == bindparam("device"))
            .values(max_seq=bindparam("max_seq"), updated_at=bindparam("updated_at")),
            advanced,
        )
    if new_gaps and is_postgres(session):
        # With several workers about one gap per event opens (cloud.domain.events.gaps).
        await bulk.copy_rows(
            session, "seq_gaps", _GAP_COLUMNS, [tuple(g[c] for c in _GAP_COLUMNS) for g in new_gaps]
        )
    elif new_gaps:
        await session.execute(insert_for(session, SeqGap), new_gaps)
    outcome.gaps_opened += len(new_gaps)
    return outcome


_GAP_COLUMNS = ("device_id", "first_seq", "last_seq", "missing", "opened_at")
