"""Trace: a unit's device history record, what went into it, where a lot or a unit went."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.database import Database
from cloud.domain.errors import NotFoundError
from cloud.domain.genealogy.models import Lot, Unit
from cloud.domain.holds.models import Disposition, Hold
from cloud.domain.holds.services import hold_number
from cloud.domain.quality.models import NonconformanceHold
from cloud.domain.signatures.models import Signature
from cloud.domain.trace import sql
from cloud.domain.trace.expand import (
    Box,
    PlacedUnit,
    Seeds,
    placement_of,
    units_from,
)
from cloud.domain.trace.gc_pause import collector_paused
from cloud.domain.trace.identify import parse_unit_id
from cloud.domain.trace.labels import instance_uri, udi_text, udi_texts
from cloud.domain.trace.schemas import (
    BackwardTrace,
    DispositionOut,
    EdgeOut,
    ForwardTrace,
    ForwardUnit,
    HistoryEvent,
    HoldSummary,
    MeasurementOut,
    NodeOut,
    Placement,
    ReasonOut,
    SignatureOut,
    Stage,
    UnitHistory,
    UnitIdentity,
)

_STAGES: dict[str, Stage] = {
    "in_process": "in_process",
    "held": "in_process",
    "in_stock": "in_stock",
    "shipped": "shipped",
    "returned": "returned",
    "scrapped": "scrapped",
}


def stage_of(status: str, *, consumed: bool = False) -> Stage:
    """In process (held units too), in stock, shipped, returned, scrapped, or consumed."""
    return "consumed" if consumed else _STAGES.get(status, "in_process")


class _Decision(msgspec.Struct):
    decision: str | None = None
    reasons: list[ReasonOut] = []


_decision = msgspec.json.Decoder(_Decision)


def recall_number(recall_id: int) -> str:
    return f"R{recall_id}"


def signature_out(signature: Signature) -> SignatureOut:
    return SignatureOut(
        signature_id=signature.id,
        printed_name=signature.printed_name,
        username=signature.username,
        meaning=signature.meaning,
        reason=signature.reason,
        signed_at=signature.signed_at,
        content_hash=signature.content_hash,
    )


def measurement_out(row: Any) -> MeasurementOut:
    low, high, value = row.low, row.high, float(row.value)
    return MeasurementOut(
        checkpoint=row.checkpoint,
        parameter=row.parameter,
        value=value,
        uom=row.uom,
        low=low,
        high=high,
        in_limits=(low is None or value >= low) and (high is None or value <= high),
        measured_at=row.measured_at,
        event_id=row.event_id,
    )


def forward_unit(unit: PlacedUnit, *, udi: str | None = None) -> ForwardUnit:
    """`udi`: the unit's UDI text if already written out (`udi_texts`)."""
    box = unit.box
    return ForwardUnit(
        unit_id=unit.id,
        di=unit.di,
        serial=unit.serial,
        lot=unit.lot,
        udi=udi if udi is not None else udi_text(unit.di, serial=unit.serial, lot=unit.lot),
        status=unit.status,
        stage=stage_of(unit.status, consumed=unit.consumed),
        container=box.container if box else None,
        outer_container=box.outer_container if box else None,
        shipment=box.shipment if box else None,
        recipient_name=box.recipient_name if box else None,
        recipient_address=box.recipient_address if box else None,
        ship_date=box.ship_date if box else None,
    )


class TraceService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def find_unit(self, session: AsyncSession, unit_id: str) -> UnitIdentity:
        """The unit a UDI (or DI:serial) names, with its product: one indexed lookup."""
        key = parse_unit_id(unit_id)
        row = (await session.execute(sql.UNIT_BY_KEY, {"di": key.di, "ident": key.ident})).first()
        if row is None:
            raise NotFoundError("unit", "unit_id", unit_id)
        return identity_of(row)

    async def history(self, unit_id: str) -> UnitHistory:
        """The device history record: identity, every event in time order, parameters,
        decisions, holds with their signed dispositions, place, shipments, recalls."""
        async with self.db.sessions() as session:
            identity = await self.find_unit(session, unit_id)
            params = {"unit_id": identity.unit_id}
            events = [_history_event(r) for r in await session.execute(sql.UNIT_HISTORY, params)]
            measurements = [
                measurement_out(r) for r in await session.execute(sql.UNIT_MEASUREMENTS, params)
            ]
            placement = _placement(await placement_of(session, identity.unit_id))
            neighbours = (await session.execute(sql.NEIGHBOURS, params)).all()
            shipments = [r.number for r in await session.execute(sql.UNIT_SHIPMENTS, params)]
            recalls = [recall_number(r.id) for r in await session.execute(sql.UNIT_RECALLS, params)]
            holds = await holds_of(session, identity)
        return UnitHistory(
            unit=identity,
            placement=placement,
            events=events,
            measurements=measurements,
            holds=holds,
            components=[_neighbour(r) for r in neighbours if r.direction == "component"],
            used_in=[_neighbour(r) for r in neighbours if r.direction == "used_in"],
            shipments=list(dict.fromkeys(shipments)),
            recalls=recalls,
        )

    async def backward(self, unit_id: str) -> BackwardTrace:
        """Everything that went into the unit, at every level, down to supplier lots."""
        key = parse_unit_id(unit_id)
        async with self.db.sessions() as session:
            rows = (
                await session.execute(
                    sql.BACKWARD_UNIT_AND_MEASUREMENTS, {"di": key.di, "ident": key.ident}
                )
            ).all()
            if not rows:
                raise NotFoundError("unit", "unit_id", unit_id)
            identity = identity_of(rows[0])
            edges = (await session.execute(sql.BACKWARD_EDGES, {"unit_id": identity.unit_id})).all()
        measured = [row for row in rows if row.unit_id is not None]
        return backward_trace(identity, edges, measured)

    async def forward_from_lot(self, di: str, lot: str) -> ForwardTrace:
        """Every unit that contains the lot at any level (and the units of the lot itself)."""
        async with self.db.sessions() as session:
            seeds = await lot_seeds(session, di, [lot])
            units = await units_from(session, seeds, end_units_only=False)
        return _forward(f"lot {di}/{lot}", units)

    async def forward_from_unit(self, unit_id: str) -> ForwardTrace:
        """Every unit the component unit went into, at any level."""
        async with self.db.sessions() as session:
            unit = await self.find_unit(session, unit_id)
            seeds = Seeds(units=(unit.unit_id,), include_units=False)
            units = await units_from(session, seeds, end_units_only=False)
        return _forward(unit.udi, units)


async def lot_seeds(session: AsyncSession, di: str, lots: Sequence[str]) -> Seeds:
    """The lot rows of (di, lots) and the units carrying those lots: where a trace starts."""
    rows = await session.execute(
        union_all(
            select(literal("lot"), Lot.id).where(Lot.di == di, Lot.lot.in_(lots)),
            select(literal("unit"), Unit.id).where(Unit.di == di, Unit.lot.in_(lots)),
        )
    )
    found = rows.all()
    return Seeds(
        lots=tuple(i for kind, i in found if kind == "lot"),
        units=tuple(i for kind, i in found if kind == "unit"),
    )


def _forward(origin: str, placed: Sequence[PlacedUnit]) -> ForwardTrace:
    with collector_paused():
        units = [forward_unit(u, udi=t) for u, t in zip(placed, udi_texts(placed), strict=True)]
        stages = Counter(u.stage for u in units)
        return ForwardTrace(origin=origin, units=units, by_stage=dict(sorted(stages.items())))


def backward_trace(
    identity: UnitIdentity, edges: Sequence[Any], measured: Sequence[Any]
) -> BackwardTrace:
    """Nodes with their depth below the unit (a breadth-first walk of the edges, in memory)."""
    root = f"unit:{identity.unit_id}"
    children: dict[str, list[str]] = {}
    nodes: dict[str, dict[str, Any]] = {}
    edge_list: list[EdgeOut] = []
    for e in edges:
        parent, child = f"{e.parent_kind}:{e.parent_id}", f"{e.child_kind}:{e.child_id}"
        children.setdefault(parent, []).append(child)
        edge_list.append(
            EdgeOut(
                parent=parent,
                child=child,
                quantity=e.quantity,
                uom=e.uom,
                event_id=e.event_id,
                occurred_at=e.occurred_at,
            )
        )
        if e.child_kind == "unit":
            nodes[child] = {
                "kind": "unit",
                "di": e.unit_di,
                "serial": e.unit_serial,
                "lot": e.unit_lot,
                "status": e.unit_status,
                "work_order": e.unit_work_order,
            }
        else:
            nodes[child] = {
                "kind": "lot",
                "di": e.lot_di,
                "lot": e.lot_lot,
                "supplier": e.lot_supplier or None,
                "received_at": e.lot_received_at,
            }
    depth = {root: 0}
    queue = deque([root])
    while queue:
        key = queue.popleft()
        for child in children.get(key, ()):
            if child not in depth:
                depth[child] = depth[key] + 1
                queue.append(child)
    by_unit: dict[int, list[MeasurementOut]] = {}
    for row in measured:
        by_unit.setdefault(row.unit_id, []).append(measurement_out(row))
    out = [
        NodeOut(
            key=key,
            depth=depth.get(key, 0),
            measurements=by_unit.get(int(key.split(":")[1]), []) if key.startswith("unit:") else [],
            **fields,
        )
        for key, fields in sorted(nodes.items(), key=lambda item: (depth.get(item[0], 0), item[0]))
    ]
    supplier_lots = [n.key for n in out if n.kind == "lot" and n.key not in children]
    return BackwardTrace(
        unit=identity,
        measurements=by_unit.get(identity.unit_id, []),
        nodes=out,
        edges=edge_list,
        supplier_lots=supplier_lots,
    )


def identity_of(row: Any) -> UnitIdentity:
    return UnitIdentity(
        unit_id=row.id,
        di=row.di,
        serial=row.serial,
        lot=row.lot,
        udi=udi_text(row.di, serial=row.serial, lot=row.lot),
        digital_link=instance_uri(row.di, serial=row.serial, lot=row.lot),
        expiry=row.expiry,
        production_date=row.production_date,
        work_order=row.work_order,
        product=row.product,
        status=row.status,
        status_at=row.status_at,
        first_seen_at=row.first_seen_at,
    )


def _history_event(row: Any) -> HistoryEvent:
    payload = row.payload.encode("utf-8")
    decided = _decision.decode(payload) if row.kind == "unit.inspected" else _Decision()
    return HistoryEvent(
        event_id=row.event_id,
        kind=row.kind,
        role=row.role,
        occurred_at=row.occurred_at,
        site=row.site,
        line=row.line,
        checkpoint=row.checkpoint,
        device_id=row.device_id,
        seq=row.seq,
        decision=decided.decision,
        reasons=decided.reasons,
        payload=msgspec.Raw(payload),
    )


def _placement(row: Box | None) -> Placement:
    return Placement(
        container=row.container if row else None,
        outer_container=row.outer_container if row else None,
        shipment=row.shipment if row else None,
        recipient_name=row.recipient_name if row else None,
        recipient_address=row.recipient_address if row else None,
        ship_date=row.ship_date if row else None,
    )


def _neighbour(row: Any) -> NodeOut:
    return NodeOut(
        key=f"{row.kind}:{row.id}",
        kind=row.kind,
        di=row.di,
        serial=row.serial,
        lot=row.lot,
        depth=1,
        supplier=row.supplier or None,
        status=row.status,
    )


async def holds_of(session: AsyncSession, unit: UnitIdentity) -> list[HoldSummary]:
    """Holds on the unit, or on its lot, with their dispositions and signatures."""
    on_lot = (Hold.scope == "lot") & (Hold.di == unit.di) & (Hold.lot == unit.lot)
    holds = (
        await session.scalars(
            select(Hold).where(or_(Hold.unit_id == unit.unit_id, on_lot)).order_by(Hold.id)
        )
    ).all()
    return await hold_summaries(session, holds)


async def hold_summaries(session: AsyncSession, holds: Sequence[Hold]) -> list[HoldSummary]:
    ids = [h.id for h in holds]
    if not ids:
        return []
    dispositions = (
        await session.scalars(
            select(Disposition).where(Disposition.hold_id.in_(ids)).order_by(Disposition.id)
        )
    ).all()
    signatures = {
        s.record_id: s
        for s in (
            await session.scalars(
                select(Signature).where(
                    Signature.record_type == "disposition",
                    Signature.record_id.in_([str(d.id) for d in dispositions]),
                )
            )
        ).all()
    }
    links = (
        await session.execute(
            select(NonconformanceHold.hold_id, NonconformanceHold.nonconformance_id).where(
                NonconformanceHold.hold_id.in_(ids)
            )
        )
    ).all()
    by_hold: dict[int, list[DispositionOut]] = {}
    for d in dispositions:
        signature = signatures.get(str(d.id))
        by_hold.setdefault(d.hold_id, []).append(
            DispositionOut(
                disposition_id=d.id,
                decision=d.decision,
                reason=d.reason,
                decided_by=d.decided_by,
                decided_at=d.decided_at,
                signature=signature_out(signature) if signature else None,
            )
        )
    ncs: dict[int, list[str]] = {}
    for hold_id, nc_id in links:
        ncs.setdefault(hold_id, []).append(f"NC{nc_id}")
    return [
        HoldSummary(
            hold_id=hold_number(h.id),
            scope=h.scope,
            source=h.source,
            status=h.status,
            reasons=[ReasonOut(code=r["code"], text=r.get("text", "")) for r in h.reasons],
            placed_by=h.placed_by,
            placed_at=h.placed_at,
            closed_at=h.closed_at,
            dispositions=by_hold.get(h.id, []),
            nonconformances=sorted(ncs.get(h.id, [])),
        )
        for h in holds
    ]
