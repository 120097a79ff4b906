"""Turn newly stored events into units, lots, genealogy, containment, shipments, holds.

Runs inside the ingest's transaction, only for events inserted by it (never for
duplicates), so every table here is derived from the event table exactly once.
Trace and recall (the next layer) read these tables; they never parse events.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db import bulk
from cloud.db.base import Base
from cloud.db.dialect import is_postgres
from cloud.domain.genealogy import current, lineage
from cloud.domain.genealogy.models import unit_ident
from cloud.domain.genealogy.things import Resolved, Sightings, UnitKey, UnitSighting, resolve
from cloud.domain.shipments.models import Shipment
from protocols.events import (
    ContainerShipped,
    Event,
    LotReceived,
    LotTransformed,
    UnitAssembled,
    UnitInspected,
    UnitPacked,
    UnitReceived,
    UnitUnpacked,
)
from protocols.parts import ContainerRef, LotQuantity, Party, UnitRef


@dataclass(slots=True)
class NewEvent:
    """An event this transaction inserted, with the checkpoint its device is bound to.

    Not frozen: one per ingested event, and a frozen dataclass costs four times as much
    to build (cloud.domain.events.validation.Incoming)."""

    event: Event
    checkpoint_id: int


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _sighting(ref: UnitRef, at: datetime, **more: Any) -> UnitSighting:
    return UnitSighting(di=ref.di, serial=ref.serial, lot=ref.lot, seen_at=at, **more)


_UNIT_EVENT_COLUMNS = ("unit_id", "event_id", "kind", "role", "occurred_at", "checkpoint_id")
_MEASUREMENT_COLUMNS = (
    "unit_id",
    "checkpoint_id",
    "parameter",
    "value",
    "uom",
    "low",
    "high",
    "age_ms",
    "measured_at",
    "event_id",
)


@dataclass(slots=True)
class _Rows:
    # Tuples in the column orders above: several rows per event, built by the thousand.
    unit_events: dict[tuple[int, uuid.UUID], tuple[Any, ...]] = field(default_factory=dict)
    measurements: list[tuple[Any, ...]] = field(default_factory=list)
    holds: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    moved_units: set[int] = field(default_factory=set)
    """Units packed or unpacked: their current container is worked out again."""

    def unit_event(self, unit_id: int, item: NewEvent, role: str) -> None:
        event = item.event
        key = (unit_id, event.event_id)
        if key not in self.unit_events:
            self.unit_events[key] = (
                unit_id,
                event.event_id,
                event.kind,
                role,
                event.occurred_at,
                item.checkpoint_id,
            )


async def materialise(session: AsyncSession, items: Sequence[NewEvent]) -> None:
    """Apply `items` (in order of occurrence) to the derived tables."""
    ordered = sorted(items, key=lambda item: item.event.occurred_at)
    sightings = Sightings()
    for item in ordered:
        _collect(item, sightings)
    resolved = await resolve(session, sightings)
    rows = _Rows()
    for item in ordered:
        await _apply(session, item, resolved, rows)
    await _append(session, "unit_events", _UNIT_EVENT_COLUMNS, list(rows.unit_events.values()))
    await _append(session, "measurements", _MEASUREMENT_COLUMNS, rows.measurements)
    if rows.holds:
        await session.execute(insert(_table("holds")), rows.holds)
    if rows.edges:
        await session.execute(insert(_table("genealogy_edges")), rows.edges)
    await current.mark_consumed(
        session, {e["child_id"] for e in rows.edges if e["child_kind"] == "unit"}
    )
    await current.place(session, rows.moved_units)


async def _append(
    session: AsyncSession, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Rows that cannot conflict (they belong to events inserted in this transaction)."""
    if not rows:
        return
    if is_postgres(session):
        await bulk.copy_rows(session, table, columns, rows)
    else:
        await session.execute(
            insert(_table(table)), [dict(zip(columns, row, strict=True)) for row in rows]
        )


def _collect(item: NewEvent, s: Sightings) -> None:
    """First pass: every unit, lot and container the event names, and the unit status it implies."""
    event, at = item.event, item.event.occurred_at
    if (
        isinstance(event, UnitInspected)
        and event.udi is not None
        and (event.udi.serial or event.udi.lot)
    ):
        udi = event.udi
        s.unit(
            UnitSighting(
                di=udi.di,
                serial=udi.serial,
                lot=udi.lot,
                seen_at=at,
                expiry=udi.expiry,
                production_date=udi.production_date,
                work_order=event.work_order,
                status="held" if event.decision == "hold" else "in_process",
                status_at=at,
                checkpoint_id=item.checkpoint_id,
            )
        )
    elif isinstance(event, LotReceived):
        s.receipt(
            event.di,
            event.lot,
            at,
            expiry=event.expiry,
            quantity=event.quantity,
            uom=event.unit_of_measure,
            supplier=event.supplier,
            inspection_state=event.inspection_state,
        )
    elif isinstance(event, UnitAssembled):
        s.unit(
            _sighting(
                event.parent,
                at,
                work_order=event.work_order,
                status="in_process",
                status_at=at,
                checkpoint_id=item.checkpoint_id,
            )
        )
        for component in event.components:
            if isinstance(component, UnitRef):
                s.unit(_sighting(component, at))
            else:
                s.lot(component.di, component.lot, at)
    elif isinstance(event, LotTransformed):
        for quantity in (*event.inputs, *event.outputs):
            s.lot(quantity.di, quantity.lot, at)
    elif isinstance(event, UnitPacked | UnitUnpacked):
        status = "in_stock" if isinstance(event, UnitPacked) else "in_process"
        s.container(event.container, at)
        if event.parent_container is not None:
            s.container(event.parent_container, at)
        for child in event.children:
            if isinstance(child, UnitRef):
                s.unit(_sighting(child, at, status=status, status_at=at))
            else:
                s.container(child.sscc, at)
    elif isinstance(event, ContainerShipped):
        for sscc in event.containers:
            s.container(sscc, at)
    elif isinstance(event, UnitReceived):
        for received in event.items:
            if isinstance(received, UnitRef):
                s.unit(_sighting(received, at, status="returned", status_at=at))
            else:
                s.container(received.sscc, at)


async def _apply(session: AsyncSession, item: NewEvent, r: Resolved, rows: _Rows) -> None:
    event = item.event
    if isinstance(event, UnitInspected):
        _apply_inspected(item, event, r, rows)
    elif isinstance(event, UnitAssembled):
        parent = r.units[_sighting(event.parent, event.occurred_at).key]
        rows.unit_event(parent, item, "parent")
        for component in event.components:
            if isinstance(component, UnitRef):
                child = ("unit", r.units[_sighting(component, event.occurred_at).key])
                rows.unit_event(child[1], item, "component")
                await _edge(session, rows, item, ("unit", parent), child, None, "")
            else:
                child = ("lot", r.lots[(component.di, component.lot)])
                await _edge(
                    session,
                    rows,
                    item,
                    ("unit", parent),
                    child,
                    component.quantity,
                    component.unit_of_measure,
                )
    elif isinstance(event, LotTransformed):
        for output in event.outputs:
            for source in event.inputs:
                quantity = _transferred(source, output, event)
                await _edge(
                    session,
                    rows,
                    item,
                    ("lot", r.lots[(output.di, output.lot)]),
                    ("lot", r.lots[(source.di, source.lot)]),
                    quantity,
                    source.unit_of_measure,
                )
    elif isinstance(event, UnitPacked | UnitUnpacked):
        await _apply_packing(session, item, event, r, rows)
    elif isinstance(event, ContainerShipped):
        await _apply_shipped(session, item, event, r, rows)
    elif isinstance(event, UnitReceived):
        await _apply_received(session, item, event, r, rows)


def _apply_inspected(item: NewEvent, event: UnitInspected, r: Resolved, rows: _Rows) -> None:
    udi = event.udi
    if udi is None or not (udi.serial or udi.lot):
        return  # an unidentified unit: the event is kept, there is no unit to attach it to
    unit_id = r.units[(udi.di, unit_ident(serial=udi.serial, lot=udi.lot))]
    rows.unit_event(unit_id, item, "subject")
    seen: set[str] = set()
    at = event.occurred_at
    for sample in event.parameters:
        # A parameter named twice keeps its first value (the key is unit, event, parameter).
        if sample.value is None or sample.name in seen:
            continue
        seen.add(sample.name)
        rows.measurements.append(
            (
                unit_id,
                item.checkpoint_id,
                sample.name,
                sample.value,
                sample.unit,
                sample.lo,
                sample.hi,
                sample.age_ms,
                at - timedelta(milliseconds=sample.age_ms),
                event.event_id,
            )
        )
    if event.decision == "hold":
        rows.holds.append(
            {
                "scope": "unit",
                "di": udi.di,
                "serial": udi.serial,
                "lot": udi.lot,
                "unit_id": unit_id,
                "lot_id": None,
                "reasons": [{"code": reason.code, "text": reason.text} for reason in event.reasons],
                "source": "edge",
                "event_id": event.event_id,
                "checkpoint_id": item.checkpoint_id,
                "placed_by": event.device_id,
                "status": "open",
                "placed_at": event.occurred_at,
                "closed_at": None,
            }
        )


def _transferred(source: LotQuantity, output: LotQuantity, event: LotTransformed) -> float | None:
    """How much of `source` went into `output`, when the event says so unambiguously."""
    if len(event.outputs) == 1:
        return source.quantity
    if len(event.inputs) == 1:
        return output.quantity
    return None


async def _edge(
    session: AsyncSession,
    rows: _Rows,
    item: NewEvent,
    parent: tuple[str, int],
    child: tuple[str, int],
    quantity: float | None,
    uom: str,
) -> None:
    rows.edges.append(
        {
            "parent_kind": parent[0],
            "parent_id": parent[1],
            "child_kind": child[0],
            "child_id": child[1],
            "quantity": quantity,
            "uom": uom,
            "event_id": item.event.event_id,
            "occurred_at": item.event.occurred_at,
        }
    )
    await lineage.link(session, child=child, parent=parent)


async def _apply_packing(
    session: AsyncSession,
    item: NewEvent,
    event: UnitPacked | UnitUnpacked,
    r: Resolved,
    rows: _Rows,
) -> None:
    container_id = r.containers[event.container]
    moves: list[tuple[str, int, int]] = []
    for child in event.children:
        if isinstance(child, UnitRef):
            unit_id = r.units[_sighting(child, event.occurred_at).key]
            rows.unit_event(
                unit_id, item, "packed" if isinstance(event, UnitPacked) else "unpacked"
            )
            moves.append(("unit", unit_id, container_id))
            rows.moved_units.add(unit_id)
        else:
            moves.append(("container", r.containers[child.sscc], container_id))
    if isinstance(event, UnitPacked) and event.parent_container is not None:
        # A pack names where its container sits; an unpack's parent_container only says
        # where the container was when the children left it, and moves nothing.
        moves.append(("container", container_id, r.containers[event.parent_container]))
    for kind, child_id, into in moves:
        if isinstance(event, UnitPacked):
            await _pack(session, kind, child_id, into, event)
        else:
            await _unpack(session, kind, child_id, into, event)


def _containment(kind: str, child_id: int, container_id: int) -> Any:
    table = _table("containment")
    return and_(
        table.c.child_kind == kind,
        table.c.child_id == child_id,
        table.c.container_id == container_id,
    )


async def _pack(
    session: AsyncSession, kind: str, child_id: int, into: int, event: UnitPacked
) -> None:
    table = _table("containment")
    at = event.occurred_at
    # An unpack that arrived first left a row with no start: this pack is its start.
    done: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(table)
        .where(
            _containment(kind, child_id, into),
            table.c.packed_at.is_(None),
            table.c.unpacked_at >= at,
        )
        .values(packed_at=at, pack_event_id=event.event_id)
    )
    if done.rowcount == 0:
        await session.execute(
            insert(table).values(
                child_kind=kind,
                child_id=child_id,
                container_id=into,
                packed_at=at,
                pack_event_id=event.event_id,
            )
        )


async def _unpack(
    session: AsyncSession, kind: str, child_id: int, out_of: int, event: UnitUnpacked
) -> None:
    table = _table("containment")
    at = event.occurred_at
    done: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
        update(table)
        .where(
            _containment(kind, child_id, out_of),
            table.c.unpacked_at.is_(None),
            table.c.packed_at <= at,
        )
        .values(unpacked_at=at, unpack_event_id=event.event_id)
    )
    if done.rowcount == 0:
        await session.execute(
            insert(table).values(
                child_kind=kind,
                child_id=child_id,
                container_id=out_of,
                unpacked_at=at,
                unpack_event_id=event.event_id,
            )
        )


def _address(party: Party) -> str:
    return "\n".join(
        (*party.address_lines, *([party.region] if party.region else []), party.country_code)
    )


async def _apply_shipped(
    session: AsyncSession, item: NewEvent, event: ContainerShipped, r: Resolved, rows: _Rows
) -> None:
    at = event.occurred_at
    shipment = await session.scalar(select(Shipment).where(Shipment.number == event.shipment_id))
    if shipment is None:
        shipment = Shipment(number=event.shipment_id, created_at=at)
        session.add(shipment)
    shipment.order_ref = event.order
    shipment.recipient_name = event.recipient.name
    shipment.recipient_address = _address(event.recipient)
    shipment.status = "shipped"
    shipment.shipped_at = at
    shipment.ship_date = at.date()
    await session.flush()
    container_ids = [r.containers[sscc] for sscc in event.containers]
    items = _table("shipment_items")
    planned = set(
        (
            await session.scalars(
                select(items.c.container_id).where(
                    items.c.shipment_id == shipment.id,
                    items.c.container_id.in_(container_ids),
                    items.c.event_id.is_(None),
                )
            )
        ).all()
    )
    if planned:
        await session.execute(
            update(items)
            .where(items.c.shipment_id == shipment.id, items.c.container_id.in_(planned))
            .values(event_id=event.event_id)
        )
    unplanned = [cid for cid in dict.fromkeys(container_ids) if cid not in planned]
    if unplanned:
        await session.execute(
            insert(items),
            [
                {
                    "shipment_id": shipment.id,
                    "container_id": cid,
                    "quantity": 1,
                    "event_id": event.event_id,
                }
                for cid in unplanned
            ],
        )
    unit_ids = await lineage.units_inside(session, container_ids, at=at)
    await _set_status(session, unit_ids, "shipped", at)
    for unit_id in unit_ids:
        rows.unit_event(unit_id, item, "shipped")


async def _apply_received(
    session: AsyncSession, item: NewEvent, event: UnitReceived, r: Resolved, rows: _Rows
) -> None:
    at = event.occurred_at
    containers = [r.containers[x.sscc] for x in event.items if isinstance(x, ContainerRef)]
    inside = await lineage.units_inside(session, containers, at=at)
    await _set_status(session, inside, "returned", at)
    direct: list[UnitKey] = [_sighting(x, at).key for x in event.items if isinstance(x, UnitRef)]
    for unit_id in [*inside, *(r.units[key] for key in direct)]:
        rows.unit_event(unit_id, item, "received")


async def _set_status(
    session: AsyncSession, unit_ids: Sequence[int], status: str, at: datetime
) -> None:
    if not unit_ids:
        return
    units = _table("units")
    await session.execute(
        update(units)
        .where(units.c.id.in_(unit_ids), units.c.status_at <= at)
        .values(status=status, status_at=at)
    )
