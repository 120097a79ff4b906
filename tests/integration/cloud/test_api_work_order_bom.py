"""A work order's bill of materials through the API, on PostgreSQL and SQLite: checked when
set (component DIs, catalog, units, quantities, duplicates, the product itself), returned,
changed only while the order is a draft, audited, and carried by `cmd/workorder` as the
line's edges receive it from Mosquitto."""

from __future__ import annotations

import json
import secrets
from typing import Any

from cloud_helpers import GTIN, Collector, Device, OwnMosquitto, wait_until
from litestar import Litestar
from litestar.testing import AsyncTestClient

from cloud.settings import Settings
from protocols import commands
from protocols.codec import decode_command

Client = AsyncTestClient[Litestar]
TUBING = "05391234000108"
CONNECTOR = "05391234000207"
SUBASSEMBLY = "09506000134369"
HIBC_PART = "A99912345"
BOM = [
    {"di": TUBING, "quantity_per_unit": 0.5, "unit_of_measure": "m"},
    {"di": CONNECTOR, "quantity_per_unit": 2, "unit_of_measure": "EA"},
]


def problem(response: Any) -> tuple[int, list[tuple[str, str]]]:
    body = response.json()
    return response.status_code, [(e["key"], e["message"]) for e in body.get("extra", [])]


async def catalog(client: Client, *, materials: bool = True) -> None:
    for product in (
        {"di": GTIN, "issuer": "GS1", "name": "Catheter kit"},
        {"di": SUBASSEMBLY, "issuer": "GS1", "name": "Catheter 14 Fr"},
    ):
        assert (await client.post("/api/products", json=product)).status_code == 201
    if materials:
        for material in (
            {"code": "TUBE-3MM", "name": "PVC tubing 3 mm", "di": TUBING, "uom": "m"},
            {"code": "LUER", "name": "Luer connector", "di": CONNECTOR, "uom": "EA"},
        ):
            assert (await client.post("/api/materials", json=material)).status_code == 201


def order(number: str = "WO-1", **more: Any) -> dict[str, Any]:
    return {
        "number": number,
        "product": GTIN,
        "site": "plant-t",
        "line": "line-1",
        "lot": "L1",
        "quantity": 500,
        "route": ["assembly", "sealing"],
        **more,
    }


async def test_the_bom_is_stored_changed_while_a_draft_audited_and_sent_to_the_edges(
    client: Client, plant: dict[str, Device], settings: Settings, mosquitto: OwnMosquitto
) -> None:
    await catalog(client)
    created = await client.post("/api/work-orders", json=order(bom=BOM))
    assert created.status_code == 201, created.text
    assert created.json()["bom"] == [
        {"di": TUBING, "quantity_per_unit": 0.5, "unit_of_measure": "m"},
        {"di": CONNECTOR, "quantity_per_unit": 2.0, "unit_of_measure": "EA"},
    ]
    # The catheter is made here too: a product is a component as well as a material is.
    changed_bom = [*BOM, {"di": SUBASSEMBLY, "quantity_per_unit": 1}]
    changed = await client.patch("/api/work-orders/WO-1", json={"bom": changed_bom})
    assert changed.status_code == 200, changed.text
    assert [(x["di"], x["unit_of_measure"]) for x in changed.json()["bom"]] == [
        (TUBING, "m"),
        (CONNECTOR, "EA"),
        (SUBASSEMBLY, "EA"),
    ]
    untouched = await client.patch("/api/work-orders/WO-1", json={"quantity": 400})
    assert len(untouched.json()["bom"]) == 3
    assert (await client.get("/api/work-orders/WO-1")).json()["bom"] == changed.json()["bom"]

    entries = (await client.get("/api/audit/entries", params={"record_type": "work_orders"})).json()
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("create", "tester"),
        ("update", "tester"),
        ("update", "tester"),
    ]
    old, new = json.loads(entries[1]["old"]), json.loads(entries[1]["new"])
    assert [x["di"] for x in old["bom"]] == [TUBING, CONNECTOR]
    assert [x["di"] for x in new["bom"]] == [TUBING, CONNECTOR, SUBASSEMBLY]
    assert "bom" not in json.loads(entries[2]["new"])  # only the quantity changed then

    live = Collector(
        mosquitto.port,
        f"{settings.topic_prefix}/+/+/assembly/cmd/workorder",
        client_id=secrets.token_hex(6),
    )
    try:
        activated = await client.post("/api/work-orders/WO-1/activate")
        assert activated.status_code == 201, activated.text
        await wait_until(lambda: live.snapshot(), what="cmd/workorder at assembly")
    finally:
        live.close()
    ((topic, payload, _),) = live.snapshot()
    assert topic == f"{settings.topic_prefix}/plant-t/line-1/assembly/cmd/workorder"
    command = decode_command(payload)
    assert isinstance(command, commands.WorkOrder)
    assert command.bom == (
        commands.BomLine(di=TUBING, quantity_per_unit=0.5, unit_of_measure="m"),
        commands.BomLine(di=CONNECTOR, quantity_per_unit=2, unit_of_measure="EA"),
        commands.BomLine(di=SUBASSEMBLY, quantity_per_unit=1, unit_of_measure="EA"),
    )
    assert (command.work_order, command.products, command.quantity) == ("WO-1", (GTIN,), 400)

    late = await client.patch("/api/work-orders/WO-1", json={"bom": BOM})
    assert problem(late) == (
        409,
        [("status", "work order 'WO-1' is active: only a draft can be changed")],
    )
    assert len((await client.get("/api/work-orders/WO-1")).json()["bom"]) == 3


async def test_bad_boms_are_refused_naming_the_line(
    client: Client, plant: dict[str, Device]
) -> None:
    await catalog(client)

    async def refused(bom: list[dict[str, Any]]) -> tuple[int, list[tuple[str, str]]]:
        return problem(await client.post("/api/work-orders", json=order(bom=bom)))

    tubing = BOM[0]
    assert await refused([{**tubing, "di": "05391234000109"}]) == (
        422,
        [
            (
                "bom[0].di",
                "bom[0].di: Invalid GTIN check digit for '05391234000109': Expected 8, got 9.",
            )
        ],
    )
    assert await refused([tubing, {**tubing, "di": "0539123400010"}]) == (
        422,
        [
            (
                "bom[1].di",
                "bom[1].di: expected a GTIN-14 of 14 digits or a HIBCC DI (a letter first),"
                " got '0539123400010'",
            )
        ],
    )
    hibc = await refused([{"di": "A9", "quantity_per_unit": 1}])
    assert hibc[0] == 422 and hibc[1][0][0] == "bom[0].di"
    assert hibc[1][0][1].startswith("bom[0].di: expected a HIBCC DI: a labeler code")
    assert await refused([{"di": "0539-1234", "quantity_per_unit": 1}]) == (
        422,
        [("bom[0].di", "Expected `str` matching regex '^[0-9A-Z]+\\\\Z'")],
    )
    assert await refused([{**tubing, "quantity_per_unit": 0}]) == (
        422,
        [("bom[0].quantity_per_unit", "Expected `float` > 0.0")],
    )
    assert await refused([BOM[1], {**tubing, "quantity_per_unit": -0.5}]) == (
        422,
        [("bom[1].quantity_per_unit", "Expected `float` > 0.0")],
    )
    assert await refused([{"di": TUBING, "unit_of_measure": "m"}]) == (
        422,
        [("bom[0]", "Object missing required field `quantity_per_unit`")],
    )
    assert await refused([{**tubing, "qty": 1}]) == (
        422,
        [("bom[0]", "Object contains unknown field `qty`")],
    )
    assert await refused([*BOM, {**tubing, "quantity_per_unit": 1}]) == (
        422,
        [("bom[2].di", f"bom[2].di: component {TUBING} is already listed as bom[0]")],
    )
    assert await refused([BOM[1], {"di": GTIN, "quantity_per_unit": 1}]) == (
        422,
        [
            (
                "bom[1].di",
                f"bom[1].di: expected a component, got the work order's own product {GTIN}",
            )
        ],
    )
    assert await refused([{"di": "05391234000306", "quantity_per_unit": 1}]) == (
        422,
        [
            (
                "bom[0].di",
                "bom[0].di: no material or product with di '05391234000306' in the catalog",
            )
        ],
    )
    assert await refused([{**tubing, "unit_of_measure": "EA"}]) == (
        422,
        [
            (
                "bom[0].unit_of_measure",
                f"bom[0].unit_of_measure: expected m (the unit of material {TUBING}), got 'EA'",
            )
        ],
    )
    assert (await client.get("/api/work-orders")).json() == []  # nothing half-created

    # A bad change of a draft's BOM leaves the BOM it had.
    assert (await client.post("/api/work-orders", json=order(bom=BOM))).status_code == 201
    bad = await client.patch("/api/work-orders/WO-1", json={"bom": [BOM[0], BOM[0]]})
    assert problem(bad)[0] == 422
    assert (await client.get("/api/work-orders/WO-1")).json()["bom"] == [
        {**BOM[0]},
        {**BOM[1], "quantity_per_unit": 2.0},
    ]
    cleared = await client.patch("/api/work-orders/WO-1", json={"bom": []})
    assert cleared.json()["bom"] == []


async def test_without_materials_in_the_catalog_any_valid_component_di_is_taken(
    client: Client, plant: dict[str, Device]
) -> None:
    """A plant that keeps no materials in the cloud still gets its BOM checked for form."""
    await catalog(client, materials=False)
    bom = [
        {"di": "05391234000306", "quantity_per_unit": 1},
        {"di": HIBC_PART, "quantity_per_unit": 3, "unit_of_measure": "EA"},
    ]
    created = await client.post("/api/work-orders", json=order(bom=bom))
    assert created.status_code == 201, created.text
    assert [x["di"] for x in created.json()["bom"]] == ["05391234000306", HIBC_PART]
    no_bom = await client.post("/api/work-orders", json=order("WO-2"))
    assert no_bom.json()["bom"] == []
