"""Reading what the ingest recorded: events, dead letters and seq gaps."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import select

from cloud.db.database import Database
from cloud.domain.errors import NotFoundError
from cloud.domain.events.models import DeadLetter, Event, SeqGap
from cloud.domain.events.schemas import DeadLetterOut, EventOut, SeqGapOut
from protocols.ids import uuid7_time

_EXCERPT_BYTES = 200


class EventQueryService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_event(self, event_id: uuid.UUID) -> EventOut:
        try:
            id_time = uuid7_time(event_id)
        except ValueError:
            raise NotFoundError("event", "event_id", str(event_id)) from None
        async with self.db.sessions() as session:
            # The partition key in the predicate lets PostgreSQL look in one partition only.
            event = await session.scalar(
                select(Event).where(Event.event_id == event_id, Event.id_time == id_time)
            )
        if event is None:
            raise NotFoundError("event", "event_id", str(event_id))
        return EventOut(
            event_id=event.event_id,
            kind=event.kind,
            device_id=event.device_id,
            seq=event.seq,
            site=event.site,
            line=event.line,
            checkpoint=event.checkpoint,
            occurred_at=event.occurred_at,
            received_at=event.received_at,
            clock_offset_ms=event.clock_offset_ms,
            clock_skew=event.clock_skew,
            seq_reused=event.seq_reused,
            source=event.source,
            payload=msgspec.Raw(event.payload.encode("utf-8")),
        )

    async def dead_letters(self, *, limit: int) -> list[DeadLetterOut]:
        async with self.db.sessions() as session:
            rows = (
                await session.scalars(
                    select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
                )
            ).all()
        return [
            DeadLetterOut(
                id=row.id,
                source=row.source,
                topic=row.topic,
                reason_code=row.reason_code,
                reason=row.reason,
                payload_size=row.payload_size,
                payload_excerpt=row.payload[:_EXCERPT_BYTES].decode("utf-8", "backslashreplace"),
                received_at=row.received_at,
            )
            for row in rows
        ]

    async def seq_gaps(self, *, open_only: bool, device_id: str | None) -> list[SeqGapOut]:
        query = select(SeqGap).order_by(SeqGap.device_id, SeqGap.first_seq)
        if open_only:
            query = query.where(SeqGap.closed_at.is_(None))
        if device_id is not None:
            query = query.where(SeqGap.device_id == device_id)
        async with self.db.sessions() as session:
            rows = (await session.scalars(query)).all()
        return [msgspec.convert(row, SeqGapOut, from_attributes=True) for row in rows]
