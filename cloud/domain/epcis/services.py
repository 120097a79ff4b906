"""Select device events (and cloud holds) and return them as an EPCIS 2.0 document."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, select

from cloud.db.database import Database
from cloud.db.types import utc_now
from cloud.domain.epcis.mapping import (
    CloudHold,
    StoredEvent,
    declare_errors,
    document,
    epcis_event,
    hold_event,
)
from cloud.domain.errors import InvalidFieldError
from cloud.domain.events.models import Event
from cloud.domain.genealogy.models import Unit, UnitEvent
from cloud.domain.holds.models import Hold
from cloud.domain.holds.services import hold_number
from protocols.codec import decode_event


@dataclass(frozen=True, slots=True)
class EventFilter:
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    kinds: tuple[str, ...] = ()
    di: str | None = None
    lot: str | None = None
    serial: str | None = None
    site: str | None = None
    line: str | None = None
    checkpoint: str | None = None
    limit: int = 1000
    include_holds: bool = True


class EpcisService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def events(self, f: EventFilter) -> dict[str, Any]:
        if (f.lot or f.serial) and not f.di:
            raise InvalidFieldError("di", "lot and serial select units of a DI: give di too")
        if f.start and f.end and f.start >= f.end:
            raise InvalidFieldError("to", f"'from' {f.start} is not before 'to' {f.end}")
        query = select(Event.payload, Event.received_at)
        if f.start is not None:
            query = query.where(Event.occurred_at >= f.start)
        if f.end is not None:
            query = query.where(Event.occurred_at < f.end)
        if f.kinds:
            query = query.where(Event.kind.in_(f.kinds))
        for column, value in (
            (Event.site, f.site),
            (Event.line, f.line),
            (Event.checkpoint, f.checkpoint),
        ):
            if value is not None:
                query = query.where(column == value)
        units = None
        if f.di is not None:
            units = select(Unit.id).where(Unit.di == f.di)
            if f.lot is not None:
                units = units.where(Unit.lot == f.lot)
            if f.serial is not None:
                units = units.where(Unit.serial == f.serial)
            query = query.where(
                Event.event_id.in_(select(UnitEvent.event_id).where(UnitEvent.unit_id.in_(units)))
            )
        query = query.order_by(Event.occurred_at, Event.event_id).limit(f.limit)
        async with self.db.sessions() as session:
            rows = (await session.execute(query)).all()
            holds = (await session.scalars(self._holds(f))).all() if f.include_holds else []
        mapped = []
        for payload, received_at in rows:
            event = epcis_event(StoredEvent(decode_event(payload), received_at))
            if event is not None:
                mapped.append(event)
        mapped += [
            hold_event(
                CloudHold(
                    hold_id=hold_number(h.id),
                    scope=h.scope,
                    di=h.di,
                    serial=h.serial,
                    lot=h.lot,
                    reasons=h.reasons,
                    placed_at=h.placed_at,
                    placed_by=h.placed_by,
                )
            )
            for h in holds
        ]
        mapped.sort(key=lambda e: (e["eventTime"], e["eventID"]))
        declare_errors(mapped)
        return document(mapped, created=utc_now())

    def _holds(self, f: EventFilter) -> Any:
        query = select(Hold).where(Hold.source == "cloud").order_by(Hold.placed_at, Hold.id)
        if f.start is not None:
            query = query.where(Hold.placed_at >= f.start)
        if f.end is not None:
            query = query.where(Hold.placed_at < f.end)
        if f.di is not None:
            query = query.where(Hold.di == f.di)
        if f.lot is not None:
            query = query.where(Hold.lot == f.lot)
        if f.serial is not None:
            query = query.where(Hold.serial == f.serial)
        if f.kinds or f.site or f.line or f.checkpoint:
            query = query.where(false())  # holds have no device kind or checkpoint
        return query.limit(f.limit)
