"""A scope's impact from the database: the affected end units, their recipients' regions."""

from __future__ import annotations

import time
from collections.abc import Sequence

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.domain.events.models import Event
from cloud.domain.recall import impact as impacts
from cloud.domain.recall.schemas import Impact, RecallScope, Recipient
from cloud.domain.recall.scope import affected_units
from cloud.domain.shipments.models import ShipmentItem
from cloud.domain.trace.expand import PlacedUnit
from cloud.domain.trace.gc_pause import collector_paused


class _Shipped(msgspec.Struct):
    class _Recipient(msgspec.Struct):
        country_code: str = ""
        region: str | None = None

    recipient: _Recipient | None = None


_shipped = msgspec.json.Decoder(_Shipped)


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


async def compute_impact(
    session: AsyncSession, scope: RecallScope
) -> tuple[list[PlacedUnit], list[tuple[int, Recipient]], Impact]:
    """The affected end units and the impact summary, from one query plus a region lookup."""
    started = time.perf_counter()
    units = await affected_units(session, scope)
    query_ms = elapsed_ms(started)
    with collector_paused():
        boxed = impacts.by_container(units)
    places = await shipment_places(session, boxed)
    with collector_paused():
        recipients = impacts.recipients(boxed, places)
        listed = [r for _, r in recipients]
        impact = Impact(
            unit_count=len(units),
            by_stage=impacts.by_stage(units),
            containers=impacts.containers(boxed),
            recipients=listed,
            by_region=impacts.by_region(listed),
            query_ms=query_ms,
        )
    return units, recipients, impact


async def shipment_places(
    session: AsyncSession, boxed: Sequence[impacts.Boxed]
) -> dict[int, tuple[str, str]]:
    """(country, region) of each shipment: its customer's (read with the box), or the
    shipping event's recipient."""
    places: dict[int, tuple[str, str]] = {}
    for b in boxed:
        box = b.box
        if box.shipment_id is not None and box.customer_id is not None:
            places[box.shipment_id] = (box.customer_country or "", box.customer_region or "")
    unknown = sorted(impacts.shipment_ids(boxed) - places.keys())
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
