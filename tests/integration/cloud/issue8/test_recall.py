"""Recalls on the five-level scenario, on PostgreSQL and SQLite: every scope kind and their
combinations checked against the scenario's model; the snapshot is frozen and hashed; in-house
units are held at the line over MQTT; notices, acknowledgements, returns; a mock recall."""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
from collections import Counter
from typing import Any

from access_helpers import PASSWORD
from cloud_helpers import Collector, Device, OwnMosquitto, wait_until
from issue8_scenario import (
    CASE1,
    CATHETER,
    KIT,
    PRODUCTION_DATES,
    RESIN,
    SEAL_TEMPS,
    TUBING,
    Node,
    Story,
    lot,
    unit,
)
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from cloud.db.database import Database
from cloud.domain.events.ingest import EventIngestService, IngestOptions
from cloud.domain.events.validation import Incoming
from cloud.settings import Settings
from protocols import commands
from protocols.codec import decode_command
from protocols.parts import ContainerRef

Client = AsyncTestClient[Litestar]
Roles = dict[str, dict[str, str]]


def udi(node: Node) -> str:
    lots = {KIT: "K1", CATHETER: "C1"}
    return f"(01){node[1]}(10){lots[node[1]]}(21){node[2]}"


def expected_impact(story: Story, seeds: set[Node]) -> dict[str, Any]:
    m = story.model
    ends = m.end_units(seeds)
    recipients: dict[str, list[Node]] = {}
    for node in ends:
        shipment = m.placement(node)[2]
        if shipment:
            recipients.setdefault(shipment, []).append(node)
    return {
        "unit_count": len(ends),
        "by_stage": dict(sorted(Counter(m.stage(n) for n in ends).items())),
        "recipients": {
            shipment: sorted(udi(n) for n in nodes) for shipment, nodes in recipients.items()
        },
    }


def answer(impact: dict[str, Any]) -> dict[str, Any]:
    return {
        "unit_count": impact["unit_count"],
        "by_stage": impact["by_stage"],
        "recipients": {r["shipment"]: r["udis"] for r in impact["recipients"]},
    }


def window() -> dict[str, str]:
    now = dt.datetime.now(dt.UTC)
    return {
        "start": (now - dt.timedelta(hours=1)).isoformat(),
        "end": (now + dt.timedelta(hours=1)).isoformat(),
    }


def scopes(story: Story) -> list[tuple[dict[str, Any], set[Node]]]:
    """(scope as posted, its seeds in the model)."""
    kits = {n for n in story.model.units() if n[1] == KIT}
    hot = {unit(CATHETER, s) for s, t in SEAL_TEMPS.items() if t > 185}
    outside = {unit(CATHETER, s) for s, t in SEAL_TEMPS.items() if not 181.5 <= t <= 186.8}
    cold = {unit(CATHETER, s) for s, t in SEAL_TEMPS.items() if t < 181.5}
    sealing = next(d for d, _, e in story.events if e.checkpoint == "sealing")
    on_second = {n for n in kits if PRODUCTION_DATES[n[2]] == dt.date(2026, 3, 2)}
    tube_a2 = lot(TUBING, "TUBE-A2")
    return [
        ({"lots": [{"di": TUBING, "lots": ["TUBE-A2"]}]}, {tube_a2}),
        ({"lots": [{"di": RESIN, "lots": ["RESIN-1", "RESIN-2"]}]}, {lot(RESIN, "RESIN-1")}),
        ({"lots": [{"di": KIT, "lots": ["K1"]}]}, kits),
        ({"units": [f"{CATHETER}:CA3"]}, {unit(CATHETER, "CA3")}),
        (
            {"serials": [{"di": KIT, "first": "KIT1", "last": "KIT3"}]},
            {unit(KIT, f"KIT{n}") for n in (1, 2, 3)},
        ),
        ({"production": [{"first": "2026-03-02", "last": "2026-03-02"}]}, on_second),
        (
            {
                "excursions": [
                    {"checkpoint": "sealing", "parameter": "seal_temp", "high": 185, **window()}
                ]
            },
            hot,
        ),
        (
            {
                "excursions": [
                    {
                        "checkpoint": "sealing",
                        "parameter": "seal_temp",
                        "low": 181.5,
                        "high": 186.8,
                        **window(),
                    }
                ]
            },
            outside,
        ),
        (
            {
                "excursions": [
                    {
                        "checkpoint": "sealing",
                        "parameter": "seal_temp",
                        "low": 181.5,
                        "line": sealing.line,
                        "site": sealing.site,
                        **window(),
                    }
                ]
            },
            cold,
        ),
        (
            {
                "lots": [{"di": TUBING, "lots": ["TUBE-A2"]}],
                "production": [{"first": "2026-03-02", "last": "2026-03-02"}],
                "match": "all",
            },
            story.model.end_units({tube_a2}) & on_second,
        ),
        (
            {
                "serials": [{"di": KIT, "first": "KIT1", "last": "KIT1"}],
                "units": [f"(01){CATHETER}(21)CA5"],
            },
            {unit(KIT, "KIT1"), unit(CATHETER, "CA5")},
        ),
    ]


async def test_every_scope_kind_and_their_combinations(
    api: Client, as_role: Roles, story: Story
) -> None:
    for scope, seeds in scopes(story):
        response = await api.post("/api/recalls/preview", json=scope, headers=as_role["quality"])
        assert response.status_code == 200, (scope, response.text)
        assert answer(response.json()) == expected_impact(story, seeds), scope


async def test_the_impact_names_containers_recipients_and_regions(
    api: Client, as_role: Roles, story: Story
) -> None:
    impact = (
        await api.post(
            "/api/recalls/preview",
            json={"lots": [{"di": TUBING, "lots": ["TUBE-A"]}]},
            headers=as_role["quality"],
        )
    ).json()
    assert impact["by_stage"] == {"in_process": 1, "in_stock": 1, "shipped": 3}
    assert [
        (r["shipment"], r["name"], r["country"], r["region"], r["quantity"])
        for r in impact["recipients"]
    ] == [
        ("SHP-1", "St. Elsewhere Hospital", "US", "MA", 2),
        ("SHP-2", "Clinic B", "US", "CA", 1),
    ]
    assert impact["recipients"][0]["address"] == "1 Main St\nBoston MA 02118\nMA\nUS"
    assert impact["recipients"][0]["ship_date"] == dt.datetime.now(dt.UTC).date().isoformat()
    assert impact["by_region"] == [
        {"country": "US", "region": "CA", "recipients": 1, "units": 1},
        {"country": "US", "region": "MA", "recipients": 1, "units": 2},
    ]
    containers = {
        c["sscc"]: (c["outer_container"], c["units"], c["shipment"]) for c in impact["containers"]
    }
    m = story.model
    expected: Counter[tuple[str | None, str | None, str | None]] = Counter(
        m.placement(n) for n in m.end_units({lot(TUBING, "TUBE-A")}) if m.placement(n)[0]
    )
    assert containers == {c: (o, n, s) for (c, o, s), n in expected.items()}


async def test_a_recall_freezes_its_lists_holds_in_house_units_and_tracks_execution(
    api: Client,
    as_role: Roles,
    story: Story,
    settings: Settings,
    mosquitto: OwnMosquitto,
    db: Database,
    plant: dict[str, Device],
) -> None:
    quality = as_role["quality"]
    live = Collector(
        mosquitto.port, f"{settings.topic_prefix}/+/+/+/cmd/hold", client_id=secrets.token_hex(6)
    )
    try:
        created = await api.post(
            "/api/recalls",
            json={
                "title": "Resin contamination",
                "reason": "supplier notice 2026-17",
                "scope": {"lots": [{"di": RESIN, "lots": ["RESIN-1"]}]},
            },
            headers=quality,
        )
        assert created.status_code == 201, created.text
        recall = created.json()
        await wait_until(lambda: len(live.snapshot()) == 5, what="5 cmd/hold published")
    finally:
        live.close()
    number = recall["number"]
    assert (recall["unit_count"], recall["by_stage"], recall["holds_placed"]) == (
        2,
        {"in_stock": 1, "shipped": 1},
        1,
    )
    assert recall["commands_queued"] == 5
    assert set(recall["timings_ms"]) >= {"scope_and_impact", "snapshot", "quarantine", "total"}
    hold = decode_command(live.snapshot()[0][1])
    assert isinstance(hold, commands.Hold)
    assert [(u.di, u.serial) for u in hold.scope.units] == [(KIT, "KIT2")]
    kit2 = (await api.get(f"/api/units/{KIT}:KIT2", headers=quality)).json()
    assert kit2["unit"]["status"] == "held"
    assert kit2["recalls"] == [number]

    units = (await api.get(f"/api/recalls/{number}/units", headers=quality)).json()
    assert [(u["serial"], u["stage"], u["container"]) for u in units] == [
        ("KIT1", "shipped", CASE1),
        ("KIT2", "in_stock", story.model.placement(unit(KIT, "KIT2"))[0]),
    ]
    as_csv = await api.get(f"/api/recalls/{number}/recipients?format=csv", headers=quality)
    assert as_csv.headers["content-type"].startswith("text/csv")
    header, row = list(csv.reader(io.StringIO(as_csv.text)))
    assert header[:9] == [
        "recipient_id",
        "shipment",
        "name",
        "address",
        "country",
        "region",
        "ship_date",
        "quantity",
        "udis",
    ]
    assert row[1:9] == [
        "SHP-1",
        "St. Elsewhere Hospital",
        "1 Main St\nBoston MA 02118\nMA\nUS",
        "US",
        "MA",
        dt.datetime.now(dt.UTC).date().isoformat(),
        "1",
        udi(unit(KIT, "KIT1")),
    ]
    (recipient,) = (await api.get(f"/api/recalls/{number}/recipients", headers=quality)).json()
    assert (recipient["name"], recipient["quantity"], recipient["udis"]) == (
        "St. Elsewhere Hospital",
        1,
        [udi(unit(KIT, "KIT1"))],
    )

    verified = (await api.get(f"/api/recalls/{number}/verify", headers=quality)).json()
    assert verified["intact"] is True
    assert verified["recorded_hash"] == recall["snapshot_hash"]

    (notice,) = (await api.post(f"/api/recalls/{number}/notices", json={}, headers=quality)).json()
    assert notice["subject"] == f"Urgent medical device recall {number}: Resin contamination"
    assert udi(unit(KIT, "KIT1")) in notice["body"]
    acked = await api.post(
        f"/api/recalls/{number}/recipients/{recipient['recipient_id']}/acknowledge",
        json={"acknowledged_by": "Dr. Jones, materials management"},
        headers=quality,
    )
    assert acked.status_code == 200, acked.text

    receiving = plant["receiving"]
    _, returned = receiving.received((ContainerRef(sscc=CASE1),))
    ingest = EventIngestService(db, IngestOptions(topic_prefix=settings.topic_prefix))
    now = dt.datetime.now(dt.UTC)
    await ingest.ingest([Incoming(returned, receiving.topic(settings.topic_prefix), now, "mqtt")])
    progress = (await api.get(f"/api/recalls/{number}", headers=quality)).json()["progress"]
    assert progress == {
        "recipients": 1,
        "notified": 1,
        "acknowledged": 1,
        "effectiveness_pct": 100.0,
        "shipped_units": 1,
        "returned_units": 1,
        "returned_pct": 100.0,
        "in_house_units": 1,
        "quarantined_units": 1,
    }

    closed = await api.post(
        f"/api/recalls/{number}/close",
        json={
            "meaning": "recall completed",
            "reason": "all consignees answered, unit returned",
            "username": "quinn",
            "password": PASSWORD,
        },
        headers=quality,
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert closed.json()["signatures"][0]["printed_name"] == "Quinn Quality"

    async with db.engine.begin() as connection:
        await connection.execute(text("UPDATE recall_units SET status = 'in_stock'"))
    tampered = (await api.get(f"/api/recalls/{number}/verify", headers=quality)).json()
    assert tampered["intact"] is False


async def test_a_mock_recall_runs_every_step_and_holds_nothing(
    api: Client, as_role: Roles, story: Story
) -> None:
    quality = as_role["quality"]
    created = await api.post(
        "/api/recalls",
        json={
            "title": "Drill",
            "reason": "quarterly mock recall",
            "mode": "mock",
            "scope": {"lots": [{"di": TUBING, "lots": ["TUBE-A"]}]},
        },
        headers=quality,
    )
    assert created.status_code == 201, created.text
    recall = created.json()
    assert (recall["mode"], recall["unit_count"], recall["holds_placed"]) == ("mock", 5, 0)
    assert recall["commands_queued"] == 0
    assert set(recall["timings_ms"]) == {
        "scope_and_impact",
        "snapshot",
        "quarantine",
        "notices",
        "total",
        "notices_prepared",
    }
    assert recall["timings_ms"]["notices_prepared"] == 2
    kit2 = (await api.get(f"/api/units/{KIT}:KIT2", headers=quality)).json()
    assert kit2["unit"]["status"] == "in_stock"
    refused = await api.post(f"/api/recalls/{recall['number']}/notices", json={}, headers=quality)
    assert (refused.status_code, refused.json()["detail"]) == (
        409,
        f"{recall['number']} is a mock recall: it notifies no one",
    )


async def test_scope_errors_name_the_field(api: Client, as_role: Roles, story: Story) -> None:
    quality = as_role["quality"]
    empty = await api.post("/api/recalls/preview", json={}, headers=quality)
    assert (empty.status_code, empty.json()["detail"]) == (
        422,
        "scope: expected at least one of lots, serials, units, production, excursions",
    )
    no_limits = await api.post(
        "/api/recalls/preview",
        json={"excursions": [{"checkpoint": "sealing", "parameter": "seal_temp", **window()}]},
        headers=quality,
    )
    assert no_limits.json()["detail"] == (
        "scope.excursions[0]: expected low, high or both, got neither"
    )
    backwards = await api.post(
        "/api/recalls/preview",
        json={"serials": [{"di": KIT, "first": "KIT9", "last": "KIT1"}]},
        headers=quality,
    )
    assert backwards.json()["detail"] == "scope.serials[0]: first 'KIT9' comes after last 'KIT1'"
