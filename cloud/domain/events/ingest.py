"""Store batches of incoming events exactly once, with everything derived from them.

One transaction per batch: the events (`ON CONFLICT DO NOTHING` on the
primary key, so a redelivered event is a no-op), the per-device seq
bookkeeping, the derived genealogy tables and the dead letters. The MQTT
consumer acknowledges a batch only after this commits; `POST /api/events`
answers only after it commits.

Nothing in a payload can stop the ingest: a payload that fails validation is
dead-lettered, and a batch the database refuses is split until the one event
it refuses is found and dead-lettered with the database's reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import insert, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db import bulk
from cloud.db.base import Base
from cloud.db.database import Database
from cloud.db.dialect import insert_for, is_postgres
from cloud.db.types import utc_now
from cloud.domain.events.devices import Binding, DeviceRegistry, mark_seen
from cloud.domain.events.partitions import EventPartitions, month_of
from cloud.domain.events.sequences import lock_devices, record_sequences
from cloud.domain.events.validation import Checked, Incoming, Refused, check_incoming
from cloud.domain.genealogy.materialise import NewEvent, materialise

log = logging.getLogger(__name__)

OutcomeStatus = Literal["stored", "duplicate", "refused"]


@dataclass(frozen=True, slots=True)
class IngestOptions:
    topic_prefix: str
    max_event_bytes: int = 256 * 1024
    dead_letter_keep_bytes: int = 64 * 1024
    clock_skew_threshold_s: float = 300.0
    accept_unknown_devices: bool = True


@dataclass(slots=True)
class Outcome:
    """What became of one incoming payload (not frozen: one per event, see `Incoming`)."""

    status: OutcomeStatus
    event_id: uuid.UUID | None = None
    code: str | None = None
    reason: str | None = None


@dataclass(slots=True)
class BatchResult:
    outcomes: list[Outcome]
    gaps_opened: int = 0
    gaps_closed: int = 0

    def count(self, status: OutcomeStatus) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)


class StoreUnavailableError(RuntimeError):
    """The database could not be reached; nothing of the batch was stored. Retry later."""


@dataclass(slots=True)
class _Plan:
    """One attempt at a batch: what goes in, and what each incoming payload became."""

    checked: list[tuple[int, Checked]]
    refused: list[tuple[int, Refused]]
    outcomes: dict[int, Outcome] = field(default_factory=dict)


class EventIngestService:
    """Validates, stores and materialises batches of events; shared by MQTT and HTTP ingest."""

    def __init__(self, db: Database, options: IngestOptions) -> None:
        self.db = db
        self.options = options
        self.registry = DeviceRegistry(accept_unknown=options.accept_unknown_devices)
        self.partitions = EventPartitions()
        self._seen_written: dict[str, float] = {}

    async def ingest(self, batch: Sequence[Incoming], *, attempts: int = 3) -> BatchResult:
        """Store a batch; raises StoreUnavailableError only when the database is unreachable."""
        checked: list[tuple[int, Checked]] = []
        refused: list[tuple[int, Refused]] = []
        for index, incoming in enumerate(batch):
            checked_or_refused = check_incoming(
                incoming,
                topic_prefix=self.options.topic_prefix,
                max_event_bytes=self.options.max_event_bytes,
                clock_skew_threshold_s=self.options.clock_skew_threshold_s,
            )
            if isinstance(checked_or_refused, Checked):
                checked.append((index, checked_or_refused))
            else:
                refused.append((index, checked_or_refused))
        return await self._store_resilient(_Plan(checked, refused), attempts=attempts)

    async def _store_resilient(self, plan: _Plan, *, attempts: int) -> BatchResult:
        for attempt in range(1, attempts + 1):
            try:
                return await self._store(plan)
            except Exception as exc:
                self.registry.forget()
                bulk.forget_staging()
                if _unreachable(exc):
                    raise StoreUnavailableError(f"database unreachable: {exc}") from exc
                if _transient(exc) and attempt < attempts:
                    log.warning("batch retried after a transient error: %s", exc)
                    await asyncio.sleep(0.05 * attempt)
                    continue
                if len(plan.checked) + len(plan.refused) <= 1:
                    return await self._refuse_all(plan, exc)
                log.warning("batch of %d split after: %s", len(plan.checked), exc)
                return await self._split(plan, attempts=attempts)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _split(self, plan: _Plan, *, attempts: int) -> BatchResult:
        items = sorted(
            [(i, c) for i, c in plan.checked] + [(i, r) for i, r in plan.refused],
            key=lambda pair: pair[0],
        )
        middle = len(items) // 2
        results = []
        for part in (items[:middle], items[middle:]):
            results.append(
                await self._store_resilient(
                    _Plan(
                        [(i, x) for i, x in part if isinstance(x, Checked)],
                        [(i, x) for i, x in part if isinstance(x, Refused)],
                    ),
                    attempts=attempts,
                )
            )
        merged = BatchResult(outcomes=[])
        outcomes: dict[int, Outcome] = {}
        for part, result in zip((items[:middle], items[middle:]), results, strict=True):
            for (index, _), outcome in zip(part, result.outcomes, strict=True):
                outcomes[index] = outcome
            merged.gaps_opened += result.gaps_opened
            merged.gaps_closed += result.gaps_closed
        merged.outcomes = [outcomes[i] for i, _ in items]
        return merged

    async def _refuse_all(self, plan: _Plan, exc: Exception) -> BatchResult:
        log.error("the database refused an event; it is dead-lettered", exc_info=exc)
        reason = f"database refused the event: {type(exc).__name__}: {exc}"[:2000]
        refused = list(plan.refused) + [
            (index, Refused(item.incoming, "rejected", reason)) for index, item in plan.checked
        ]
        return await self._store(_Plan([], refused))

    async def _store(self, plan: _Plan) -> BatchResult:
        months = {month_of(item.id_time) for _, item in plan.checked}
        await self.partitions.ensure(self.db.engine, months)
        now = utc_now()
        refused = list(plan.refused)
        outcomes: dict[int, Outcome] = {}
        async with self.db.sessions.begin() as session:
            accepted = await self._bound(session, plan.checked, refused)
            fresh: dict[uuid.UUID, tuple[int, Checked, Binding]] = {}
            for index, item, binding in accepted:
                if item.event.event_id in fresh:
                    outcomes[index] = Outcome("duplicate", item.event.event_id)
                else:
                    fresh[item.event.event_id] = (index, item, binding)
            inserted = await _insert_events(session, [item for _, item, _ in fresh.values()])
            if isinstance(inserted, _AllInserted):
                new = list(fresh.values())
                for event_id, (index, _, _) in fresh.items():
                    outcomes[index] = Outcome("stored", event_id)
            else:
                new = [fresh[event_id] for event_id in fresh if event_id in inserted]
                for event_id, (index, _, _) in fresh.items():
                    status: OutcomeStatus = "stored" if event_id in inserted else "duplicate"
                    outcomes[index] = Outcome(status, event_id)
            await materialise(
                session, [NewEvent(item.event, binding.checkpoint_id) for _, item, binding in new]
            )
            await mark_seen(session, self._last_seen_to_write(new))
            refused.sort(key=lambda pair: pair[0])
            await self._dead_letter(session, [r for _, r in refused])
            # The devices' rows are locked last, just before the commit: batches of one
            # worker (and of several) insert and materialise side by side and queue only
            # here, for as short as possible. Under READ COMMITTED each statement after the
            # lock sees the events a batch that held it before has committed, which the
            # seq-reuse check relies on.
            maxima = await lock_devices(session, [item.event.device_id for _, item, _ in new], now)
            sequences = await record_sequences(
                session,
                maxima,
                [(item.event.device_id, item.event.seq, item.event.event_id) for _, item, _ in new],
                now,
            )
            if sequences.reused:
                events = Base.metadata.tables["events"]
                await session.execute(
                    update(events)
                    .where(events.c.event_id.in_(sequences.reused))
                    .values(seq_reused=True)
                )
        for index, refusal in refused:
            outcomes[index] = Outcome("refused", None, refusal.code, refusal.reason)
        order = sorted([i for i, _ in plan.checked] + [i for i, _ in plan.refused])
        return BatchResult(
            outcomes=[outcomes[i] for i in order],
            gaps_opened=sequences.gaps_opened,
            gaps_closed=sequences.gaps_closed,
        )

    def _last_seen_to_write(self, new: list[tuple[int, Checked, Binding]]) -> dict[str, datetime]:
        """Devices whose `last_seen_at` was not written in the last second (a write per batch
        per device would cost a round trip on every batch for a figure read by people)."""
        latest: dict[str, datetime] = {}
        for _, item, _ in new:
            device_id, received = item.event.device_id, item.incoming.received_at
            latest[device_id] = max(latest.get(device_id, received), received)
        now_s = time.monotonic()
        due = {d: at for d, at in latest.items() if now_s - self._seen_written.get(d, -1e9) >= 1}
        self._seen_written.update(dict.fromkeys(due, now_s))
        return due

    async def _bound(
        self,
        session: AsyncSession,
        checked: list[tuple[int, Checked]],
        refused: list[tuple[int, Refused]],
    ) -> list[tuple[int, Checked, Binding]]:
        """Keep events whose device is bound to the checkpoint they name; refuse the rest."""
        wanted = {
            (c.event.device_id, c.event.site, c.event.line, c.event.checkpoint) for _, c in checked
        }
        bindings = await self.registry.bindings(session, wanted)
        accepted = []
        for index, item in checked:
            event = item.event
            binding = bindings.get(event.device_id)
            if (
                binding is not None
                and binding.checkpoint == event.checkpoint
                and binding.line == event.line
                and binding.site == event.site
            ):
                accepted.append((index, item, binding))
            elif binding is None:
                refused.append(
                    (
                        index,
                        Refused(
                            item.incoming,
                            "unknown_device",
                            f"event {event.event_id} comes from device {event.device_id!r}, "
                            "which is not registered (and unknown devices are not accepted)",
                        ),
                    )
                )
            else:
                named = f"{event.site}/{event.line}/{event.checkpoint}"
                refused.append(
                    (
                        index,
                        Refused(
                            item.incoming,
                            "spoof",
                            f"event {event.event_id} names device {event.device_id!r} at "
                            f"{named!r}, but that device is registered at {binding.path!r}",
                        ),
                    )
                )
        return accepted

    async def _dead_letter(self, session: AsyncSession, refused: list[Refused]) -> None:
        if not refused:
            return
        keep = self.options.dead_letter_keep_bytes
        await session.execute(
            insert(Base.metadata.tables["dead_letters"]),
            [
                {
                    "source": item.incoming.source,
                    "topic": item.incoming.topic[:300],
                    "reason_code": item.code,
                    "reason": item.reason[:2000],
                    "payload": item.incoming.payload[:keep],
                    "payload_size": len(item.incoming.payload),
                    "received_at": item.incoming.received_at,
                }
                for item in refused
            ],
        )


_EVENT_COLUMNS = (
    "event_id",
    "id_time",
    "kind",
    "device_id",
    "seq",
    "site",
    "line",
    "checkpoint",
    "occurred_at",
    "received_at",
    "clock_offset_ms",
    "clock_skew",
    "seq_reused",
    "source",
    "prev_hash",
    "payload",
)
_PG_INSERT_EVENTS = (
    f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) "
    f"SELECT {', '.join(_EVENT_COLUMNS)} FROM events_stage "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


def _event_row(item: Checked) -> tuple[Any, ...]:
    event = item.event
    return (
        event.event_id,
        item.id_time,
        event.kind,
        event.device_id,
        event.seq,
        event.site,
        event.line,
        event.checkpoint,
        event.occurred_at,
        item.incoming.received_at,
        item.clock_offset_ms,
        item.clock_skew,
        False,
        item.incoming.source,
        event.prev_hash,
        item.incoming.payload.decode("utf-8"),
    )


class _AllInserted:
    """Every event given was inserted (the common case: no set of ids to build and probe)."""


_ALL = _AllInserted()


async def _insert_events(
    session: AsyncSession, items: list[Checked]
) -> set[uuid.UUID] | _AllInserted:
    """Insert the events not stored yet; returns the ids this call inserted, or `_ALL`."""
    if not items:
        return _ALL
    # Sorted by id (UUIDv7: by time), compared as ints: uuid.UUID's own ordering is Python code.
    rows = [_event_row(item) for item in sorted(items, key=lambda c: c.event.event_id.int)]
    if is_postgres(session):
        # Nearly every event is new: straight into the table, unless one was stored before.
        if await bulk.copy_unless_conflict(session, "events", _EVENT_COLUMNS, rows):
            return _ALL
        driver = await bulk.stage(session, "events_stage", "(LIKE events)", _EVENT_COLUMNS, rows)
        returned = await driver.fetch(_PG_INSERT_EVENTS)
        if len(returned) == len(rows):
            return _ALL
        # asyncpg's own UUID type: compared as text, not against uuid.UUID one by one.
        return {uuid.UUID(str(row[0])) for row in returned}
    events = Base.metadata.tables["events"]
    result = await session.execute(
        insert_for(session, events).on_conflict_do_nothing().returning(events.c.event_id),
        [dict(zip(_EVENT_COLUMNS, row, strict=True)) for row in rows],
    )
    ids = set(result.scalars().all())
    return _ALL if len(ids) == len(rows) else ids


_TRANSIENT_SQLSTATES = ("40001", "40P01", "55P03")


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(state, str):
            return state
    return None


def _transient(exc: BaseException) -> bool:
    state = _sqlstate(exc)
    if state is not None:
        return state in _TRANSIENT_SQLSTATES
    # SQLite: "database is locked" after the busy timeout.
    return isinstance(exc, OperationalError) and "locked" in str(exc)


def _unreachable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    state = _sqlstate(exc)
    if state is not None:
        return state.startswith("08") or state in ("57P01", "57P02", "57P03")
    return isinstance(exc, OSError | ConnectionError | TimeoutError) or (
        isinstance(exc, OperationalError) and "unable to open" in str(exc)
    )
