"""Dispositions with electronic signatures, nonconformances and CAPAs, on PostgreSQL and SQLite:
the password is entered again, the meaning and reason are recorded with the printed name, the
signature stays bound to what was signed, and every attempt is in the audit trail."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from access_helpers import PASSWORD
from cloud_helpers import GTIN, Collector, Device, OwnMosquitto, wait_until
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text

from cloud.db.database import Database
from cloud.domain.events.ingest import EventIngestService, IngestOptions
from cloud.domain.events.validation import Incoming
from cloud.domain.holds.models import Hold
from cloud.settings import Settings
from protocols import commands
from protocols.codec import decode_command

Client = AsyncTestClient[Litestar]
Roles = dict[str, dict[str, str]]


def release(**changes: Any) -> dict[str, Any]:
    return {
        "decision": "release",
        "meaning": "approved for release",
        "reason": "re-inspected: seal intact",
        "username": "quinn",
        "password": PASSWORD,
        **changes,
    }


async def held_at_sealing(db: Database, device: Device, settings: Settings, serial: str) -> str:
    """The number of the hold the sealing edge placed on a unit (`H<id>`)."""
    event, data = device.inspected(serial, decision="hold", seal_temp=195.0)
    ingest = EventIngestService(db, IngestOptions(topic_prefix=settings.topic_prefix))
    now = dt.datetime.now(dt.UTC)
    result = await ingest.ingest([Incoming(data, device.topic(settings.topic_prefix), now, "mqtt")])
    assert result.count("stored") == 1
    async with db.sessions() as session:
        hold_id = await session.scalar(select(Hold.id).where(Hold.event_id == event.event_id))
    return f"H{hold_id}"


async def unit_status(api: Client, headers: dict[str, str], serial: str) -> str:
    body = (await api.get(f"/api/units/{GTIN}:{serial}", headers=headers)).json()
    status: str = body["unit"]["status"]
    return status


async def test_a_signed_release_closes_an_edge_hold_and_shows_with_the_unit(
    api: Client, as_role: Roles, plant: dict[str, Device], db: Database, settings: Settings
) -> None:
    h1 = await held_at_sealing(db, plant["sealing"], settings, "SN1")
    assert await unit_status(api, as_role["auditor"], "SN1") == "held"

    response = await api.post(
        f"/api/holds/{h1}/dispositions", json=release(), headers=as_role["quality"]
    )
    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["hold"]["status"], result["units_changed"], result["commands_queued"]) == (
        "closed",
        1,
        0,
    )
    signature = result["disposition"]["signature"]
    assert (signature["printed_name"], signature["username"], signature["meaning"]) == (
        "Quinn Quality",
        "quinn",
        "approved for release",
    )
    assert signature["reason"] == "re-inspected: seal intact"
    assert await unit_status(api, as_role["auditor"], "SN1") == "in_process"

    history = (await api.get(f"/api/units/{GTIN}:SN1", headers=as_role["auditor"])).json()
    (hold,) = history["holds"]
    assert hold["reasons"] == [{"code": "param.out_of_limits", "text": "seal_temp 195 > 190"}]
    assert hold["dispositions"][0]["signature"] == signature

    signed = (
        await api.get(f"/api/signatures/{signature['signature_id']}", headers=as_role["auditor"])
    ).json()
    assert signed["intact"] is True
    assert signed["content"]["record"]["hold"]["serial"] == "SN1"
    assert signed["content"]["printed_name"] == "Quinn Quality"

    again = await api.post(
        f"/api/holds/{h1}/dispositions", json=release(), headers=as_role["quality"]
    )
    assert again.status_code == 409
    assert again.json()["detail"].startswith(f"hold {h1} was closed at ")


async def test_a_signature_needs_the_signers_own_password_role_and_a_known_meaning(
    api: Client, as_role: Roles, plant: dict[str, Device], db: Database, settings: Settings
) -> None:
    h1 = await held_at_sealing(db, plant["sealing"], settings, "SN1")
    url = f"/api/holds/{h1}/dispositions"
    quality = as_role["quality"]
    wrong = await api.post(url, json=release(password="guess"), headers=quality)
    assert (wrong.status_code, wrong.json()["detail"]) == (401, "wrong username or password")
    other = await api.post(url, json=release(username="ada"), headers=quality)
    assert (other.status_code, other.json()["detail"]) == (
        403,
        "a signature in this session must be 'quinn''s own, got the username 'ada'",
    )
    meaning = await api.post(url, json=release(meaning="ok"), headers=quality)
    assert (meaning.status_code, meaning.json()["detail"]) == (
        422,
        "meaning: expected one of ['approved for release'], got 'ok'",
    )
    operator = await api.post(url, json=release(username="olga"), headers=as_role["operator"])
    assert operator.status_code == 403
    failed = (
        await api.get(
            "/api/audit/entries", params={"record_type": "users"}, headers=as_role["auditor"]
        )
    ).json()
    assert [(e["actor"], e["action"], e["request"]) for e in failed if e["actor"] != "system"] == [
        ("quinn", "signature_failed", f"POST /api/holds/{h1}/dispositions")
    ]
    assert await unit_status(api, as_role["auditor"], "SN1") == "held"


async def test_five_wrong_passwords_lock_the_account(
    api: Client, as_role: Roles, plant: dict[str, Device], db: Database, settings: Settings
) -> None:
    h1 = await held_at_sealing(db, plant["sealing"], settings, "SN1")
    url = f"/api/holds/{h1}/dispositions"
    for _ in range(5):
        await api.post(url, json=release(password="nope"), headers=as_role["quality"])
    locked = await api.post(url, json=release(), headers=as_role["quality"])
    assert locked.status_code == 401
    assert locked.json()["detail"].startswith("account 'quinn' is locked until ")
    login = await api.post("/api/auth/login", json={"username": "quinn", "password": PASSWORD})
    assert login.status_code == 401


async def test_scrap_rework_and_quarantine(
    api: Client, as_role: Roles, plant: dict[str, Device], db: Database, settings: Settings
) -> None:
    holds = [
        await held_at_sealing(db, plant["sealing"], settings, s) for s in ("SN1", "SN2", "SN3")
    ]
    for hold_id, decision, meaning in zip(
        holds,
        ("scrap", "rework", "quarantine"),
        ("approved for scrap", "approved for rework", "quarantine confirmed"),
        strict=True,
    ):
        done = await api.post(
            f"/api/holds/{hold_id}/dispositions",
            json=release(decision=decision, meaning=meaning),
            headers=as_role["quality"],
        )
        assert done.status_code == 201, done.text
    auditor = as_role["auditor"]
    assert [await unit_status(api, auditor, s) for s in ("SN1", "SN2", "SN3")] == [
        "scrapped",
        "in_process",
        "held",
    ]
    listed = (await api.get("/api/holds", headers=auditor)).json()
    assert [(h["hold_id"], h["status"]) for h in listed] == list(
        zip(holds, ("closed", "closed", "open"), strict=True)
    )


async def test_releasing_a_cloud_hold_sends_cmd_release_to_the_edges(
    api: Client,
    as_role: Roles,
    plant: dict[str, Device],
    settings: Settings,
    mosquitto: OwnMosquitto,
) -> None:
    placed = await api.post(
        "/api/holds",
        json={"scope": "lot", "di": GTIN, "lot": "A1B2C3", "reason": "supplier notice"},
        headers=as_role["operator"],
    )
    assert placed.status_code == 201, placed.text
    hold_id = placed.json()["hold_id"]
    live = Collector(
        mosquitto.port, f"{settings.topic_prefix}/+/+/+/cmd/release", client_id=secrets.token_hex(6)
    )
    try:
        done = await api.post(
            f"/api/holds/{hold_id}/dispositions", json=release(), headers=as_role["quality"]
        )
        assert done.json()["commands_queued"] == 5
        await wait_until(lambda: len(live.snapshot()) == 5, what="5 releases published")
    finally:
        live.close()
    command = decode_command(live.snapshot()[0][1])
    assert isinstance(command, commands.Release)
    assert (command.hold_id, command.signed_by, command.reason) == (
        hold_id,
        "quinn",
        "re-inspected: seal intact",
    )


async def test_an_altered_signed_record_no_longer_matches_its_signature(
    api: Client, as_role: Roles, plant: dict[str, Device], db: Database, settings: Settings
) -> None:
    h1 = await held_at_sealing(db, plant["sealing"], settings, "SN1")
    done = (
        await api.post(f"/api/holds/{h1}/dispositions", json=release(), headers=as_role["quality"])
    ).json()
    signature_id = done["disposition"]["signature"]["signature_id"]
    async with db.engine.begin() as connection:
        await connection.execute(
            text("UPDATE signatures SET content = replace(content, 'SN1', 'SN2')")
        )
    signed = (await api.get(f"/api/signatures/{signature_id}", headers=as_role["auditor"])).json()
    assert signed["intact"] is False


async def test_nonconformance_and_capa_carry_open_and_close_times_and_signatures(
    api: Client, as_role: Roles, plant: dict[str, Device], db: Database, settings: Settings
) -> None:
    h1 = await held_at_sealing(db, plant["sealing"], settings, "SN1")
    opened = await api.post(
        "/api/nonconformances",
        json={"title": "Seal temperature high", "holds": [h1]},
        headers=as_role["operator"],
    )
    assert opened.status_code == 201, opened.text
    nc = opened.json()
    assert (nc["status"], nc["holds"], nc["opened_by"]) == ("open", [h1], "olga")
    capa = (
        await api.post(
            "/api/capas",
            json={"title": "Recalibrate sealer", "nonconformances": [nc["number"]]},
            headers=as_role["quality"],
        )
    ).json()
    assert capa["nonconformances"] == [nc["number"]]
    close = {
        "meaning": "reviewed and closed",
        "reason": "sealer recalibrated",
        "username": "quinn",
        "password": PASSWORD,
    }
    quality = as_role["quality"]
    early = await api.post(f"/api/capas/{capa['number']}/close", json=close, headers=quality)
    assert (early.status_code, early.json()["detail"]) == (
        409,
        f"{capa['number']} still has open nonconformances ['{nc['number']}']: close them first",
    )
    closed_nc = await api.post(
        f"/api/nonconformances/{nc['number']}/close", json=close, headers=quality
    )
    assert closed_nc.status_code == 200, closed_nc.text
    body = closed_nc.json()
    assert body["status"] == "closed" and body["closed_by"] == "quinn"
    assert body["closed_at"] >= body["opened_at"]
    assert body["signatures"][0]["meaning"] == "reviewed and closed"
    closed_capa = await api.post(f"/api/capas/{capa['number']}/close", json=close, headers=quality)
    assert closed_capa.json()["status"] == "closed"
    history = (await api.get(f"/api/units/{GTIN}:SN1", headers=as_role["auditor"])).json()
    assert history["holds"][0]["nonconformances"] == [nc["number"]]
