"""Dispositions of held units and lots, each with an electronic signature.

release: the hold closes, its units go back into process, and (for holds
placed from the cloud) `cmd/release` tells the edges to let them pass.
scrap: the hold closes, its units are scrapped. rework: the hold closes, its
units go back into process for rework. quarantine: the hold stays open and its
units stay held. The disposition, its signature and the hold's change commit
together, with their audit rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.database import Database
from cloud.db.types import utc_now
from cloud.domain.auth.principal import Principal
from cloud.domain.errors import ConflictError, NotFoundError
from cloud.domain.genealogy.models import Unit, unit_ident
from cloud.domain.holds.models import Disposition, Hold
from cloud.domain.holds.services import hold_number
from cloud.domain.plant.models import Checkpoint, Line, Site
from cloud.domain.signatures.meanings import DISPOSITION_MEANINGS
from cloud.domain.signatures.schemas import DispositionIn, DispositionResult
from cloud.domain.signatures.services import SignatureService, sign
from cloud.domain.trace.schemas import DispositionOut, HoldSummary
from cloud.domain.trace.services import hold_summaries, signature_out
from cloud.mqtt.commands import CommandPublisher, queue_command
from cloud.settings import Settings
from protocols import commands
from protocols.ids import uuid7

UNIT_STATUS_AFTER = {
    "release": "in_process",
    "scrap": "scrapped",
    "rework": "in_process",
    "quarantine": "held",
}


def hold_content(hold: Hold) -> dict[str, Any]:
    """The held record as it stood when the disposition was signed."""
    return {
        "hold_id": hold_number(hold.id),
        "scope": hold.scope,
        "di": hold.di,
        "serial": hold.serial,
        "lot": hold.lot,
        "reasons": hold.reasons,
        "source": hold.source,
        "event_id": hold.event_id,
        "placed_by": hold.placed_by,
        "placed_at": hold.placed_at,
    }


async def find_hold(session: AsyncSession, hold_id: str) -> Hold:
    number = hold_id.removeprefix("H")
    hold = await session.get(Hold, int(number)) if number.isdigit() else None
    if hold is None:
        raise NotFoundError("hold", "hold_id", hold_id)
    return hold


class DispositionService:
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

    async def list(self, hold_id: str) -> HoldSummary:
        async with self.db.sessions() as session:
            hold = await find_hold(session, hold_id)
            return (await hold_summaries(session, [hold]))[0]

    async def decide(
        self, principal: Principal, hold_id: str, data: DispositionIn
    ) -> DispositionResult:
        request = f"POST /api/holds/{hold_id}/dispositions"
        signer = await self.signatures.signer(
            principal,
            data,
            meanings=DISPOSITION_MEANINGS[data.decision],
            role="quality",
            request=request,
        )
        now = utc_now()
        async with self.db.sessions.begin() as session:
            hold = await find_hold(session, hold_id)
            if hold.status != "open":
                raise ConflictError(
                    f"hold {hold_number(hold.id)} was closed at {hold.closed_at}: "
                    "it takes no further disposition",
                    field="hold_id",
                )
            disposition = Disposition(
                hold_id=hold.id,
                decision=data.decision,
                reason=data.reason,
                decided_by=signer.username,
                decided_at=now,
            )
            session.add(disposition)
            await session.flush()
            signature = await sign(
                session,
                signer,
                meaning=data.meaning,
                reason=data.reason,
                record_type="disposition",
                record_id=str(disposition.id),
                content={"hold": hold_content(hold), "decision": data.decision},
            )
            if data.decision != "quarantine":
                hold.status, hold.closed_at = "closed", now
            changed = await _set_units(session, hold, UNIT_STATUS_AFTER[data.decision], now)
            queued = 0
            if data.decision == "release" and hold.source == "cloud":
                command = commands.Release(
                    command_id=uuid7(),
                    issued_at=now,
                    issued_by=signer.username,
                    hold_id=hold_number(hold.id),
                    signed_by=signer.username,
                    reason=data.reason,
                )
                for site, line, checkpoint in await all_checkpoints(session):
                    queue_command(
                        session,
                        command,
                        site=site,
                        line=line,
                        checkpoint=checkpoint,
                        prefix=self.settings.topic_prefix,
                    )
                    queued += 1
            summary = (await hold_summaries(session, [hold]))[0]
        if queued:
            self.publisher.wake()
        return DispositionResult(
            hold=summary,
            disposition=DispositionOut(
                disposition_id=disposition.id,
                decision=disposition.decision,
                reason=disposition.reason,
                decided_by=disposition.decided_by,
                decided_at=disposition.decided_at,
                signature=signature_out(signature),
            ),
            units_changed=changed,
            commands_queued=queued,
        )


async def _set_units(session: AsyncSession, hold: Hold, status: str, at: Any) -> int:
    """Move the hold's units to `status`; only units still held (a shipped one stays shipped)."""
    target: Any
    if hold.scope == "lot":
        target = and_(Unit.di == hold.di, Unit.lot == hold.lot)
    elif hold.unit_id is not None:
        target = Unit.id == hold.unit_id
    else:  # held before the unit was first seen
        target = and_(
            Unit.di == hold.di, Unit.ident == unit_ident(serial=hold.serial, lot=hold.lot)
        )
    current = ("held",) if status != "held" else ("held", "in_process", "in_stock")
    done: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(Unit)
        .where(target, Unit.status.in_(current))
        .values(status=status, status_at=at)
        .execution_options(synchronize_session=False)
    )
    return int(done.rowcount or 0)


async def all_checkpoints(session: AsyncSession) -> Sequence[tuple[str, str, str]]:
    rows = await session.execute(
        select(Site.code, Line.code, Checkpoint.code)
        .join(Line, Line.site_id == Site.id)
        .join(Checkpoint, Checkpoint.line_id == Line.id)
        .order_by(Site.code, Line.code, Checkpoint.code)
    )
    return [(s, ln, c) for s, ln, c in rows.all()]
