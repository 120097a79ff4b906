"""Recall notices to consignees: what they received, why, and what to do."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.domain.recall.models import Recall, RecallRecipient, RecallUnit
from cloud.domain.recall.schemas import Notice, Recipient
from cloud.domain.trace.labels import udi_text


async def udis_of(session: AsyncSession, recipient: RecallRecipient) -> list[str]:
    rows = await session.execute(
        select(RecallUnit.di, RecallUnit.serial, RecallUnit.lot)
        .where(
            RecallUnit.recall_id == recipient.recall_id,
            RecallUnit.shipment_id == recipient.shipment_id,
        )
        .order_by(RecallUnit.unit_id)
    )
    return sorted(udi_text(di, serial=serial, lot=lot) for di, serial, lot in rows)


def notice_draft(recall: Recall, number: str, r: Recipient, index: int) -> Notice:
    return Notice(
        recipient_id=index,
        to=r.name,
        address=r.address,
        subject=f"Urgent medical device recall {number}: {recall.title}",
        body=_body(recall, number, r.shipment, r.ship_date, r.udis),
    )


def notice_for(recall: Recall, number: str, r: RecallRecipient, udis: list[str]) -> Notice:
    return Notice(
        recipient_id=r.id,
        to=r.name,
        address=r.address,
        subject=f"Urgent medical device recall {number}: {recall.title}",
        body=_body(recall, number, r.shipment_number, r.ship_date, udis),
    )


def _body(recall: Recall, number: str, shipment: str, ship_date: Any, udis: list[str]) -> str:
    shipped = ship_date.isoformat() if ship_date else "an unknown date"
    lines = [
        f"Recall {number}: {recall.title}",
        f"Reason: {recall.reason}",
        f"Your shipment {shipment} of {shipped} contained {len(udis)} affected unit(s):",
        *(f"  {udi}" for udi in udis),
        "Stop using and quarantine these units, then confirm receipt of this notice.",
    ]
    return "\n".join(lines)
