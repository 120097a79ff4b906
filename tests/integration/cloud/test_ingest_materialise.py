"""What ingest derives from events, on PostgreSQL and SQLite: units, measurements, holds,
genealogy with its lineage closure, containment over time and shipments."""

from __future__ import annotations

import datetime as dt

from cloud_helpers import Device, lot_qty, sscc, unit
from sqlalchemy import select, text

from cloud.db.database import Database
from cloud.domain.customers.schemas import CustomerIn
from cloud.domain.customers.services import CustomerService
from cloud.domain.events.ingest import EventIngestService, IngestOptions
from cloud.domain.events.validation import Incoming
from cloud.domain.genealogy.models import Containment, Lot, Measurement, Unit, UnitEvent
from cloud.domain.holds.models import Hold
from cloud.domain.shipments.models import Shipment
from protocols.parts import ContainerRef

PREFIX = "tg/v1"


async def send(db: Database, device: Device, *payloads: bytes) -> None:
    ingest = EventIngestService(db, IngestOptions(topic_prefix=PREFIX))
    now = dt.datetime.now(dt.UTC)
    result = await ingest.ingest([Incoming(p, device.topic(PREFIX), now, "mqtt") for p in payloads])
    assert [o.status for o in result.outcomes] == ["stored"] * len(payloads), result.outcomes


async def units(db: Database) -> dict[str, Unit]:
    async with db.sessions() as session:
        return {u.ident: u for u in (await session.scalars(select(Unit))).all()}


async def ancestors(db: Database, kind: str, node_id: int) -> set[tuple[str, int]]:
    async with db.sessions() as session:
        rows = await session.execute(
            text(
                "SELECT ancestor_kind, ancestor_id FROM lineage "
                "WHERE descendant_kind = :kind AND descendant_id = :id"
            ),
            {"kind": kind, "id": node_id},
        )
        return {(k, i) for k, i in rows}


async def test_an_inspection_gives_a_unit_its_measurements_and_holds(
    db: Database, plant: dict[str, Device]
) -> None:
    sealing = plant["sealing"]
    passed, first = sealing.inspected("SN1", seal_temp=182.5)
    held, second = sealing.inspected("SN2", decision="hold", seal_temp=195.0)
    await send(db, sealing, first, second)

    found = await units(db)
    assert {k: (u.status, u.lot, u.work_order) for k, u in found.items()} == {
        "S:SN1": ("in_process", "A1B2C3", "WO-1"),
        "S:SN2": ("held", "A1B2C3", "WO-1"),
    }
    async with db.sessions() as session:
        hot = (
            await session.scalars(
                select(Measurement).where(
                    Measurement.parameter == "seal_temp", Measurement.value > 185
                )
            )
        ).all()
        (hold,) = (await session.scalars(select(Hold))).all()
        history = (await session.scalars(select(UnitEvent).order_by(UnitEvent.occurred_at))).all()
    assert [(m.unit_id, m.value, m.high) for m in hot] == [(found["S:SN2"].id, 195.0, 190.0)]
    assert hot[0].measured_at == held.occurred_at - dt.timedelta(milliseconds=12)
    assert (hold.scope, hold.serial, hold.source, hold.event_id, hold.status) == (
        "unit",
        "SN2",
        "edge",
        held.event_id,
        "open",
    )
    assert hold.reasons == [{"code": "param.out_of_limits", "text": "seal_temp 195 > 190"}]
    assert [(e.event_id, e.role) for e in history] == [
        (passed.event_id, "subject"),
        (held.event_id, "subject"),
    ]


async def test_an_older_event_arriving_late_does_not_overwrite_the_status(
    db: Database, plant: dict[str, Device]
) -> None:
    sealing, packing = plant["sealing"], plant["packing"]
    _, inspected = sealing.inspected("SN1")
    _, packed = packing.packed(sscc(1), (unit("SN1"),))
    await send(db, packing, packed)
    await send(db, sealing, inspected)
    assert (await units(db))["S:SN1"].status == "in_stock"


async def test_lineage_links_every_level_even_when_assembly_arrives_out_of_order(
    db: Database, plant: dict[str, Device]
) -> None:
    receiving, assembly = plant["receiving"], plant["assembly"]
    _, received = receiving.lot_received("TUBE-A")
    _, split = receiving.transformed(
        (lot_qty("TUBE-A", 1000),), (lot_qty("TUBE-B", 600), lot_qty("TUBE-C", 400))
    )
    # The catheter SN1 is made from lot TUBE-B; the kit KIT1 from SN1 and a connector lot.
    _, catheter = assembly.assembled(unit("SN1"), (lot_qty("TUBE-B", 2),))
    _, kit = assembly.assembled(
        unit("KIT1", lot="K1"), (unit("SN1"), lot_qty("CONN-1", 1, di="09506000134376"))
    )
    await send(db, receiving, received, split)
    await send(db, assembly, kit)  # the kit's event first ...
    await send(db, assembly, catheter)  # ... then that of the catheter inside it

    found = await units(db)
    async with db.sessions() as session:
        lots = {lot.lot: lot for lot in (await session.scalars(select(Lot))).all()}
    assert lots["TUBE-A"].supplier == "Tubing Ltd"
    assert lots["TUBE-A"].quantity == 1000
    kit_id, sn1_id = found["S:KIT1"].id, found["S:SN1"].id
    assert await ancestors(db, "unit", kit_id) == {
        ("unit", sn1_id),
        ("lot", lots["TUBE-B"].id),
        ("lot", lots["TUBE-A"].id),
        ("lot", lots["CONN-1"].id),
    }
    assert await ancestors(db, "lot", lots["TUBE-C"].id) == {("lot", lots["TUBE-A"].id)}
    async with db.sessions() as session:
        edges = (
            await session.execute(
                text(
                    "SELECT parent_kind, child_kind, quantity FROM genealogy_edges "
                    "ORDER BY parent_kind, child_kind, quantity"
                )
            )
        ).all()
    assert [tuple(e) for e in edges] == [
        ("lot", "lot", 400.0),
        ("lot", "lot", 600.0),
        ("unit", "lot", 1.0),
        ("unit", "lot", 2.0),
        ("unit", "unit", None),
    ]


async def test_packing_shipping_and_returns(db: Database, plant: dict[str, Device]) -> None:
    packing, shipping = plant["packing"], plant["shipping"]
    case_1, case_2, pallet = sscc(1), sscc(2), sscc(3)
    await CustomerService(db).create(
        CustomerIn(code="C1", name="St. Elsewhere Hospital", country="US")
    )
    events = [
        packing.packed(case_1, (unit("SN1"), unit("SN2"))),
        packing.packed(case_2, (unit("SN3"),)),
        packing.unpacked(case_1, (unit("SN2"),)),
        packing.packed(case_2, (unit("SN2"),)),
        packing.packed(pallet, (ContainerRef(sscc=case_1),)),
    ]
    await send(db, packing, *(data for _, data in events))
    _, shipped = shipping.shipped("SHP-1", (pallet,))
    await send(db, shipping, shipped)

    found = await units(db)
    assert {k: u.status for k, u in found.items()} == {
        "S:SN1": "shipped",  # in case 1, on the shipped pallet
        "S:SN2": "in_stock",  # moved from case 1 to case 2 before shipping
        "S:SN3": "in_stock",
    }
    async with db.sessions() as session:
        shipment = await session.scalar(select(Shipment))
        open_rows = (
            await session.scalars(
                select(Containment).where(
                    Containment.child_kind == "unit", Containment.unpacked_at.is_(None)
                )
            )
        ).all()
    assert shipment is not None
    assert (shipment.number, shipment.status, shipment.recipient_name, shipment.order_ref) == (
        "SHP-1",
        "shipped",
        "St. Elsewhere Hospital",
        "SO-1",
    )
    assert shipment.recipient_address == "1 Main St\nBoston MA 02118\nMA\nUS"
    assert len(open_rows) == 3

    _, returned = shipping.received((unit("SN1"),))
    await send(db, shipping, returned)
    assert (await units(db))["S:SN1"].status == "returned"


async def test_an_unpack_arriving_before_its_pack_completes_one_row(
    db: Database, plant: dict[str, Device]
) -> None:
    packing = plant["packing"]
    _, packed = packing.packed(sscc(7), (unit("SN1"),))
    _, unpacked = packing.unpacked(sscc(7), (unit("SN1"),))
    await send(db, packing, unpacked)
    await send(db, packing, packed)
    async with db.sessions() as session:
        rows = (await session.scalars(select(Containment))).all()
    assert len(rows) == 1
    assert rows[0].packed_at is not None and rows[0].unpacked_at is not None
    assert rows[0].packed_at < rows[0].unpacked_at


async def test_a_unit_taken_out_of_a_case_leaves_the_case_on_its_pallet(
    db: Database, plant: dict[str, Device]
) -> None:
    # An unpack's parent_container says where the case sits; it moves nothing itself.
    packing = plant["packing"]
    case, pallet = sscc(11), sscc(12)
    events = [
        packing.packed(case, (unit("SN1"), unit("SN2"))),
        packing.packed(pallet, (ContainerRef(sscc=case),)),
        packing.unpacked(case, (unit("SN2"),), parent=pallet),
    ]
    await send(db, packing, *(payload for _, payload in events))
    async with db.sessions() as session:
        still_in = (
            await session.execute(
                select(Containment.child_kind, Containment.child_id).where(
                    Containment.unpacked_at.is_(None)
                )
            )
        ).all()
    kinds = sorted(kind for kind, _ in still_in)
    assert kinds == ["container", "unit"]  # the case on its pallet, SN1 in its case
