"""Holds placed through the API, sent to the edges as `cmd/hold` so the line stops the units.

Holds an edge decided arrive as `unit.inspected` events and are materialised at
ingest; both kinds are listed here. Dispositions (release with an electronic
signature) belong to the audit layer.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.database import Database
from cloud.domain.errors import InvalidFieldError, NotFoundError
from cloud.domain.genealogy.models import Lot, Unit, unit_ident
from cloud.domain.holds.models import Hold
from cloud.domain.holds.schemas import HoldIn, HoldOut, ReasonOut
from cloud.domain.plant.queries import checkpoint_codes
from cloud.mqtt.commands import CommandPublisher, queue_command
from cloud.settings import Settings
from protocols import commands
from protocols.ids import uuid7
from protocols.parts import UnitRef


def hold_number(hold_id: int) -> str:
    return f"H{hold_id}"


def hold_out(hold: Hold, *, commands_queued: int = 0) -> HoldOut:
    return HoldOut(
        hold_id=hold_number(hold.id),
        scope=hold.scope,
        di=hold.di,
        serial=hold.serial,
        lot=hold.lot,
        reasons=[ReasonOut(code=r["code"], text=r.get("text", "")) for r in hold.reasons],
        source=hold.source,
        event_id=hold.event_id,
        placed_by=hold.placed_by,
        status=hold.status,
        placed_at=hold.placed_at,
        closed_at=hold.closed_at,
        commands_queued=commands_queued,
    )


class HoldService:
    def __init__(self, db: Database, publisher: CommandPublisher, settings: Settings) -> None:
        self.db = db
        self.publisher = publisher
        self.settings = settings

    async def list(self, *, status: str | None = None) -> list[HoldOut]:
        query = select(Hold).order_by(Hold.id)
        if status is not None:
            query = query.where(Hold.status == status)
        async with self.db.sessions() as session:
            return [hold_out(h) for h in (await session.scalars(query)).all()]

    async def get(self, hold_id: str) -> HoldOut:
        async with self.db.sessions() as session:
            return hold_out(await _hold(session, hold_id))

    async def place(self, data: HoldIn, *, placed_by: str = "cloud") -> HoldOut:
        _check_scope(data)
        now = datetime.now(UTC)
        async with self.db.sessions.begin() as session:
            unit_id = lot_id = None
            if data.scope == "unit":
                unit_id = await session.scalar(
                    select(Unit.id).where(
                        Unit.di == data.di,
                        Unit.ident == unit_ident(serial=data.serial, lot=data.lot),
                    )
                )
            else:
                lot_id = await session.scalar(
                    select(Lot.id).where(Lot.di == data.di, Lot.lot == data.lot)
                )
            hold = Hold(
                scope=data.scope,
                di=data.di,
                serial=data.serial,
                lot=data.lot,
                unit_id=unit_id,
                lot_id=lot_id,
                reasons=[{"code": "cloud.hold", "text": data.reason}],
                source="cloud",
                placed_by=placed_by,
                placed_at=now,
            )
            session.add(hold)
            await session.flush()
            scope = (
                commands.HoldScope(units=(UnitRef(di=data.di, serial=data.serial, lot=data.lot),))
                if data.scope == "unit"
                else commands.HoldScope(lots=(commands.LotRef(di=data.di, lot=data.lot or ""),))
            )
            command = commands.Hold(
                command_id=uuid7(),
                issued_at=now,
                issued_by=placed_by,
                hold_id=hold_number(hold.id),
                scope=scope,
                reason=data.reason,
            )
            targets = await _checkpoints(session, site=data.site, line=data.line)
            for site, line, checkpoint in targets:
                queue_command(
                    session,
                    command,
                    site=site,
                    line=line,
                    checkpoint=checkpoint,
                    prefix=self.settings.topic_prefix,
                )
        self.publisher.wake()
        return hold_out(hold, commands_queued=len(targets))


def _check_scope(data: HoldIn) -> None:
    if data.scope == "unit" and not (data.serial or data.lot):
        raise InvalidFieldError(
            "serial", "a unit hold needs the unit's serial (or its lot), got neither"
        )
    if data.scope == "lot" and not data.lot:
        raise InvalidFieldError("lot", "a lot hold needs the lot number, got none")
    if data.line is not None and data.site is None:
        raise InvalidFieldError("site", f"line {data.line!r} given without its site")


async def _hold(session: AsyncSession, hold_id: str) -> Hold:
    number = hold_id.removeprefix("H")
    hold = await session.get(Hold, int(number)) if number.isdigit() else None
    if hold is None:
        raise NotFoundError("hold", "hold_id", hold_id)
    return hold


async def _checkpoints(
    session: AsyncSession, *, site: str | None, line: str | None
) -> list[tuple[str, str, str]]:
    rows = await checkpoint_codes(session, site=site, line=line)
    if not rows and (site is not None or line is not None):
        raise InvalidFieldError(
            "line" if line else "site",
            f"no checkpoints at {site}/{line}" if line else f"no checkpoints at site {site!r}",
        )
    return rows
