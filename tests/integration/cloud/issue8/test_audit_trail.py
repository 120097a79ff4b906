"""The audit trail on PostgreSQL and SQLite: every change lands in a hash chain, the chain can be
recomputed from the export alone, and verify names an edited row, a removed row and two
reordered rows, in the audit chain and in a device's event chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from cloud_helpers import GTIN, Device
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from cloud.db.database import Database
from cloud.domain.audit.capture import Change, append
from cloud.domain.audit.context import Actor
from cloud.domain.audit.schemas import AuditEntryOut
from cloud.domain.audit.services import AuditService
from cloud.domain.events.ingest import EventIngestService, IngestOptions
from cloud.domain.events.validation import Incoming
from cloud.settings import Settings

Client = AsyncTestClient[Litestar]
Roles = dict[str, dict[str, str]]
PRODUCT = {"di": GTIN, "issuer": "GS1", "name": "Catheter kit"}
CONTENT = (
    "seq",
    "actor",
    "actor_kind",
    "action",
    "record_type",
    "record_id",
    "old",
    "new",
    "reason",
    "request",
)


async def chain_of(db: Database, rows: int) -> None:
    actor = Actor("ada", "user", "PATCH /api/products/x", "test")
    changes = [
        Change(actor, "update", "products", "1", {"name": f"v{n}"}, {"name": f"v{n + 1}"})
        for n in range(rows)
    ]
    async with db.engine.begin() as connection:
        await connection.run_sync(lambda sync: append(sync, changes))


async def problems(db: Database) -> list[str]:
    report = await AuditService(db).verify(devices=True)
    return [p.message for p in report.problems]


async def sql(db: Database, *statements: str) -> None:
    async with db.engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))


async def test_api_changes_are_chained_with_who_what_old_new_and_why(
    api: Client, as_role: Roles
) -> None:
    admin = {**as_role["admin"], "X-Reason": "new catalogue entry"}
    assert (await api.post("/api/products", json=PRODUCT, headers=admin)).status_code == 201
    await api.patch(f"/api/products/{GTIN}", json={"name": "Kit v2"}, headers=as_role["admin"])
    await api.delete(f"/api/products/{GTIN}", headers=as_role["admin"])
    entries = (
        await api.get(
            "/api/audit/entries", params={"record_type": "products"}, headers=as_role["auditor"]
        )
    ).json()
    assert [(e["actor"], e["action"], e["request"]) for e in entries] == [
        ("ada", "create", "POST /api/products"),
        ("ada", "update", f"PATCH /api/products/{GTIN}"),
        ("ada", "delete", f"DELETE /api/products/{GTIN}"),
    ]
    assert entries[0]["reason"] == "new catalogue entry"
    assert json.loads(entries[1]["old"]) == {"name": "Catheter kit"}
    assert json.loads(entries[1]["new"]) == {"name": "Kit v2"}
    assert json.loads(entries[2]["old"])["name"] == "Kit v2" and entries[2]["new"] == ""
    assert [e["prev_hash"] for e in entries[1:]] == [e["hash"] for e in entries[:-1]]
    report = (await api.get("/api/audit/verify", headers=as_role["auditor"])).json()
    assert report["ok"] is True
    assert report["audit_rows"] == report["head_seq"] == entries[-1]["seq"]


async def test_the_export_lets_an_inspector_recompute_every_hash(
    api: Client, as_role: Roles, db: Database
) -> None:
    await api.post("/api/products", json=PRODUCT, headers=as_role["admin"])
    await chain_of(db, 3)
    exported = (await api.get("/api/audit/export", headers=as_role["auditor"])).json()
    previous = ""
    for entry in exported["entries"]:
        content = {
            k: entry[k]
            for k in (
                "seq",
                "actor",
                "actor_kind",
                "action",
                "record_type",
                "record_id",
                "old",
                "new",
                "reason",
                "request",
            )
        }
        at = dt.datetime.fromisoformat(entry["at"]).astimezone(dt.UTC)
        content["at"] = at.isoformat(timespec="microseconds")
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert entry["prev_hash"] == previous
        assert entry["hash"] == hashlib.sha256((previous + canonical).encode()).hexdigest()
        previous = entry["hash"]
    assert (exported["head_seq"], exported["head_hash"]) == (len(exported["entries"]), previous)
    as_csv = await api.get("/api/audit/export?format=csv", headers=as_role["auditor"])
    lines = as_csv.text.splitlines()
    assert lines[0].split(",")[:4] == ["seq", "at", "actor", "actor_kind"]
    assert lines[-1] == f"#head,{exported['head_seq']},{previous}"


async def test_verify_names_an_edited_row(db: Database) -> None:
    await chain_of(db, 5)
    await sql(db, """UPDATE audit_entries SET new = '{"name":"forged"}' WHERE seq = 3""")
    assert await problems(db) == [
        "audit row 3 was altered: its content no longer matches its hash "
        f"({(await AuditService(db).entries(after_seq=2, limit=1))[0].hash[:12]}...)"
    ]


def rehashed(entry: AuditEntryOut, **changes: str) -> str:
    """The hash a forger would compute for the row with `changes` (the documented rule)."""
    row = {k: getattr(entry, k) for k in CONTENT} | changes
    row["at"] = entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    canonical = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((entry.prev_hash + canonical).encode()).hexdigest()


async def test_verify_names_an_edited_row_whose_hash_was_recomputed(db: Database) -> None:
    await chain_of(db, 5)
    second, third = await AuditService(db).entries(after_seq=1, limit=2)
    forged = rehashed(second, reason="forged")
    await sql(db, f"UPDATE audit_entries SET reason = 'forged', hash = '{forged}' WHERE seq = 2")
    assert await problems(db) == [
        "audit row 2 was altered and its hash recomputed: row 3 names a predecessor hash "
        f"({third.prev_hash[:12]}...) that no row has"
    ]


async def test_verify_names_a_removed_row_and_a_removed_tail(db: Database) -> None:
    await chain_of(db, 6)
    await sql(
        db, "DELETE FROM audit_entries WHERE seq = 3", "DELETE FROM audit_entries WHERE seq = 6"
    )
    assert await problems(db) == [
        "audit row 3 removed: row 2 is followed by row 4",
        "audit row 6 removed from the end: the head records row 6, the last row is 5",
    ]


async def test_verify_names_two_reordered_rows(db: Database) -> None:
    await chain_of(db, 6)
    await sql(
        db,
        "UPDATE audit_entries SET seq = -4 WHERE seq = 4",
        "UPDATE audit_entries SET seq = 4 WHERE seq = 5",
        "UPDATE audit_entries SET seq = 5 WHERE seq = -4",
    )
    assert await problems(db) == [
        "audit rows 4 and 5 were reordered: each was written in the other's place"
    ]


async def sealing_chain(db: Database, device: Device, settings: Settings, count: int) -> None:
    ingest = EventIngestService(db, IngestOptions(topic_prefix=settings.topic_prefix))
    now = dt.datetime.now(dt.UTC)
    topic = device.topic(settings.topic_prefix)
    payloads = [device.inspected(f"SN{n}")[1] for n in range(1, count + 1)]
    result = await ingest.ingest([Incoming(p, topic, now, "mqtt") for p in payloads])
    assert result.count("stored") == count


async def test_verify_names_an_altered_a_removed_and_reordered_device_events(
    db: Database, plant: dict[str, Device], settings: Settings
) -> None:
    await sealing_chain(db, plant["sealing"], settings, 8)
    assert await problems(db) == []
    device = "device_id = 'edge-sealing'"
    await sql(
        db,
        f"UPDATE events SET payload = replace(payload, 'SN2', 'SN9') WHERE {device} AND seq = 2",
        f"DELETE FROM events WHERE {device} AND seq = 4",
        f"UPDATE events SET seq = CASE seq WHEN 6 THEN 7 ELSE 6 END WHERE {device} "
        "AND seq IN (6, 7)",
    )
    async with db.sessions() as session:
        ids = {
            seq: str(event_id)
            for seq, event_id in (
                await session.execute(
                    text(f"SELECT seq, event_id FROM events WHERE {device} AND seq = 2")
                )
            ).all()
        }
    found = await problems(db)
    assert found[0].startswith("event ") and found[0].endswith(
        "(device edge-sealing, seq 2) was altered: it no longer hashes to the prev_hash of seq 3"
    )
    assert ids[2].replace("-", "") in found[0].replace("-", "")
    assert found[1:] == [
        "event(s) seq 4 of device edge-sealing removed: seq 3 is followed by seq 5, and the "
        "ingest recorded no gap there",
        "events seq 6 and 7 of device edge-sealing were reordered: each carries the other's "
        "seq in its payload",
    ]


async def test_events_that_never_arrived_are_noted_not_blamed(
    db: Database, plant: dict[str, Device], settings: Settings
) -> None:
    sealing = plant["sealing"]
    payloads = [sealing.inspected(f"SN{n}")[1] for n in range(1, 5)]
    ingest = EventIngestService(db, IngestOptions(topic_prefix=settings.topic_prefix))
    now = dt.datetime.now(dt.UTC)
    topic = sealing.topic(settings.topic_prefix)
    await ingest.ingest([Incoming(p, topic, now, "mqtt") for p in (payloads[0], payloads[3])])
    report = await AuditService(db).verify()
    assert (report.ok, report.events) == (True, 2)
    assert report.notes == [
        "device edge-sealing: seq 2-3 never arrived (an open gap recorded by the ingest)"
    ]


async def test_what_the_mqtt_ingest_changes_is_audited_as_the_system(
    db: Database, plant: dict[str, Device], settings: Settings
) -> None:
    sealing = plant["sealing"]
    _, held = sealing.inspected("SN1", decision="hold", seal_temp=195.0)
    ingest = EventIngestService(db, IngestOptions(topic_prefix=settings.topic_prefix))
    topic = sealing.topic(settings.topic_prefix)
    await ingest.ingest([Incoming(held, topic, dt.datetime.now(dt.UTC), "mqtt")])
    (entry,) = await AuditService(db).entries(record_type="holds")
    assert (entry.actor, entry.actor_kind, entry.action) == ("system", "system", "create")
    assert json.loads(entry.new)["reasons"] == [
        {"code": "param.out_of_limits", "text": "seal_temp 195 > 190"}
    ]
