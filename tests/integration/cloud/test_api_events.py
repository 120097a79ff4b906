"""`POST /api/events`: batch ingest for ERP, WMS and LIMS, with MQTT's checks and idempotency."""

from __future__ import annotations

import json

from cloud_helpers import Device, sscc, unit, with_field
from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]
Auth = dict[str, dict[str, str]]


def batch(*payloads: bytes) -> bytes:
    return b"[" + b",".join(payloads) + b"]"


async def test_a_batch_is_stored_once_however_often_it_is_posted(
    client: Client, plant: dict[str, Device], device_auth: Auth
) -> None:
    sealing = plant["sealing"]
    events = [sealing.inspected(f"SN{n}") for n in range(1, 4)]
    body = batch(*(data for _, data in events), events[0][1])
    headers = {"content-type": "application/json", **device_auth["sealing"]}

    first = await client.post("/api/events", content=body, headers=headers)
    again = await client.post("/api/events", content=body, headers=headers)

    assert first.status_code == 200, first.text
    assert first.json() == {
        "stored": 3,
        "duplicates": 1,
        "refused": [],
        "gaps_opened": 0,
        "gaps_closed": 0,
    }
    assert again.json()["stored"] == 0 and again.json()["duplicates"] == 4
    stored = await client.get(f"/api/events/{events[1][0].event_id}")
    assert stored.status_code == 200
    assert stored.json()["seq"] == 2 and stored.json()["source"] == "api"
    # The payload comes back exactly as it was posted (the device's hash chain covers it).
    assert json.dumps(stored.json()["payload"], separators=(",", ":")).encode() == events[1][1]


async def test_refused_events_are_listed_and_dead_lettered(
    client: Client, plant: dict[str, Device], device_auth: Auth
) -> None:
    sealing, packing = plant["sealing"], plant["packing"]
    _, good = sealing.inspected("SN1")
    impostor = Device(device_id="edge-sealing", site="plant-t", line="line-1", checkpoint="packing")
    spoofed, spoof = impostor.inspected("SN2")
    body = batch(good, with_field(good, kind="unit.lost"), spoof, b'"text"')
    response = await client.post("/api/events", content=body, headers=device_auth["sealing"])
    report = response.json()
    assert report["stored"] == 1
    assert [(r["index"], r["code"]) for r in report["refused"]] == [
        (1, "invalid"),
        (2, "spoof"),
        (3, "invalid"),
    ]
    assert report["refused"][1]["reason"] == (
        f"event {spoofed.event_id} names device 'edge-sealing' at 'plant-t/line-1/packing', "
        "but that device is registered at 'plant-t/line-1/sealing'"
    )
    letters = (await client.get("/api/dead-letters")).json()
    assert [(d["source"], d["reason_code"]) for d in letters] == [
        ("api", "invalid"),
        ("api", "spoof"),
        ("api", "invalid"),
    ]
    assert packing.seq == 0


async def test_a_body_that_is_not_an_array_is_refused_whole(
    client: Client, device_auth: Auth
) -> None:
    response = await client.post(
        "/api/events", content=b'{"kind": "unit.inspected"}', headers=device_auth["sealing"]
    )
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "body: expected a JSON array of events, Expected `array`, got `object`"
    )


async def test_gaps_are_reported(
    client: Client, plant: dict[str, Device], device_auth: Auth
) -> None:
    sealing = plant["sealing"]
    events = [sealing.inspected(f"SN{n}")[1] for n in range(1, 5)]
    headers = device_auth["sealing"]
    await client.post("/api/events", content=batch(events[0], events[3]), headers=headers)
    gaps = (await client.get("/api/seq-gaps?open_only=true")).json()
    assert [(g["device_id"], g["first_seq"], g["last_seq"], g["missing"]) for g in gaps] == [
        ("edge-sealing", 2, 3, 2)
    ]
    report = (
        await client.post("/api/events", content=batch(events[1], events[2]), headers=headers)
    ).json()
    assert report["gaps_closed"] == 1
    assert (await client.get("/api/seq-gaps?open_only=true")).json() == []


async def test_a_planned_shipment_is_confirmed_by_the_shipping_event(
    client: Client, plant: dict[str, Device], device_auth: Auth
) -> None:
    packing, shipping = plant["packing"], plant["shipping"]
    await client.post("/api/customers", json={"code": "C1", "name": "Hospital", "country": "US"})
    await client.post(
        "/api/shipments", json={"number": "SHP-1", "customer": "C1", "containers": [sscc(1)]}
    )
    _, packed = packing.packed(sscc(1), (unit("SN1"),))
    _, shipped = shipping.shipped("SHP-1", (sscc(1),))
    await client.post("/api/events", content=batch(packed), headers=device_auth["packing"])
    await client.post("/api/events", content=batch(shipped), headers=device_auth["shipping"])
    shipment = (await client.get("/api/shipments/SHP-1")).json()
    assert (shipment["status"], shipment["customer"], shipment["recipient_name"]) == (
        "shipped",
        "C1",
        "St. Elsewhere Hospital",
    )
    assert shipment["items"] == [
        {"sscc": sscc(1), "unit_di": None, "unit_serial": None, "quantity": 1, "shipped": True}
    ]
    changed = await client.patch("/api/shipments/SHP-1", json={"order_ref": "X"})
    assert changed.status_code == 409
    assert changed.json()["detail"] == "shipment 'SHP-1' has shipped: it can no longer be changed"
