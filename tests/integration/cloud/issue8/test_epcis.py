"""EPCIS 2.0 export on PostgreSQL and SQLite: each device event kind mapped as DESIGN.md says,
GS1 Digital Link identifiers, cloud holds as holding events, corrections as error
declarations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cloud_helpers import Device
from issue8_scenario import CASE1, CASE3, CATHETER, KIT, PALLET1, TUBING, Story
from litestar import Litestar
from litestar.testing import AsyncTestClient

from cloud.db.database import Database
from cloud.domain.events.ingest import EventIngestService, IngestOptions
from cloud.domain.events.validation import Incoming
from cloud.settings import Settings
from protocols.events import UnitInspected
from protocols.parts import ParsedUdi

Client = AsyncTestClient[Litestar]
Roles = dict[str, dict[str, str]]
DL = "https://id.gs1.org"


async def export(api: Client, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await api.get("/api/epcis/events", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/ld+json")
    body: dict[str, Any] = response.json()
    return body


async def test_a_units_events_as_an_epcis_document(
    api: Client, as_role: Roles, story: Story
) -> None:
    doc = await export(api, as_role["auditor"], di=KIT, serial="KIT2")
    assert doc["@context"][0] == "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
    assert (doc["type"], doc["schemaVersion"]) == ("EPCISDocument", "2.0")
    events = doc["epcisBody"]["eventList"]
    kit2 = f"{DL}/01/{KIT}/21/KIT2"
    assert [(e["type"], e.get("action"), e["bizStep"]) for e in events] == [
        ("AggregationEvent", "ADD", "assembling"),
        ("ObjectEvent", "OBSERVE", "inspecting"),
        ("AggregationEvent", "ADD", "packing"),
        ("AggregationEvent", "DELETE", "unpacking"),
        ("AggregationEvent", "ADD", "packing"),
    ]
    assembled, inspected, packed, unpacked, repacked = events
    assert assembled["parentID"] == kit2
    assert assembled["childEPCs"] == [f"{DL}/01/{CATHETER}/21/CA2", f"{DL}/01/{CATHETER}/21/CA3"]
    assert inspected["epcList"] == [kit2]
    assert inspected["disposition"] == "conformant"
    assert inspected["readPoint"] == {"id": "urn:tracegate:checkpoint:plant-t:line-1:packing"}
    (report,) = inspected["sensorElementList"][0]["sensorReport"]
    assert report == {
        "type": "urn:tracegate:epcis:parameter:leak_rate",
        "tg:parameter": "leak_rate",
        "tg:inLimits": True,
        "tg:ageMs": 5,
        "value": 0.1,
        "uom": "41",
        "maxValue": 0.5,
    }
    assert packed["parentID"] == f"{DL}/00/{CASE1}"
    assert kit2 in packed["childEPCs"]
    assert (unpacked["parentID"], unpacked["childEPCs"]) == (f"{DL}/00/{CASE1}", [kit2])
    assert repacked["parentID"] == f"{DL}/00/{CASE3}"
    assert all(e["eventID"].startswith("urn:uuid:") for e in events)
    assert all(e["eventTimeZoneOffset"] == "+00:00" for e in events)


async def test_lots_transformations_and_shipments(
    api: Client, as_role: Roles, story: Story
) -> None:
    doc = await export(
        api,
        as_role["quality"],
        kind=["lot.received", "lot.transformed", "container.shipped"],
    )
    events = doc["epcisBody"]["eventList"]
    received = [e for e in events if e["bizStep"] == "receiving"]
    assert received[0]["quantityList"] == [
        {"epcClass": f"{DL}/01/{TUBING}/10/TUBE-A", "quantity": 1000.0}
    ]
    assert received[0]["disposition"] == "available"
    split = next(e for e in events if e["type"] == "TransformationEvent")
    assert split["inputQuantityList"] == [
        {"epcClass": f"{DL}/01/{TUBING}/10/TUBE-A", "quantity": 1000.0}
    ]
    assert [q["epcClass"] for q in split["outputQuantityList"]] == [
        f"{DL}/01/{TUBING}/10/TUBE-A1",
        f"{DL}/01/{TUBING}/10/TUBE-A2",
    ]
    shipped = [e for e in events if e["bizStep"] == "shipping"]
    assert [(e["epcList"], e["disposition"]) for e in shipped] == [
        ([f"{DL}/00/{PALLET1}"], "in_transit"),
        ([f"{DL}/00/053912300000000140"], "in_transit"),
    ]
    assert shipped[0]["destinationList"] == [
        {"type": "owning_party", "destination": "urn:tracegate:party:St.%20Elsewhere%20Hospital"}
    ]
    assert shipped[0]["bizTransactionList"][1] == {
        "type": "desadv",
        "bizTransaction": "urn:tracegate:shipment:SHP-1",
    }


async def test_holds_and_corrections(
    api: Client,
    as_role: Roles,
    plant: dict[str, Device],
    db: Database,
    settings: Settings,
) -> None:
    sealing = plant["sealing"]
    wrong, first = sealing.inspected("SN1", decision="hold", seal_temp=195.0)
    _, fixed = sealing.seal(
        UnitInspected,
        udi=ParsedUdi(issuer="GS1", di="09506000134352", lot="A1B2C3", serial="SN1"),
        decision="pass",
        ruleset_version="r1",
        corrects=wrong.event_id,
    )
    ingest = EventIngestService(db, IngestOptions(topic_prefix=settings.topic_prefix))
    now = dt.datetime.now(dt.UTC)
    topic = sealing.topic(settings.topic_prefix)
    await ingest.ingest([Incoming(first, topic, now, "mqtt"), Incoming(fixed, topic, now, "mqtt")])
    placed = await api.post(
        "/api/holds",
        json={"scope": "lot", "di": "09506000134352", "lot": "A1B2C3", "reason": "bad seal"},
        headers=as_role["operator"],
    )
    hold_id = placed.json()["hold_id"]
    events = (await export(api, as_role["auditor"]))["epcisBody"]["eventList"]
    original, correction, hold = events
    assert original["disposition"] == "non_conformant"
    assert original["tg:reasons"] == [
        {"code": "param.out_of_limits", "text": "seal_temp 195 > 190"}
    ]
    assert original["errorDeclaration"]["correctiveEventIDs"] == [correction["eventID"]]
    assert correction["tg:corrects"] == original["eventID"]
    assert (hold["eventID"], hold["bizStep"], hold["disposition"]) == (
        f"urn:tracegate:hold:{hold_id}",
        "holding",
        "non_conformant",
    )
    assert hold["quantityList"] == [{"epcClass": f"{DL}/01/09506000134352/10/A1B2C3"}]


async def test_filters_are_checked(api: Client, as_role: Roles, story: Story) -> None:
    lot_only = await api.get("/api/epcis/events?lot=K1", headers=as_role["auditor"])
    assert (lot_only.status_code, lot_only.json()["detail"]) == (
        422,
        "di: lot and serial select units of a DI: give di too",
    )
    doc = await export(api, as_role["auditor"], di=KIT, lot="K1", kind="unit.inspected")
    assert len(doc["epcisBody"]["eventList"]) == 5
