"""Recalls: scope to impact in one query, a frozen and hashed snapshot, in-house units held
at the line over MQTT (`cmd/hold`), notices, acknowledgements, returns and effectiveness.

A mock recall runs every step the same way and records how long each took, but
places no hold, sends nothing to the line and notifies no one.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.database import Database
from cloud.db.types import utc_now
from cloud.domain.auth.principal import Principal
from cloud.domain.customers.models import Customer
from cloud.domain.errors import ConflictError, NotFoundError
from cloud.domain.events.models import Event
from cloud.domain.genealogy.models import Unit
from cloud.domain.holds.models import Hold
from cloud.domain.holds.services import hold_number
from cloud.domain.recall import impact as impacts
from cloud.domain.recall.models import Recall, RecallRecipient, RecallUnit
from cloud.domain.recall.schemas import (
    AcknowledgementIn,
    Impact,
    ImpactUnit,
    Notice,
    NoticeIn,
    Progress,
    RecallCloseIn,
    RecallIn,
    RecallOut,
    RecallScope,
    Recipient,
    RecipientOut,
    SnapshotCheck,
)
from cloud.domain.recall.scope import affected_units, check_scope
from cloud.domain.recall.snapshot import RecipientLine, UnitLine, snapshot_hash
from cloud.domain.shipments.models import Shipment, ShipmentItem
from cloud.domain.signatures.dispositions import all_checkpoints
from cloud.domain.signatures.meanings import RECALL_CLOSE_MEANINGS
from cloud.domain.signatures.services import SignatureService, sign, signatures_of
from cloud.domain.trace.expand import PlacedUnit
from cloud.domain.trace.labels import udi_text
from cloud.domain.trace.services import recall_number, signature_out, stage_of
from cloud.mqtt.commands import CommandPublisher, queue_command
from cloud.settings import Settings
from protocols import commands
from protocols.ids import uuid7
from protocols.parts import UnitRef


class _Shipped(msgspec.Struct):
    class _Recipient(msgspec.Struct):
        country_code: str = ""
        region: str | None = None

    recipient: _Recipient | None = None


_shipped = msgspec.json.Decoder(_Shipped)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _recall_id(number: str) -> int:
    digits = number.removeprefix("R")
    if not digits.isdigit():
        raise NotFoundError("recall", "number", number)
    return int(digits)


async def compute_impact(
    session: AsyncSession, scope: RecallScope
) -> tuple[list[PlacedUnit], list[tuple[int, Recipient]], Impact]:
    """The affected end units and the impact summary, from one query plus a region lookup."""
    started = time.perf_counter()
    units = await affected_units(session, scope)
    query_ms = _ms(started)
    places = await shipment_places(session, {u.shipment_id for u in units if u.shipment_id})
    recipients = impacts.recipients(units, places)
    listed = [r for _, r in recipients]
    return (
        units,
        recipients,
        Impact(
            unit_count=len(units),
            by_stage=impacts.by_stage(units),
            containers=impacts.containers(units),
            recipients=listed,
            by_region=impacts.by_region(listed),
            query_ms=query_ms,
        ),
    )


async def shipment_places(
    session: AsyncSession, shipment_ids: set[int]
) -> dict[int, tuple[str, str]]:
    """(country, region) of each shipment: its customer's, or the shipping event's recipient."""
    if not shipment_ids:
        return {}
    ids = sorted(shipment_ids)
    places: dict[int, tuple[str, str]] = {}
    rows = await session.execute(
        select(Shipment.id, Customer.country, Customer.region)
        .join(Customer, Customer.id == Shipment.customer_id)
        .where(Shipment.id.in_(ids))
    )
    for shipment_id, country, region in rows:
        places[shipment_id] = (country, region)
    unknown = [i for i in ids if i not in places]
    if unknown:
        events = await session.execute(
            select(ShipmentItem.shipment_id, Event.payload)
            .join(Event, Event.event_id == ShipmentItem.event_id)
            .where(ShipmentItem.shipment_id.in_(unknown))
        )
        for shipment_id, payload in events:
            recipient = _shipped.decode(payload.encode("utf-8")).recipient
            if recipient is not None and shipment_id not in places:
                places[shipment_id] = (recipient.country_code, recipient.region or "")
    return places


def _unit_line(u: PlacedUnit) -> UnitLine:
    return (
        u.id,
        u.di,
        u.serial,
        u.lot,
        u.status,
        u.container,
        u.outer_container,
        u.shipment_id,
    )


def _recipient_line(shipment_id: int, r: Recipient) -> RecipientLine:
    return (
        shipment_id,
        r.shipment,
        r.name,
        r.address,
        r.country,
        r.region,
        r.ship_date.isoformat() if r.ship_date else None,
        r.quantity,
    )


class RecallService:
    def __init__(
        self,
        db: Database,
        signatures: SignatureService,
        publisher: CommandPublisher,
        settings: Settings,
    ) -> None:
        self.db = db
        self.signatures = signatures
        self.publisher = publisher
        self.settings = settings

    async def preview(self, scope: RecallScope) -> Impact:
        """The impact of a scope, without recording anything."""
        check_scope(scope)
        async with self.db.sessions() as session:
            return (await compute_impact(session, scope))[2]

    async def create(self, principal: Principal, data: RecallIn) -> RecallOut:
        check_scope(data.scope)
        timings: dict[str, float] = {}
        total = time.perf_counter()
        queued = 0
        async with self.db.sessions.begin() as session:
            started = time.perf_counter()
            units, recipients, impact = await compute_impact(session, data.scope)
            timings["scope_and_impact"] = _ms(started)
            started = time.perf_counter()
            recall = Recall(
                mode=data.mode,
                title=data.title,
                reason=data.reason,
                scope=msgspec.to_builtins(data.scope),
                created_by=principal.name,
            )
            session.add(recall)
            await session.flush()
            number = recall_number(recall.id)
            recipient_lines = await _freeze(session, recall, units, recipients)
            recall.snapshot_hash = snapshot_hash(
                number=number,
                scope=recall.scope,
                units=[_unit_line(u) for u in units],
                recipients=recipient_lines,
            )
            recall.unit_count, recall.recipient_count = len(units), len(impact.recipients)
            timings["snapshot"] = _ms(started)
            started = time.perf_counter()
            holds = await _holds_needed(session, units)
            if data.mode == "recall":
                queued = await self._quarantine(session, principal, recall, number, holds)
                await _hold_units(session, units)
                recall.holds_placed = len(holds)
            timings["quarantine"] = _ms(started)
            started = time.perf_counter()
            notices = [_notice(recall, number, r, i) for i, r in enumerate(impact.recipients)]
            timings["notices"] = _ms(started)
            timings["total"] = _ms(total)
            recall.timings_ms = {**timings, "notices_prepared": float(len(notices))}
        if queued:
            self.publisher.wake()
        return await self.get(number, commands_queued=queued)

    async def _quarantine(
        self,
        session: AsyncSession,
        principal: Principal,
        recall: Recall,
        number: str,
        holds: Sequence[tuple[str, str, str | None, str | None, int | None]],
    ) -> int:
        """Hold the in-house units: rows, `cmd/hold` to every checkpoint, status `held`."""
        now = utc_now()
        checkpoints = await all_checkpoints(session)
        queued = 0
        for scope, di, serial, lot, unit_id in holds:
            hold = Hold(
                scope=scope,
                di=di,
                serial=serial,
                lot=lot,
                unit_id=unit_id,
                reasons=[{"code": "recall", "text": f"{number}: {recall.title}"}],
                source="cloud",
                placed_by=principal.name,
                placed_at=now,
            )
            session.add(hold)
            await session.flush()
            command = commands.Hold(
                command_id=uuid7(),
                issued_at=now,
                issued_by=principal.name,
                hold_id=hold_number(hold.id),
                scope=commands.HoldScope(units=(UnitRef(di=di, serial=serial, lot=lot),))
                if scope == "unit"
                else commands.HoldScope(lots=(commands.LotRef(di=di, lot=lot or ""),)),
                reason=f"recall {number}: {recall.title}",
            )
            for site, line, checkpoint in checkpoints:
                queue_command(
                    session,
                    command,
                    site=site,
                    line=line,
                    checkpoint=checkpoint,
                    prefix=self.settings.topic_prefix,
                )
                queued += 1
        return queued

    async def list_recalls(self) -> list[RecallOut]:
        async with self.db.sessions() as session:
            ids = (await session.scalars(select(Recall.id).order_by(Recall.id))).all()
        return [await self.get(recall_number(i)) for i in ids]

    async def get(self, number: str, *, commands_queued: int = 0) -> RecallOut:
        async with self.db.sessions() as session:
            recall = await _recall(session, number)
            stages = (
                await session.execute(
                    select(RecallUnit.status, func.count())
                    .where(RecallUnit.recall_id == recall.id)
                    .group_by(RecallUnit.status)
                )
            ).all()
            progress = await _progress(session, recall)
            signed = await signatures_of(session, "recall", [str(recall.id)])
        by_stage: Counter[str] = Counter()
        for status, count in stages:
            by_stage[stage_of(status)] += count
        return RecallOut(
            number=recall_number(recall.id),
            mode=recall.mode,
            title=recall.title,
            reason=recall.reason,
            scope=msgspec.convert(recall.scope, RecallScope),
            status=recall.status,
            unit_count=recall.unit_count,
            by_stage=dict(sorted(by_stage.items())),
            recipient_count=recall.recipient_count,
            holds_placed=recall.holds_placed,
            commands_queued=commands_queued,
            snapshot_hash=recall.snapshot_hash,
            timings_ms=recall.timings_ms,
            created_at=recall.created_at,
            created_by=recall.created_by,
            closed_at=recall.closed_at,
            closed_by=recall.closed_by,
            progress=progress,
            signatures=[signature_out(s) for s in signed.get(str(recall.id), [])],
        )

    async def units(self, number: str) -> list[ImpactUnit]:
        """The frozen list of affected units, as they stood when the recall was made."""
        async with self.db.sessions() as session:
            recall = await _recall(session, number)
            rows = (
                await session.execute(
                    select(RecallUnit, Shipment.number)
                    .outerjoin(Shipment, Shipment.id == RecallUnit.shipment_id)
                    .where(RecallUnit.recall_id == recall.id)
                    .order_by(RecallUnit.unit_id)
                )
            ).all()
        return [
            ImpactUnit(
                unit_id=u.unit_id,
                udi=udi_text(u.di, serial=u.serial, lot=u.lot),
                di=u.di,
                serial=u.serial,
                lot=u.lot,
                status=u.status,
                stage=stage_of(u.status),
                container=u.container,
                outer_container=u.outer_container,
                shipment=shipment,
            )
            for u, shipment in rows
        ]

    async def recipients(self, number: str) -> list[RecipientOut]:
        """The frozen recipient list with each recipient's UDIs."""
        async with self.db.sessions() as session:
            recall = await _recall(session, number)
            rows = (
                await session.scalars(
                    select(RecallRecipient)
                    .where(RecallRecipient.recall_id == recall.id)
                    .order_by(RecallRecipient.id)
                )
            ).all()
            units = (
                await session.execute(
                    select(RecallUnit.shipment_id, RecallUnit.di, RecallUnit.serial, RecallUnit.lot)
                    .where(RecallUnit.recall_id == recall.id, RecallUnit.shipment_id.is_not(None))
                    .order_by(RecallUnit.unit_id)
                )
            ).all()
        udis: dict[int, list[str]] = {}
        for shipment_id, di, serial, lot in units:
            if shipment_id is not None:
                udis.setdefault(shipment_id, []).append(udi_text(di, serial=serial, lot=lot))
        return [
            msgspec.structs.replace(recipient_out(r), udis=sorted(udis.get(r.shipment_id, [])))
            for r in rows
        ]

    async def verify(self, number: str) -> SnapshotCheck:
        async with self.db.sessions() as session:
            recall = await _recall(session, number)
            units = (
                await session.scalars(select(RecallUnit).where(RecallUnit.recall_id == recall.id))
            ).all()
            recipients = (
                await session.scalars(
                    select(RecallRecipient).where(RecallRecipient.recall_id == recall.id)
                )
            ).all()
        computed = snapshot_hash(
            number=number,
            scope=recall.scope,
            units=[
                (
                    u.unit_id,
                    u.di,
                    u.serial,
                    u.lot,
                    u.status,
                    u.container,
                    u.outer_container,
                    u.shipment_id,
                )
                for u in units
            ],
            recipients=[
                (
                    r.shipment_id,
                    r.shipment_number,
                    r.name,
                    r.address,
                    r.country,
                    r.region,
                    r.ship_date.isoformat() if r.ship_date else None,
                    r.quantity,
                )
                for r in recipients
            ],
        )
        return SnapshotCheck(
            number=number,
            recorded_hash=recall.snapshot_hash,
            computed_hash=computed,
            intact=computed == recall.snapshot_hash,
        )

    async def notify(self, principal: Principal, number: str, data: NoticeIn) -> list[Notice]:
        """Mark the recipients notified and return the notices to send (by mail, by fax...)."""
        now = utc_now()
        async with self.db.sessions.begin() as session:
            recall = await _recall(session, number)
            _require_open(recall, number)
            if recall.mode == "mock":
                raise ConflictError(f"{number} is a mock recall: it notifies no one", field="mode")
            query = select(RecallRecipient).where(RecallRecipient.recall_id == recall.id)
            if data.recipients:
                query = query.where(RecallRecipient.id.in_(data.recipients))
            else:
                query = query.where(RecallRecipient.notice_sent_at.is_(None))
            chosen = (await session.scalars(query.order_by(RecallRecipient.id))).all()
            missing = set(data.recipients) - {r.id for r in chosen}
            if missing:
                raise NotFoundError("recipient", "recipient_id", sorted(missing)[0])
            for recipient in chosen:
                recipient.notice_sent_at = recipient.notice_sent_at or now
            notices = [
                _notice_for(recall, number, recipient, await _udis_of(session, recipient))
                for recipient in chosen
            ]
        return notices

    async def acknowledge(
        self, number: str, recipient_id: int, data: AcknowledgementIn
    ) -> RecipientOut:
        async with self.db.sessions.begin() as session:
            recall = await _recall(session, number)
            _require_open(recall, number)
            recipient = await session.get(RecallRecipient, recipient_id)
            if recipient is None or recipient.recall_id != recall.id:
                raise NotFoundError("recipient", "recipient_id", recipient_id)
            if recipient.notice_sent_at is None:
                raise ConflictError(
                    f"recipient {recipient_id} of {number} was not notified yet",
                    field="recipient_id",
                )
            recipient.acknowledged_at = recipient.acknowledged_at or utc_now()
            recipient.acknowledged_by = data.acknowledged_by
            recipient.ack_note = data.note
        return recipient_out(recipient)

    async def close(self, principal: Principal, number: str, data: RecallCloseIn) -> RecallOut:
        signer = await self.signatures.signer(
            principal,
            data,
            meanings=RECALL_CLOSE_MEANINGS,
            role="quality",
            request=f"POST /api/recalls/{number}/close",
        )
        async with self.db.sessions.begin() as session:
            recall = await _recall(session, number)
            _require_open(recall, number)
            progress = await _progress(session, recall)
            recall.status, recall.closed_at, recall.closed_by = "closed", utc_now(), signer.username
            await sign(
                session,
                signer,
                meaning=data.meaning,
                reason=data.reason,
                record_type="recall",
                record_id=str(recall.id),
                content={
                    "number": number,
                    "title": recall.title,
                    "snapshot_hash": recall.snapshot_hash,
                    "progress": msgspec.to_builtins(progress),
                },
            )
        return await self.get(number)


def recipient_out(r: RecallRecipient) -> RecipientOut:
    return RecipientOut(
        recipient_id=r.id,
        shipment=r.shipment_number,
        name=r.name,
        address=r.address,
        country=r.country,
        region=r.region,
        ship_date=r.ship_date,
        quantity=r.quantity,
        notice_sent_at=r.notice_sent_at,
        acknowledged_at=r.acknowledged_at,
        acknowledged_by=r.acknowledged_by,
        ack_note=r.ack_note,
    )


def _require_open(recall: Recall, number: str) -> None:
    if recall.status != "open":
        raise ConflictError(f"{number} is closed: it can no longer be changed", field="number")


async def _recall(session: AsyncSession, number: str) -> Recall:
    recall = await session.get(Recall, _recall_id(number))
    if recall is None:
        raise NotFoundError("recall", "number", number)
    return recall


async def _freeze(
    session: AsyncSession,
    recall: Recall,
    units: Sequence[PlacedUnit],
    recipients: Sequence[tuple[int, Recipient]],
) -> list[RecipientLine]:
    if units:
        await session.execute(
            insert(RecallUnit),
            [
                {
                    "recall_id": recall.id,
                    "unit_id": u.id,
                    "di": u.di,
                    "serial": u.serial,
                    "lot": u.lot,
                    "status": u.status,
                    "container": u.container,
                    "outer_container": u.outer_container,
                    "shipment_id": u.shipment_id,
                }
                for u in units
            ],
        )
    lines = []
    for shipment_id, r in recipients:
        session.add(
            RecallRecipient(
                recall_id=recall.id,
                shipment_id=shipment_id,
                shipment_number=r.shipment,
                name=r.name,
                address=r.address,
                country=r.country,
                region=r.region,
                ship_date=r.ship_date,
                quantity=r.quantity,
            )
        )
        lines.append(_recipient_line(shipment_id, r))
    await session.flush()
    return lines


async def _holds_needed(
    session: AsyncSession, units: Sequence[PlacedUnit]
) -> list[tuple[str, str, str | None, str | None, int | None]]:
    """(scope, di, serial, lot, unit_id) of the holds for the in-house units: one per lot when
    every unit of the lot is affected, else one per unit."""
    in_house = [u for u in units if impacts.in_house(u)]
    affected: Counter[tuple[str, str | None]] = Counter((u.di, u.lot) for u in units)
    lots = sorted({(u.di, u.lot) for u in in_house if u.lot is not None}, key=str)
    whole: set[tuple[str, str | None]] = set()
    if lots:
        counts = await session.execute(
            select(Unit.di, Unit.lot, func.count())
            .where(tuple_(Unit.di, Unit.lot).in_(lots))
            .group_by(Unit.di, Unit.lot)
        )
        whole = {(di, lot) for di, lot, n in counts if affected[(di, lot)] == n}
    holds: list[tuple[str, str, str | None, str | None, int | None]] = [
        ("lot", di, None, lot, None) for di, lot in sorted(whole, key=str)
    ]
    holds += [("unit", u.di, u.serial, u.lot, u.id) for u in in_house if (u.di, u.lot) not in whole]
    return holds


async def _hold_units(session: AsyncSession, units: Sequence[PlacedUnit]) -> None:
    in_house = [u.id for u in units if impacts.in_house(u)]
    if in_house:
        await session.execute(
            update(Unit)
            .where(Unit.id.in_(in_house))
            .values(status="held", status_at=utc_now())
            .execution_options(synchronize_session=False)
        )


async def _progress(session: AsyncSession, recall: Recall) -> Progress:
    recipients = (
        await session.execute(
            select(
                func.count(),
                func.count(RecallRecipient.notice_sent_at),
                func.count(RecallRecipient.acknowledged_at),
            ).where(RecallRecipient.recall_id == recall.id)
        )
    ).one()
    shipped = select(RecallUnit.unit_id).where(
        RecallUnit.recall_id == recall.id, RecallUnit.status == "shipped"
    )
    in_house = select(RecallUnit.unit_id).where(
        RecallUnit.recall_id == recall.id, RecallUnit.status.in_(("in_process", "held", "in_stock"))
    )
    returned = await session.scalar(
        select(func.count())
        .select_from(Unit)
        .where(Unit.id.in_(shipped), Unit.status == "returned", Unit.status_at >= recall.created_at)
    )
    quarantined = await session.scalar(
        select(func.count()).select_from(Unit).where(Unit.id.in_(in_house), Unit.status == "held")
    )
    shipped_count = await session.scalar(select(func.count()).select_from(shipped.subquery()))
    in_house_count = await session.scalar(select(func.count()).select_from(in_house.subquery()))
    total, notified, acknowledged = (int(x) for x in recipients)
    shipped_n, returned_n = int(shipped_count or 0), int(returned or 0)
    return Progress(
        recipients=total,
        notified=notified,
        acknowledged=acknowledged,
        effectiveness_pct=round(100 * acknowledged / total, 1) if total else 100.0,
        shipped_units=shipped_n,
        returned_units=returned_n,
        returned_pct=round(100 * returned_n / shipped_n, 1) if shipped_n else 100.0,
        in_house_units=int(in_house_count or 0),
        quarantined_units=int(quarantined or 0),
    )


async def _udis_of(session: AsyncSession, recipient: RecallRecipient) -> list[str]:
    rows = await session.execute(
        select(RecallUnit.di, RecallUnit.serial, RecallUnit.lot)
        .where(
            RecallUnit.recall_id == recipient.recall_id,
            RecallUnit.shipment_id == recipient.shipment_id,
        )
        .order_by(RecallUnit.unit_id)
    )
    return sorted(udi_text(di, serial=serial, lot=lot) for di, serial, lot in rows)


def _notice(recall: Recall, number: str, r: Recipient, index: int) -> Notice:
    return Notice(
        recipient_id=index,
        to=r.name,
        address=r.address,
        subject=f"Urgent medical device recall {number}: {recall.title}",
        body=_notice_body(recall, number, r.shipment, r.ship_date, r.udis),
    )


def _notice_for(recall: Recall, number: str, r: RecallRecipient, udis: list[str]) -> Notice:
    return Notice(
        recipient_id=r.id,
        to=r.name,
        address=r.address,
        subject=f"Urgent medical device recall {number}: {recall.title}",
        body=_notice_body(recall, number, r.shipment_number, r.ship_date, udis),
    )


def _notice_body(
    recall: Recall, number: str, shipment: str, ship_date: Any, udis: list[str]
) -> str:
    shipped = ship_date.isoformat() if ship_date else "an unknown date"
    lines = [
        f"Recall {number}: {recall.title}",
        f"Reason: {recall.reason}",
        f"Your shipment {shipment} of {shipped} contained {len(udis)} affected unit(s):",
        *(f"  {udi}" for udi in udis),
        "Stop using and quarantine these units, then confirm receipt of this notice.",
    ]
    return "\n".join(lines)
