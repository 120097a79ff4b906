"""Lots through the API: incoming inspection's verdict, and transformations.

A verdict changes the lot's `inspection_state`, is audited in the caller's name, and goes
to the edges as `cmd/lotinspection` (queued in the same transaction, like a hold), so
assembly can load an accepted lot and refuses a rejected one.

A transformation (split, merge, rework) done where no edge agent records it is recorded
as a `lot.transformed` event of the cloud's own device for that checkpoint
(`api-<checkpoint id>`, registered on first use), with its own `seq` and hash chain, and
stored through the same ingest as the edges' events: the genealogy is built from it like
from any other. It is audited in the caller's name.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.database import Database
from cloud.db.dialect import insert_for
from cloud.db.types import utc_now
from cloud.domain.audit.capture import SYSTEM, Change, record
from cloud.domain.audit.context import current_actor
from cloud.domain.errors import ConflictError, InvalidFieldError, NotFoundError
from cloud.domain.events.ingest import EventIngestService
from cloud.domain.events.models import Event as StoredEvent
from cloud.domain.events.validation import Incoming
from cloud.domain.genealogy.models import Lot
from cloud.domain.lots.schemas import (
    LotAmount,
    LotVerdictIn,
    LotVerdictOut,
    TransformIn,
    TransformOut,
)
from cloud.domain.plant.models import Checkpoint, Device, Line, Site
from cloud.domain.plant.queries import checkpoint_codes
from cloud.mqtt.commands import CommandPublisher, queue_command
from cloud.settings import Settings
from protocols.codec import encode_event, event_hash
from protocols.commands import LotInspection
from protocols.events import LotQuantity, LotTransformed
from protocols.ids import uuid7


class LotService:
    def __init__(
        self,
        db: Database,
        publisher: CommandPublisher,
        settings: Settings,
        events: EventIngestService,
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.settings = settings
        self.events = events
        # One API transformation at a time per process: each takes the next seq of its
        # device's chain.
        self._chain_lock = asyncio.Lock()

    async def verdict(
        self, di: str, lot: str, data: LotVerdictIn, *, accepted: bool
    ) -> LotVerdictOut:
        actor = current_actor() or SYSTEM
        state: Literal["accepted", "rejected"] = "accepted" if accepted else "rejected"
        now = dt.datetime.now(dt.UTC)
        async with self.db.sessions.begin() as session:
            row = await session.scalar(select(Lot).where(Lot.di == di, Lot.lot == lot))
            if row is None:
                raise NotFoundError("lot", "di/lot", f"{di}/{lot}")
            old = row.inspection_state
            row.inspection_state = state
            record(
                session,
                Change(
                    actor,
                    "update",
                    "lots",
                    str(row.id),
                    {"inspection_state": old},
                    {"inspection_state": state},
                    reason=data.reason or "",
                ),
            )
            command = LotInspection(
                command_id=uuid7(),
                issued_at=now,
                issued_by=actor.name[:128],
                di=di,
                lot=lot,
                state=state,
                signed_by=actor.name[:128],
                reason=data.reason,
            )
            targets = await checkpoint_codes(session, site=data.site, line=data.line)
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
        return LotVerdictOut(
            di=di,
            lot=lot,
            inspection_state=state,
            signed_by=actor.name,
            commands_queued=len(targets),
        )

    async def transform(self, data: TransformIn) -> TransformOut:
        check_transformation(data)
        actor = current_actor() or SYSTEM
        device_id = f"api-{data.checkpoint}"[:64]
        async with self._chain_lock:
            async with self.db.sessions.begin() as session:
                await _check_inputs_known(session, data.inputs)
                await _register_device(session, device_id, data)
                last = (
                    await session.execute(
                        select(StoredEvent.seq, StoredEvent.payload)
                        .where(StoredEvent.device_id == device_id)
                        .order_by(StoredEvent.seq.desc())
                        .limit(1)
                    )
                ).first()
            seq, prev_hash = (
                (1, "") if last is None else (last[0] + 1, event_hash(last[1].encode()))
            )
            event = LotTransformed(
                event_id=uuid7(),
                device_id=device_id,
                seq=seq,
                prev_hash=prev_hash,
                occurred_at=dt.datetime.now(dt.UTC),
                site=data.site,
                line=data.line,
                checkpoint=data.checkpoint,
                transformation=data.transformation,
                inputs=tuple(_wire(a) for a in data.inputs),
                outputs=tuple(_wire(a) for a in data.outputs),
                work_order=data.work_order,
            )
            payload = encode_event(event)
            result = await self.events.ingest(
                [Incoming(payload=payload, topic="", received_at=utc_now(), source="api")]
            )
        (outcome,) = result.outcomes
        if outcome.status != "stored":
            raise ConflictError(
                f"lot.transformed {event.event_id} was not stored: {outcome.code}"
                f" {outcome.reason or ''}".strip()
            )
        async with self.db.sessions.begin() as session:
            record(
                session,
                Change(
                    actor,
                    "create",
                    "lot_transformations",
                    str(event.event_id),
                    None,
                    {
                        "transformation": data.transformation,
                        "inputs": [
                            f"{a.di}/{a.lot} {a.quantity:g} {a.unit_of_measure}"
                            for a in data.inputs
                        ],
                        "outputs": [
                            f"{a.di}/{a.lot} {a.quantity:g} {a.unit_of_measure}"
                            for a in data.outputs
                        ],
                        "at": f"{data.site}/{data.line}/{data.checkpoint}",
                        "device_id": device_id,
                        "seq": seq,
                    },
                    reason=data.reason or "",
                ),
            )
        return TransformOut(
            event_id=event.event_id,
            device_id=device_id,
            seq=seq,
            transformation=data.transformation,
        )


def check_transformation(data: TransformIn) -> None:
    """The shape of a split, merge or rework (pure): raises `InvalidFieldError`."""
    inputs, outputs = data.inputs, data.outputs
    for field, amounts in (("inputs", inputs), ("outputs", outputs)):
        keys = [(a.di, a.lot) for a in amounts]
        if len(set(keys)) != len(keys):
            raise InvalidFieldError(field, "a lot is listed twice")
    both = {(a.di, a.lot) for a in inputs} & {(a.di, a.lot) for a in outputs}
    if both:
        di, lot = sorted(both)[0]
        raise InvalidFieldError("outputs", f"lot {di}/{lot} is also an input")
    if data.transformation == "split":
        if len(inputs) != 1 or len(outputs) < 2:
            raise InvalidFieldError(
                "outputs",
                f"a split takes one input into two or more outputs, got {len(inputs)}"
                f" input(s) and {len(outputs)} output(s)",
            )
        _same_material("outputs", inputs[0], outputs)
        _at_most("outputs", outputs, inputs)
    elif data.transformation == "merge":
        if len(inputs) < 2 or len(outputs) != 1:
            raise InvalidFieldError(
                "inputs",
                f"a merge takes two or more inputs into one output, got {len(inputs)}"
                f" input(s) and {len(outputs)} output(s)",
            )
        _same_material("inputs", outputs[0], inputs)
        _at_most("outputs", outputs, inputs)


def _same_material(field: str, reference: LotAmount, amounts: tuple[LotAmount, ...]) -> None:
    for amount in amounts:
        if (amount.di, amount.unit_of_measure) != (reference.di, reference.unit_of_measure):
            raise InvalidFieldError(
                field,
                f"expected {reference.di} in {reference.unit_of_measure} throughout, got"
                f" {amount.di} in {amount.unit_of_measure}",
            )


def _at_most(field: str, made: tuple[LotAmount, ...], used: tuple[LotAmount, ...]) -> None:
    out, went_in = sum(a.quantity for a in made), sum(a.quantity for a in used)
    if out > went_in * (1 + 1e-9):
        raise InvalidFieldError(field, f"outputs total {out:g}, more than the inputs' {went_in:g}")


async def _check_inputs_known(session: AsyncSession, inputs: tuple[LotAmount, ...]) -> None:
    known: dict[str, set[str]] = defaultdict(set)
    rows = await session.execute(select(Lot.di, Lot.lot).where(Lot.di.in_({a.di for a in inputs})))
    for di, lot in rows:
        known[di].add(lot)
    for index, amount in enumerate(inputs):
        if amount.lot not in known[amount.di]:
            raise InvalidFieldError(
                f"inputs[{index}]", f"lot {amount.di}/{amount.lot} is not known to the cloud"
            )


async def _register_device(session: AsyncSession, device_id: str, data: TransformIn) -> None:
    checkpoint_id = await session.scalar(
        select(Checkpoint.id)
        .join(Line, Checkpoint.line_id == Line.id)
        .join(Site, Line.site_id == Site.id)
        .where(Site.code == data.site, Line.code == data.line, Checkpoint.code == data.checkpoint)
    )
    if checkpoint_id is None:
        raise InvalidFieldError(
            "checkpoint", f"no checkpoint {data.site}/{data.line}/{data.checkpoint}"
        )
    bound = await session.scalar(select(Device.checkpoint_id).where(Device.device_id == device_id))
    if bound is None:
        await session.execute(
            insert_for(session, Device)
            .values(
                device_id=device_id,
                checkpoint_id=checkpoint_id,
                registered_by="api",
                registered_at=utc_now(),
            )
            .on_conflict_do_nothing()
        )
    elif bound != checkpoint_id:
        raise ConflictError(
            f"device {device_id} records another checkpoint's transformations; name the"
            " checkpoint it is bound to"
        )


def _wire(amount: LotAmount) -> LotQuantity:
    return LotQuantity(
        di=amount.di,
        lot=amount.lot,
        quantity=amount.quantity,
        unit_of_measure=amount.unit_of_measure,
    )
