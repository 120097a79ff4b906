"""Recalls: scope to impact in one query, a frozen and hashed snapshot, in-house units held
at the line over MQTT (`cmd/hold`), notices, acknowledgements, returns and effectiveness.

A mock recall runs every step the same way and records how long each took, but
places no hold, sends nothing to the line and notifies no one.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence

import msgspec
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.database import Database
from cloud.db.types import utc_now
from cloud.domain.auth.principal import Principal
from cloud.domain.errors import ConflictError, NotFoundError
from cloud.domain.holds.models import Hold
from cloud.domain.holds.services import hold_number
from cloud.domain.recall.models import Recall, RecallRecipient, RecallUnit
from cloud.domain.recall.notices import notice_draft, notice_for, udis_of
from cloud.domain.recall.progress import progress_of
from cloud.domain.recall.quarantine import HoldPlan, hold_units, holds_needed
from cloud.domain.recall.queries import compute_impact, elapsed_ms
from cloud.domain.recall.schemas import (
    AcknowledgementIn,
    Impact,
    ImpactUnit,
    Notice,
    NoticeIn,
    RecallCloseIn,
    RecallIn,
    RecallOut,
    RecallScope,
    Recipient,
    RecipientOut,
    SnapshotCheck,
)
from cloud.domain.recall.scope import check_scope
from cloud.domain.recall.snapshot import RecipientLine, UnitLine, snapshot_hash
from cloud.domain.shipments.models import Shipment
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


def _recall_id(number: str) -> int:
    digits = number.removeprefix("R")
    if not digits.isdigit():
        raise NotFoundError("recall", "number", number)
    return int(digits)


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
            timings["scope_and_impact"] = elapsed_ms(started)
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
            timings["snapshot"] = elapsed_ms(started)
            started = time.perf_counter()
            holds = await holds_needed(session, units)
            if data.mode == "recall":
                queued = await self._quarantine(session, principal, recall, number, holds)
                await hold_units(session, units)
                recall.holds_placed = len(holds)
            timings["quarantine"] = elapsed_ms(started)
            started = time.perf_counter()
            notices = [notice_draft(recall, number, r, i) for i, r in enumerate(impact.recipients)]
            timings["notices"] = elapsed_ms(started)
            timings["total"] = elapsed_ms(total)
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
        holds: Sequence[HoldPlan],
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
            progress = await progress_of(session, recall)
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
                notice_for(recall, number, recipient, await udis_of(session, recipient))
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
            progress = await progress_of(session, recall)
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
