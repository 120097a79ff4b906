"""Commands to the edges: activating a work order sends `cmd/workorder`, holds send `cmd/hold`,
an announced shipment sends `cmd/shipment`; queued while the broker is away, sent after."""

from __future__ import annotations

import secrets
from pathlib import Path

from access_helpers import bearer
from cloud_helpers import GTIN, Collector, Device, OwnMosquitto, free_port, sscc, wait_until
from litestar import Litestar
from litestar.testing import AsyncTestClient

from cloud.app import create_app
from cloud.db.database import Database
from cloud.settings import Settings
from protocols import commands
from protocols.codec import decode_command

Client = AsyncTestClient[Litestar]
CHECKPOINTS = ["assembly", "packing", "receiving", "sealing", "shipping"]


async def make_order(client: Client, number: str) -> None:
    if (await client.get(f"/api/products/{GTIN}")).status_code == 404:
        await client.post("/api/products", json={"di": GTIN, "issuer": "GS1", "name": "Kit"})
    response = await client.post(
        "/api/work-orders",
        json={
            "number": number,
            "product": GTIN,
            "site": "plant-t",
            "line": "line-1",
            "lot": f"L-{number}",
            "quantity": 500,
            "expiry": "2029-01-31",
            "route": ["sealing", "packing"],
        },
    )
    assert response.status_code == 201, response.text


async def test_activating_a_work_order_sends_it_to_every_edge_of_the_line(
    client: Client, plant: dict[str, Device], settings: Settings, mosquitto: OwnMosquitto
) -> None:
    await make_order(client, "WO-1")
    await make_order(client, "WO-2")
    live = Collector(
        mosquitto.port, f"{settings.topic_prefix}/+/+/+/cmd/+", client_id=secrets.token_hex(6)
    )
    try:
        first = await client.post("/api/work-orders/WO-1/activate")
        assert (first.json()["status"], first.json()["commands_queued"]) == ("active", 5)
        await wait_until(lambda: len(live.snapshot()) == 5, what="5 commands")
        second = await client.post("/api/work-orders/WO-2/activate")
        assert second.json()["status"] == "active"
        await wait_until(lambda: len(live.snapshot()) == 10, what="10 commands")
    finally:
        live.close()
    assert (await client.get("/api/work-orders/WO-1")).json()["status"] == "closed"
    topics = sorted({topic for topic, _, _ in live.snapshot()})
    assert topics == [
        f"{settings.topic_prefix}/plant-t/line-1/{cp}/cmd/workorder" for cp in CHECKPOINTS
    ]
    command = decode_command(live.snapshot()[0][1])
    assert isinstance(command, commands.WorkOrder)
    assert (command.work_order, command.products, command.lot, command.quantity, command.route) == (
        "WO-1",
        (GTIN,),
        "L-WO-1",
        500,
        ("sealing", "packing"),
    )

    # An edge that starts now still learns the line's current order: it was retained.
    late = Collector(
        mosquitto.port, f"{settings.topic_prefix}/+/+/sealing/cmd/+", client_id=secrets.token_hex(6)
    )
    try:
        await wait_until(lambda: late.snapshot(), what="the retained work order")
    finally:
        late.close()
    ((_, payload, retained),) = late.snapshot()
    current = decode_command(payload)
    assert retained and isinstance(current, commands.WorkOrder) and current.work_order == "WO-2"


async def test_a_hold_is_sent_to_the_lines_edges(
    client: Client, plant: dict[str, Device], settings: Settings, mosquitto: OwnMosquitto
) -> None:
    live = Collector(
        mosquitto.port, f"{settings.topic_prefix}/+/+/+/cmd/hold", client_id=secrets.token_hex(6)
    )
    try:
        missing = await client.post("/api/holds", json={"scope": "unit", "di": GTIN, "reason": "x"})
        assert missing.status_code == 422
        assert missing.json()["extra"] == [
            {
                "key": "serial",
                "message": "serial: a unit hold needs the unit's serial (or its lot), got neither",
            }
        ]
        placed = await client.post(
            "/api/holds",
            json={
                "scope": "unit",
                "di": GTIN,
                "serial": "SN9",
                "reason": "customer complaint",
                "site": "plant-t",
                "line": "line-1",
            },
        )
        assert placed.status_code == 201, placed.text
        body = placed.json()
        hold_id = body["hold_id"]  # "H<n>": ids are not reset between tests on PostgreSQL
        assert hold_id.startswith("H")
        assert (body["source"], body["status"], body["commands_queued"]) == ("cloud", "open", 5)
        await wait_until(lambda: len(live.snapshot()) == 5, what="5 hold commands")
    finally:
        live.close()
    hold = decode_command(live.snapshot()[0][1])
    assert isinstance(hold, commands.Hold)
    assert (hold.hold_id, hold.reason, hold.scope.units[0].serial) == (
        hold_id,
        "customer complaint",
        "SN9",
    )
    assert [h["hold_id"] for h in (await client.get("/api/holds?status=open")).json()] == [hold_id]


async def test_an_announced_shipment_goes_to_the_shipping_checkpoint(
    client: Client, plant: dict[str, Device], settings: Settings, mosquitto: OwnMosquitto
) -> None:
    await client.post(
        "/api/customers",
        json={
            "code": "C1",
            "name": "Hospital",
            "country": "US",
            "city": "Boston",
            "postal_code": "02118",
        },
    )
    created = await client.post(
        "/api/shipments",
        json={
            "number": "SHP-1",
            "customer": "C1",
            "order_ref": "SO-9",
            "containers": [sscc(1), sscc(2)],
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["recipient_address"] == "02118 Boston\nUS"
    live = Collector(
        mosquitto.port, f"{settings.topic_prefix}/+/+/+/cmd/+", client_id=secrets.token_hex(6)
    )
    try:
        announced = await client.post(
            "/api/shipments/SHP-1/announce",
            json={"site": "plant-t", "line": "line-1", "checkpoint": "shipping"},
        )
        assert announced.status_code == 201, announced.text
        await wait_until(lambda: live.snapshot(), what="the shipment command")
    finally:
        live.close()
    ((topic, payload, _),) = live.snapshot()
    assert topic == f"{settings.topic_prefix}/plant-t/line-1/shipping/cmd/shipment"
    command = decode_command(payload)
    assert isinstance(command, commands.Shipment)
    assert (command.order, command.expected_containers) == ("SO-9", (sscc(1), sscc(2)))


async def test_commands_wait_for_a_broker_that_is_down(
    db: Database, plant: dict[str, Device], settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    offline = settings.model_copy(update={"mqtt_url": f"mqtt://127.0.0.1:{port}"})
    async with AsyncTestClient(app=create_app(offline)) as client:
        client.headers.update(await bearer(db, username="operator", roles=["operator"]))
        placed = await client.post(
            "/api/holds",
            json={"scope": "lot", "di": GTIN, "lot": "L1", "reason": "supplier notice"},
        )
        assert placed.json()["commands_queued"] == 5
        health = (await client.get("/health")).json()
        assert health["status"] == "degraded"
        assert health["broker"]["commands_connected"] is False
        broker = OwnMosquitto(tmp_path / "late-broker", port=port)
        broker.start()
        try:
            live = Collector(
                port, f"{settings.topic_prefix}/+/+/+/cmd/hold", client_id=secrets.token_hex(6)
            )
            try:
                await wait_until(
                    lambda: len(live.snapshot()) == 5, timeout_s=15, what="5 queued holds sent"
                )
            finally:
                live.close()

            async def nothing_pending() -> bool:
                pending: int = (await client.get("/health")).json()["broker"]["commands_pending"]
                return pending == 0

            await wait_until(nothing_pending, what="no command pending")
        finally:
            broker.stop()
