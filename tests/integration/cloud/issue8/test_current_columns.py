"""The columns trace and recall read instead of working a unit's place out per query
(`units.consumed`, `units.container_id`, `lineage.descendant_end`) say what the genealogy
edges and the containment rows say, whatever order the events arrive in, and migration 8a02
fills them in the same way from rows ingested before it. On PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from alembic import command
from cloud_helpers import Device, lot_qty, sscc, unit
from issue8_scenario import Story
from sqlalchemy import text

from cloud.db.database import Database
from cloud.db.engine import create_engine
from cloud.db.migrate import alembic_config
from cloud.domain.events.ingest import EventIngestService, IngestOptions
from cloud.domain.events.validation import Incoming
from cloud.domain.recall.queries import compute_impact
from cloud.domain.recall.schemas import LotScope, RecallScope
from cloud.domain.trace.services import TraceService
from protocols.parts import ContainerRef

PREFIX = "tg/v1"
COMPONENT = "09506000134369"
CONNECTOR = "09506000134376"


async def send(db: Database, device: Device, *payloads: bytes) -> None:
    ingest = EventIngestService(db, IngestOptions(topic_prefix=PREFIX))
    now = dt.datetime.now(dt.UTC)
    result = await ingest.ingest([Incoming(p, device.topic(PREFIX), now, "mqtt") for p in payloads])
    assert [o.status for o in result.outcomes] == ["stored"] * len(payloads), result.outcomes


async def rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    async with db.sessions() as session:
        return [tuple(r) for r in await session.execute(text(sql))]


async def kept(db: Database) -> dict[str, Any]:
    """The columns as ingest (or the migration) left them."""
    units = await rows(db, "SELECT ident, consumed, container_id FROM units")
    lineage = await rows(
        db,
        "SELECT ancestor_kind, ancestor_id, descendant_kind, descendant_id, descendant_end "
        "FROM lineage",
    )
    return {
        "consumed": {ident: bool(c) for ident, c, _ in units},
        "container": {ident: box for ident, _, box in units},
        "end": {(a, ai, d, di): bool(end) for a, ai, d, di, end in lineage},
    }


async def worked_out(db: Database) -> dict[str, Any]:
    """The same, worked out here from the genealogy edges and the containment rows."""
    units = dict(await rows(db, "SELECT id, ident FROM units"))
    children = {
        (kind, child)
        for kind, child in await rows(db, "SELECT child_kind, child_id FROM genealogy_edges")
    }
    open_rows: dict[int, tuple[Any, ...]] = {}
    for row_id, child, container, packed_at in await rows(
        db,
        "SELECT id, child_id, container_id, packed_at FROM containment "
        "WHERE child_kind = 'unit' AND packed_at IS NOT NULL AND unpacked_at IS NULL",
    ):
        # The open row packed last (the later row if two were packed at the same instant).
        if child not in open_rows or (str(packed_at), row_id) > open_rows[child][:2]:
            open_rows[child] = (str(packed_at), row_id, container)
    lineage = await rows(
        db, "SELECT ancestor_kind, ancestor_id, descendant_kind, descendant_id FROM lineage"
    )
    return {
        "consumed": {ident: ("unit", i) in children for i, ident in units.items()},
        "container": {
            ident: open_rows[i][2] if i in open_rows else None for i, ident in units.items()
        },
        "end": {
            (a, ai, d, di): d == "unit" and ("unit", di) not in children for a, ai, d, di in lineage
        },
    }


async def container_ids(db: Database) -> dict[str, int]:
    return dict(await rows(db, "SELECT sscc, id FROM containers"))


ASSEMBLIES = ("catheter", "kit", "tray")


@pytest.mark.parametrize("order", list(itertools.permutations(ASSEMBLIES)), ids="-".join)
async def test_end_units_stay_current_whatever_order_the_assemblies_arrive_in(
    db: Database, plant: dict[str, Device], order: tuple[str, ...]
) -> None:
    assembly = plant["assembly"]
    # Tube lot -> catheter SN1 -> kit KIT1 (with a connector lot) -> tray TRAY1.
    events = {
        "catheter": assembly.assembled(unit("SN1"), (lot_qty("TUBE-B", 2, di=COMPONENT),))[1],
        "kit": assembly.assembled(
            unit("KIT1", lot="K1"), (unit("SN1"), lot_qty("CONN-1", 1, di=CONNECTOR))
        )[1],
        "tray": assembly.assembled(unit("TRAY1", lot="T1"), (unit("KIT1", lot="K1"),))[1],
    }
    for name in order:
        await send(db, assembly, events[name])
        assert await kept(db) == await worked_out(db), f"after {name}"

    state = await kept(db)
    assert state["consumed"] == {"S:SN1": True, "S:KIT1": True, "S:TRAY1": False}
    tray_id = dict(await rows(db, "SELECT ident, id FROM units"))["S:TRAY1"]
    assert {row for row, end in state["end"].items() if end} == {
        row for row in state["end"] if row[2:] == ("unit", tray_id)
    }
    assert sum(state["end"].values()) == 4  # the tube lot, the connector lot, SN1, KIT1

    async with db.sessions() as session:
        affected, _, impact = await compute_impact(
            session, RecallScope(lots=[LotScope(di=COMPONENT, lots=["TUBE-B"])])
        )
    assert [u.serial for u in affected] == ["TRAY1"]
    assert impact.unit_count == 1
    forward = await TraceService(db).forward_from_lot(COMPONENT, "TUBE-B")
    assert {u.serial: u.stage for u in forward.units} == {
        "SN1": "consumed",
        "KIT1": "consumed",
        "TRAY1": "in_process",
    }


PACKINGS = {
    "in time order": ("pack case 1", "unpack case 1", "pack case 2", "pallet"),
    "backwards": ("pallet", "pack case 2", "unpack case 1", "pack case 1"),
    "unpack first": ("unpack case 1", "pack case 2", "pack case 1", "pallet"),
}


@pytest.mark.parametrize("order", list(PACKINGS.values()), ids=list(PACKINGS))
async def test_the_current_container_follows_packing_unpacking_and_repacking(
    db: Database, plant: dict[str, Device], order: tuple[str, ...]
) -> None:
    packing = plant["packing"]
    case1, case2, pallet = sscc(1), sscc(2), sscc(9)
    events = {
        "pack case 1": packing.packed(case1, (unit("SN1"), unit("SN2")))[1],
        "unpack case 1": packing.unpacked(case1, (unit("SN1"),))[1],
        "pack case 2": packing.packed(case2, (unit("SN1"),))[1],
        "pallet": packing.packed(pallet, (ContainerRef(sscc=case2),))[1],
    }
    for name in order:
        await send(db, packing, events[name])
        assert await kept(db) == await worked_out(db), f"after {name}"

    boxes = await container_ids(db)
    assert (await kept(db))["container"] == {"S:SN1": boxes[case2], "S:SN2": boxes[case1]}
    history = await TraceService(db).history(f"{unit('SN1').di}:SN1")
    assert history.placement.container == case2


async def _migrate(url: str, revision: str, *, down: bool) -> None:
    engine = create_engine(url)
    step = command.downgrade if down else command.upgrade
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: step(alembic_config(sync), revision))
    finally:
        await engine.dispose()


async def test_the_migration_fills_the_columns_as_ingest_keeps_them(
    db: Database, database_url: str, story: Story
) -> None:
    """Rows ingested before revision 8a02 (the columns dropped) get the same values from it."""
    ingested = await kept(db)
    assert any(ingested["consumed"].values())
    assert any(c is not None for c in ingested["container"].values())
    assert any(ingested["end"].values())
    await db.close()
    try:
        await _migrate(database_url, "8a01", down=True)
    finally:
        await _migrate(database_url, "head", down=False)
    migrated = Database.connect(database_url)
    try:
        assert await kept(migrated) == ingested
    finally:
        await migrated.close()
