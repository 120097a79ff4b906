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
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import insert, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.base import Base
from cloud.db.database import Database
from cloud.db.dialect import insert_for
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


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one incoming payload."""

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
            maxima = await lock_devices(
                session, [item.event.device_id for _, item, _ in fresh.values()], now
            )
            inserted = await _insert_events(session, [item for _, item, _ in fresh.values()])
            for event_id, (index, _, _) in fresh.items():
                status: OutcomeStatus = "stored" if event_id in inserted else "duplicate"
                outcomes[index] = Outcome(status, event_id)
            new = [fresh[event_id] for event_id in fresh if event_id in inserted]
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
            await materialise(
                session, [NewEvent(item.event, binding.checkpoint_id) for _, item, binding in new]
            )
            last_seen: dict[str, datetime] = {}
            for _, item, _ in new:
                device_id = item.event.device_id
                received = item.incoming.received_at
                last_seen[device_id] = max(last_seen.get(device_id, received), received)
            await mark_seen(session, last_seen)
            refused.sort(key=lambda pair: pair[0])
            await self._dead_letter(session, [r for _, r in refused])
        for index, refusal in refused:
            outcomes[index] = Outcome("refused", None, refusal.code, refusal.reason)
        order = sorted([i for i, _ in plan.checked] + [i for i, _ in plan.refused])
        return BatchResult(
            outcomes=[outcomes[i] for i in order],
            gaps_opened=sequences.gaps_opened,
            gaps_closed=sequences.gaps_closed,
        )

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
            named = f"{event.site}/{event.line}/{event.checkpoint}"
            if binding is None:
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
            elif binding.path != named:
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
            else:
                accepted.append((index, item, binding))
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


async def _insert_events(session: AsyncSession, items: list[Checked]) -> set[uuid.UUID]:
    if not items:
        return set()
    events = Base.metadata.tables["events"]
    rows = [
        {
            "event_id": item.event.event_id,
            "id_time": item.id_time,
            "kind": item.event.kind,
            "device_id": item.event.device_id,
            "seq": item.event.seq,
            "site": item.event.site,
            "line": item.event.line,
            "checkpoint": item.event.checkpoint,
            "occurred_at": item.event.occurred_at,
            "received_at": item.incoming.received_at,
            "clock_offset_ms": item.clock_offset_ms,
            "clock_skew": item.clock_skew,
            "seq_reused": False,
            "source": item.incoming.source,
            "prev_hash": item.event.prev_hash,
            "payload": item.incoming.payload.decode("utf-8"),
        }
        for item in sorted(items, key=lambda c: c.event.event_id)
    ]
    result = await session.execute(
        insert_for(session, events).on_conflict_do_nothing().returning(events.c.event_id), rows
    )
    return set(result.scalars().all())


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
