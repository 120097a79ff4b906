"""How far a recall has come: consignees notified and answering, units returned, in-house
units still held."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.domain.genealogy.models import Unit
from cloud.domain.recall.models import Recall, RecallRecipient, RecallUnit
from cloud.domain.recall.schemas import Progress


async def progress_of(session: AsyncSession, recall: Recall) -> Progress:
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
