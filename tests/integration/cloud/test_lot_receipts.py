"""A lot received in several cases (each scanned case its own `lot.received`), on PostgreSQL
and SQLite: the quantities add up once per event however often it is delivered, the first
and last receipt times are kept, and incoming inspection's verdict stands against a later
case's initial state unless that case was itself rejected."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from alembic import command
from cloud_helpers import COMPONENT_GTIN, Device, lot_qty, unit
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from cloud.db.database import Database
from cloud.db.engine import create_engine
from cloud.db.migrate import alembic_config
from cloud.domain.events.ingest import EventIngestService, IngestOptions
from cloud.domain.events.validation import Incoming
from cloud.domain.genealogy.models import Lot
from protocols.events import LotReceived

Client = AsyncTestClient[Litestar]
PREFIX = "tg/v1"
State = Literal["quarantined", "accepted", "rejected"]


def case(
    device: Device,
    lot: str,
    quantity: float,
    *,
    state: State = "quarantined",
    at: dt.datetime | None = None,
) -> tuple[LotReceived, bytes]:
    """One scanned case of `lot`, at `at` (the device's clock) if given."""
    if at is not None:
        device.clock_offset = at - dt.datetime.now(dt.UTC)
    event, payload = device.seal(
        LotReceived,
        di=COMPONENT_GTIN,
        lot=lot,
        quantity=quantity,
        unit_of_measure="m",
        supplier="Tubing Ltd",
        inspection_state=state,
    )
    device.clock_offset = dt.timedelta(0)
    assert isinstance(event, LotReceived)
    return event, payload


async def deliver(db: Database, device: Device, *payloads: bytes) -> list[str]:
    """One batch through the ingest, as the MQTT consumer hands it over; each outcome."""
    ingest = EventIngestService(db, IngestOptions(topic_prefix=PREFIX))
    now = dt.datetime.now(dt.UTC)
    result = await ingest.ingest([Incoming(p, device.topic(PREFIX), now, "mqtt") for p in payloads])
    return [o.status for o in result.outcomes]


async def lot_row(db: Database, lot: str) -> Lot:
    async with db.sessions() as session:
        row = await session.scalar(select(Lot).where(Lot.di == COMPONENT_GTIN, Lot.lot == lot))
    assert row is not None, f"no lot {lot}"
    return row


async def test_the_cases_of_a_lot_add_up_once_each_however_often_delivered(
    db: Database, plant: dict[str, Device]
) -> None:
    receiving = plant["receiving"]
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    first, one = case(receiving, "TUB-1", 100, at=t0)
    second, two = case(receiving, "TUB-1", 50, at=t0 + dt.timedelta(minutes=5))
    third, three = case(receiving, "TUB-1", 25, at=t0 + dt.timedelta(minutes=9))

    assert await deliver(db, receiving, one) == ["stored"]
    # The broker delivers the first case again, in a batch of its own and beside the second.
    assert await deliver(db, receiving, one) == ["duplicate"]
    assert await deliver(db, receiving, one, two, two) == ["duplicate", "stored", "duplicate"]
    row = await lot_row(db, "TUB-1")
    assert (row.quantity, row.uom, row.received_at, row.last_received_at) == (
        150,
        "m",
        first.occurred_at,
        second.occurred_at,
    )

    # The third case arrives before a late redelivery of the second: nothing counts twice.
    assert await deliver(db, receiving, three) == ["stored"]
    assert await deliver(db, receiving, two, three) == ["duplicate", "duplicate"]
    row = await lot_row(db, "TUB-1")
    assert (row.quantity, row.received_at, row.last_received_at) == (
        175,
        first.occurred_at,
        third.occurred_at,
    )
    assert row.inspection_state == "quarantined"


async def test_cases_in_one_batch_and_out_of_order_keep_the_first_and_last_times(
    db: Database, plant: dict[str, Device]
) -> None:
    receiving = plant["receiving"]
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    early, a = case(receiving, "TUB-2", 10, at=t0)
    middle, b = case(receiving, "TUB-2", 20, at=t0 + dt.timedelta(minutes=1))
    late, c = case(receiving, "TUB-2", 30, at=t0 + dt.timedelta(minutes=2))

    assert await deliver(db, receiving, c, a) == ["stored", "stored"]  # one batch, late first
    assert await deliver(db, receiving, b) == ["stored"]  # the middle case after both
    row = await lot_row(db, "TUB-2")
    assert (row.quantity, row.received_at, row.last_received_at) == (
        60,
        early.occurred_at,
        late.occurred_at,
    )
    assert middle.occurred_at < row.last_received_at


async def test_a_later_case_does_not_undo_incoming_inspections_verdict(
    client: Client,
    db: Database,
    plant: dict[str, Device],
    device_auth: dict[str, dict[str, str]],
) -> None:
    receiving = plant["receiving"]
    _, first = case(receiving, "TUB-3", 100)
    assert await deliver(db, receiving, first) == ["stored"]
    assert (await lot_row(db, "TUB-3")).inspection_state == "quarantined"
    accepted = await client.post(f"/api/lots/{COMPONENT_GTIN}/TUB-3/accept", json={"reason": "IR"})
    assert accepted.status_code == 200, accepted.text

    # The next case is booked in as the bench books every case, quarantined: still accepted.
    _, second = case(receiving, "TUB-3", 100)
    response = await client.post(
        "/api/events", content=b"[" + second + b"]", headers=device_auth["receiving"]
    )
    assert response.json()["stored"] == 1, response.text
    row = await lot_row(db, "TUB-3")
    assert (row.inspection_state, row.quantity) == ("accepted", 200)

    # An expired case is booked in rejected: that does reject the lot.
    _, expired = case(receiving, "TUB-3", 100, state="rejected")
    assert await deliver(db, receiving, expired) == ["stored"]
    row = await lot_row(db, "TUB-3")
    assert (row.inspection_state, row.quantity) == ("rejected", 300)


async def test_a_rejected_lot_stays_rejected_when_more_cases_arrive(
    client: Client, db: Database, plant: dict[str, Device]
) -> None:
    receiving = plant["receiving"]
    _, first = case(receiving, "TUB-4", 100)
    assert await deliver(db, receiving, first) == ["stored"]
    rejected = await client.post(f"/api/lots/{COMPONENT_GTIN}/TUB-4/reject", json={})
    assert rejected.status_code == 200, rejected.text
    _, quarantined = case(receiving, "TUB-4", 100)
    _, accepted = case(receiving, "TUB-4", 100, state="accepted")
    assert await deliver(db, receiving, quarantined, accepted) == ["stored", "stored"]
    row = await lot_row(db, "TUB-4")
    assert (row.inspection_state, row.quantity) == ("rejected", 300)


async def test_a_lot_seen_at_assembly_first_takes_its_receipts_state(
    db: Database, plant: dict[str, Device]
) -> None:
    """A lot named by an assembly before its receipt arrives has no state yet: the receipt's
    is taken, and its quantity starts from nothing."""
    assembly, receiving = plant["assembly"], plant["receiving"]
    _, built = assembly.assembled(unit("SN1"), (lot_qty("TUB-5", 2),))
    assert await deliver(db, assembly, built) == ["stored"]
    assert (await lot_row(db, "TUB-5")).quantity is None
    _, received = case(receiving, "TUB-5", 40, state="accepted")
    assert await deliver(db, receiving, received) == ["stored"]
    row = await lot_row(db, "TUB-5")
    assert (row.inspection_state, row.quantity, row.supplier) == ("accepted", 40, "Tubing Ltd")


async def _migrate(url: str, revision: str, *, down: bool) -> None:
    engine = create_engine(url)
    step = command.downgrade if down else command.upgrade
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: step(alembic_config(sync), revision))
    finally:
        await engine.dispose()


async def test_the_migration_sums_the_receipts_of_lots_received_before_it(
    db: Database, database_url: str, plant: dict[str, Device]
) -> None:
    receiving = plant["receiving"]
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    first, a = case(receiving, "TUB-6", 70, at=t0)
    last, b = case(receiving, "TUB-6", 30, at=t0 + dt.timedelta(minutes=3))
    assert await deliver(db, receiving, a, b) == ["stored", "stored"]
    # As ingest left such a lot before: the last case's quantity and time.
    async with db.sessions.begin() as session:
        await session.execute(
            update(Lot)
            .where(Lot.lot == "TUB-6")
            .values(quantity=30, received_at=last.occurred_at, last_received_at=None)
        )
    await db.close()
    try:
        await _migrate(database_url, "9d01", down=True)
    finally:
        await _migrate(database_url, "head", down=False)
    migrated = Database.connect(database_url)
    try:
        row = await lot_row(migrated, "TUB-6")
    finally:
        await migrated.close()
    assert (row.quantity, row.received_at, row.last_received_at) == (
        100,
        first.occurred_at,
        last.occurred_at,
    )
