"""Trace on a five-level genealogy with split and merged lots, repacking and partial shipments,
on PostgreSQL and SQLite: every answer is checked against the scenario's own model."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from issue8_scenario import (
    CASE3,
    CATHETER,
    KIT,
    RESIN,
    SEAL_TEMPS,
    TUBESET,
    TUBING,
    Node,
    Story,
    lot,
    unit,
)
from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]
Roles = dict[str, dict[str, str]]


def node_of(item: dict[str, Any]) -> Node:
    return (item["kind"], item["di"], item["serial"] if item["kind"] == "unit" else item["lot"])


def forward_answer(units: list[dict[str, Any]]) -> dict[Node, tuple[Any, ...]]:
    return {
        ("unit", u["di"], u["serial"]): (
            u["stage"],
            u["container"],
            u["outer_container"],
            u["shipment"],
        )
        for u in units
    }


def expected_forward(story: Story, seeds: set[Node]) -> dict[Node, tuple[Any, ...]]:
    m = story.model
    hit: set[Node] = set()
    for seed in seeds:
        hit |= m.descendants(seed) | ({seed} if seed[0] == "unit" else set())
    return {n: (m.stage(n), *m.placement(n)) for n in hit if n[0] == "unit"}


async def test_backward_trace_reaches_the_supplier_lots_with_each_steps_data(
    api: Client, as_role: Roles, story: Story
) -> None:
    kit2 = unit(KIT, "KIT2")
    udi = quote("(01)09506000134352(10)K1(21)KIT2", safe="")
    response = await api.get(f"/api/trace/backward/{udi}", headers=as_role["auditor"])
    assert response.status_code == 200, response.text
    body = response.json()
    depths = {node_of(n): n["depth"] for n in body["nodes"]}
    assert depths == story.model.depths(kit2)
    assert max(depths.values()) == 4
    keys = {n["key"]: node_of(n) for n in body["nodes"]}
    assert {keys[k] for k in body["supplier_lots"]} == {
        n for n in story.model.ancestors(kit2) if n[0] == "lot" and not story.model.ancestors(n)
    }
    assert {(keys.get(e["parent"], kit2), keys[e["child"]]) for e in body["edges"]} == {
        (p, c) for p, c in story.model.edges if p in story.model.ancestors(kit2) | {kit2}
    }
    seal = {
        node_of(n)[2]: [m["value"] for m in n["measurements"] if m["parameter"] == "seal_temp"]
        for n in body["nodes"]
        if n["kind"] == "unit" and n["di"] == CATHETER
    }
    assert seal == {"CA2": [SEAL_TEMPS["CA2"]], "CA3": [SEAL_TEMPS["CA3"]]}
    assert [m["parameter"] for m in body["measurements"]] == ["leak_rate"]

    # A tube set: no process data anywhere in it, only lots below it.
    tube_set = unit(TUBESET, "TS1")
    response = await api.get(f"/api/trace/backward/{TUBESET}:TS1", headers=as_role["auditor"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["unit"]["serial"] == "TS1"
    assert body["measurements"] == []
    assert {node_of(n): n["depth"] for n in body["nodes"]} == story.model.depths(tube_set)
    assert all(n["measurements"] == [] for n in body["nodes"])


LOTS = [
    lot(TUBING, "TUBE-A"),
    lot(TUBING, "TUBE-A2"),
    lot(RESIN, "RESIN-1"),
    lot(RESIN, "RESIN-M"),
    lot("09506000134383", "CONN-1"),
    lot("09506000134390", "FILM-1"),
]


async def test_forward_trace_of_a_lot_finds_every_unit_its_place_and_recipient(
    api: Client, as_role: Roles, story: Story
) -> None:
    for origin in LOTS:
        response = await api.get(
            "/api/trace/forward",
            params={"di": origin[1], "lot": origin[2]},
            headers=as_role["operator"],
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert forward_answer(body["units"]) == expected_forward(story, {origin}), origin
        for u in body["units"]:
            if u["shipment"]:
                container, outer, _ = story.model.placement(unit(KIT, u["serial"]))
                recipient = story.model.shipped[outer or container or ""][1]
                assert (u["recipient_name"], u["recipient_address"]) == (
                    recipient.name,
                    "\n".join((*recipient.address_lines, recipient.region or "", "US")),
                )


async def test_forward_trace_of_a_production_lot_includes_its_own_units(
    api: Client, as_role: Roles, story: Story
) -> None:
    body = (await api.get(f"/api/trace/forward?di={KIT}&lot=K1", headers=as_role["quality"])).json()
    kits = {n for n in story.model.units() if n[1] == KIT}
    assert forward_answer(body["units"]) == expected_forward(story, kits)
    assert body["by_stage"] == {"in_process": 1, "in_stock": 1, "shipped": 3}


async def test_forward_trace_of_a_component_unit(api: Client, as_role: Roles, story: Story) -> None:
    body = (
        await api.get(
            "/api/trace/forward", params={"unit": f"{CATHETER}:CA3"}, headers=as_role["admin"]
        )
    ).json()
    expected = expected_forward(story, {unit(CATHETER, "CA3")})
    del expected[unit(CATHETER, "CA3")]  # what it went into, not the unit itself
    assert forward_answer(body["units"]) == expected
    assert [u["serial"] for u in body["units"]] == ["KIT2"]
    assert body["units"][0]["container"] == CASE3


UNIT_IDS = [
    quote("0109506000134352" + "10K1\x1d21KIT2", safe=""),
    quote("0109506000134352" + "10K1\\x1d21KIT2", safe=""),
    quote("https://id.gs1.org/01/09506000134352/10/K1/21/KIT2", safe=""),
    "https://id.gs1.org/01/09506000134352/21/KIT2",
    quote("]d20109506000134352" + "21KIT2", safe=""),
    f"{KIT}:KIT2",
]


async def test_the_device_history_record_of_a_repacked_unit(
    api: Client, as_role: Roles, story: Story
) -> None:
    answers = []
    for unit_id in UNIT_IDS:
        response = await api.get(f"/api/units/{unit_id}", headers=as_role["auditor"])
        assert response.status_code == 200, (unit_id, response.text)
        answers.append(response.json())
    assert all(a == answers[0] for a in answers)
    body = answers[0]
    assert body["unit"]["udi"] == "(01)09506000134352(10)K1(21)KIT2"
    assert body["unit"]["production_date"] == "2026-03-01"
    assert [(e["kind"], e["role"]) for e in body["events"]] == [
        ("unit.assembled", "parent"),
        ("unit.inspected", "subject"),
        ("unit.packed", "packed"),
        ("unit.unpacked", "unpacked"),
        ("unit.packed", "packed"),
    ]
    assert body["events"][1]["decision"] == "pass"
    assert body["placement"] == {
        "container": CASE3,
        "outer_container": None,
        "shipment": None,
        "recipient_name": None,
        "recipient_address": None,
        "ship_date": None,
    }
    assert sorted(c["serial"] for c in body["components"]) == ["CA2", "CA3"]
    assert body["shipments"] == [] and body["holds"] == []


async def test_a_shipped_unit_shows_its_shipment(api: Client, as_role: Roles, story: Story) -> None:
    by_query = await api.get(
        "/api/units", params={"di": KIT, "serial": "KIT3"}, headers=as_role["operator"]
    )
    body = by_query.json()
    assert body["placement"]["shipment"] == "SHP-1"
    assert body["placement"]["recipient_name"] == "St. Elsewhere Hospital"
    assert body["shipments"] == ["SHP-1"]


async def test_unknown_and_malformed_units_are_named(
    api: Client, as_role: Roles, story: Story
) -> None:
    missing = await api.get(f"/api/units/{KIT}:KIT9", headers=as_role["auditor"])
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"unit with unit_id '{KIT}:KIT9' not found"
    missing = await api.get(f"/api/trace/backward/{KIT}:KIT9", headers=as_role["auditor"])
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"unit with unit_id '{KIT}:KIT9' not found"
    garbage = await api.get("/api/trace/backward/nonsense", headers=as_role["auditor"])
    assert garbage.status_code == 422
    assert garbage.json()["detail"] == (
        "unit_id: expected a UDI (GS1 element string, (01) text, Digital Link URI or HIBC) or "
        "DI:serial, got 'nonsense' (Unknown UDI format for 'nonsense': Expected GS1 data "
        "(element string, '(01)...' text or Digital Link URI) or HIBC data starting with '+'.)"
    )
