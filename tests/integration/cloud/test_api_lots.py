"""Lots through the API: incoming inspection's verdict (lot state, audit row, cmd/lotinspection
to the edges) and transformations recorded as lot.transformed in the genealogy."""

from __future__ import annotations

import secrets

from access_helpers import bearer
from cloud_helpers import COMPONENT_GTIN, Collector, Device, OwnMosquitto, wait_until
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from cloud.db.database import Database
from cloud.domain.events.models import Event as StoredEvent
from cloud.domain.genealogy.models import GenealogyEdge, Lot
from cloud.settings import Settings
from protocols.codec import decode_command, decode_event, event_hash
from protocols.commands import LotInspection
from protocols.events import LotTransformed

Client = AsyncTestClient[Litestar]


async def receive(client: Client, device: Device, headers: dict[str, str], *lots: str) -> None:
    payloads = [device.lot_received(lot, quantity=1000)[1] for lot in lots]
    response = await client.post(
        "/api/events", content=b"[" + b",".join(payloads) + b"]", headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == len(lots), response.text


def metres(lot: str, quantity: float) -> dict[str, object]:
    return {"di": COMPONENT_GTIN, "lot": lot, "quantity": quantity, "unit_of_measure": "m"}


async def lot_row(db: Database, lot: str) -> Lot:
    async with db.sessions() as session:
        row = await session.scalar(select(Lot).where(Lot.di == COMPONENT_GTIN, Lot.lot == lot))
    assert row is not None
    return row


async def test_accepting_a_lot_is_audited_and_sent_to_the_line(
    client: Client,
    db: Database,
    plant: dict[str, Device],
    device_auth: dict[str, dict[str, str]],
    settings: Settings,
    mosquitto: OwnMosquitto,
) -> None:
    await receive(client, plant["receiving"], device_auth["receiving"], "TUB-1")
    live = Collector(
        mosquitto.port, f"{settings.topic_prefix}/+/+/+/cmd/+", client_id=secrets.token_hex(6)
    )
    try:
        response = await client.post(
            f"/api/lots/{COMPONENT_GTIN}/TUB-1/accept",
            json={"reason": "IR-7 passed", "site": "plant-t", "line": "line-1"},
        )
        assert response.status_code == 200, response.text
        await wait_until(lambda: len(live.snapshot()) == 5, what="5 commands")
    finally:
        live.close()
    assert response.json() == {
        "di": COMPONENT_GTIN,
        "lot": "TUB-1",
        "inspection_state": "accepted",
        "signed_by": "tester",
        "commands_queued": 5,
    }
    assert (await lot_row(db, "TUB-1")).inspection_state == "accepted"
    topics = sorted(topic for topic, _, _ in live.snapshot())
    assert f"{settings.topic_prefix}/plant-t/line-1/assembly/cmd/lotinspection" in topics
    command = decode_command(live.snapshot()[0][1])
    assert isinstance(command, LotInspection)
    assert (command.di, command.lot, command.state, command.signed_by) == (
        COMPONENT_GTIN,
        "TUB-1",
        "accepted",
        "tester",
    )
    entries = (await client.get("/api/audit/entries", params={"record_type": "lots"})).json()
    (entry,) = entries
    assert (entry["actor"], entry["action"], entry["reason"]) == ("tester", "update", "IR-7 passed")
    assert '"inspection_state":"accepted"' in entry["new"]

    rejected = await client.post(f"/api/lots/{COMPONENT_GTIN}/TUB-1/reject", json={})
    assert rejected.json()["inspection_state"] == "rejected"
    unknown = await client.post(f"/api/lots/{COMPONENT_GTIN}/NOPE/accept", json={})
    assert unknown.status_code == 404


async def test_only_quality_decides_on_a_lot(
    client: Client, db: Database, plant: dict[str, Device], device_auth: dict[str, dict[str, str]]
) -> None:
    await receive(client, plant["receiving"], device_auth["receiving"], "TUB-2")
    operator = await bearer(db, username="otto", roles=("operator",))
    refused = await client.post(
        f"/api/lots/{COMPONENT_GTIN}/TUB-2/accept", json={}, headers=operator
    )
    assert refused.status_code == 403
    assert (await lot_row(db, "TUB-2")).inspection_state == "accepted"  # as received


async def test_a_split_is_recorded_as_lot_transformed_in_the_genealogy(
    client: Client, db: Database, plant: dict[str, Device], device_auth: dict[str, dict[str, str]]
) -> None:
    await receive(client, plant["receiving"], device_auth["receiving"], "BULK-1", "BULK-2")
    split = {
        "site": "plant-t",
        "line": "line-1",
        "checkpoint": "assembly",
        "transformation": "split",
        "inputs": [metres("BULK-1", 1000)],
        "outputs": [
            metres("BULK-1A", 600),
            metres("BULK-1B", 400),
        ],
        "reason": "cut for two cells",
    }
    first = await client.post("/api/lots/transform", json=split)
    assert first.status_code == 201, first.text
    assert (first.json()["device_id"], first.json()["seq"]) == ("api-assembly", 1)
    merge = {
        **split,
        "transformation": "merge",
        "inputs": [
            metres("BULK-1B", 400),
            metres("BULK-2", 1000),
        ],
        "outputs": [metres("BULK-3", 1400)],
    }
    second = await client.post("/api/lots/transform", json=merge)
    assert second.status_code == 201, second.text
    assert second.json()["seq"] == 2

    async with db.sessions() as session:
        stored = (
            await session.scalars(
                select(StoredEvent)
                .where(StoredEvent.device_id == "api-assembly")
                .order_by(StoredEvent.seq)
            )
        ).all()
        lots = {lot.id: lot.lot for lot in (await session.scalars(select(Lot))).all()}
        edges = {
            (lots[e.parent_id], lots[e.child_id], e.quantity)
            for e in (await session.scalars(select(GenealogyEdge))).all()
        }
    events = [decode_event(row.payload) for row in stored]
    assert all(isinstance(e, LotTransformed) for e in events)
    # The API's chain is a chain like any device's.
    assert events[1].prev_hash == event_hash(stored[0].payload.encode())
    assert edges == {
        ("BULK-1A", "BULK-1", 600),
        ("BULK-1B", "BULK-1", 400),
        ("BULK-3", "BULK-1B", 400),
        ("BULK-3", "BULK-2", 1000),
    }
    entries = (
        await client.get("/api/audit/entries", params={"record_type": "lot_transformations"})
    ).json()
    assert [(e["actor"], e["action"], e["reason"]) for e in entries] == [
        ("tester", "create", "cut for two cells"),
        ("tester", "create", "cut for two cells"),
    ]


async def test_transformations_are_validated(
    client: Client, db: Database, plant: dict[str, Device], device_auth: dict[str, dict[str, str]]
) -> None:
    await receive(client, plant["receiving"], device_auth["receiving"], "BULK-9")
    base = {"site": "plant-t", "line": "line-1", "checkpoint": "assembly"}

    def amount(lot: str, quantity: float, di: str = COMPONENT_GTIN) -> dict[str, object]:
        return {"di": di, "lot": lot, "quantity": quantity}

    cases = [
        (
            {"transformation": "split", "inputs": [amount("BULK-9", 10)],
             "outputs": [amount("A", 6), amount("B", 6)]},
            "outputs: outputs total 12, more than the inputs' 10",
        ),
        (
            {"transformation": "split", "inputs": [amount("BULK-9", 10)],
             "outputs": [amount("A", 10)]},
            "outputs: a split takes one input into two or more outputs, got 1 input(s) and 1"
            " output(s)",
        ),
        (
            {"transformation": "rework", "inputs": [amount("GHOST", 1)],
             "outputs": [amount("R", 1)]},
            f"inputs[0]: lot {COMPONENT_GTIN}/GHOST is not known to the cloud",
        ),
        (
            {"transformation": "rework", "inputs": [amount("BULK-9", 1)],
             "outputs": [amount("BULK-9", 1)]},
            f"outputs: lot {COMPONENT_GTIN}/BULK-9 is also an input",
        ),
        (
            {"transformation": "rework", "inputs": [amount("BULK-9", 1)],
             "outputs": [amount("R", 1)], "checkpoint": "nowhere"},
            "checkpoint: no checkpoint plant-t/line-1/nowhere",
        ),
    ]  # fmt: skip
    for body, message in cases:
        response = await client.post("/api/lots/transform", json={**base, **body})
        assert response.status_code == 422, response.text
        assert message in response.text
    async with db.sessions() as session:
        count = len(
            (
                await session.scalars(
                    select(StoredEvent).where(StoredEvent.device_id == "api-assembly")
                )
            ).all()
        )
    assert count == 0
