"""Master-data API: CRUD with validation errors that name the field; health and OpenAPI."""

from __future__ import annotations

from typing import Any

from cloud_helpers import GTIN, Device, wait_until
from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]

KIT = {"di": GTIN, "issuer": "GS1", "name": "Catheter kit", "model": "CK-7"}


def problem(response: Any) -> tuple[int, list[tuple[str, str]]]:
    body = response.json()
    return response.status_code, [(e["key"], e["message"]) for e in body.get("extra", [])]


async def test_health_reports_database_and_broker(client: Client) -> None:
    async def connected() -> bool:
        response = await client.get("/health")
        return bool(response.json()["broker"]["commands_connected"])

    await wait_until(connected, what="command connection up")
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["dialect"] in ("sqlite", "postgresql")
    assert body["broker"]["ingest"] == "off"


async def test_openapi_is_served_at_schema(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert {"/api/products", "/api/events", "/api/work-orders/{number}/activate"} <= set(paths)


async def test_product_crud(client: Client) -> None:
    created = await client.post("/api/products", json=KIT)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Catheter kit"

    changed = await client.patch(f"/api/products/{GTIN}", json={"model": "CK-8", "sterile": True})
    assert (changed.json()["model"], changed.json()["sterile"]) == ("CK-8", True)
    assert [p["di"] for p in (await client.get("/api/products")).json()] == [GTIN]

    assert (await client.delete(f"/api/products/{GTIN}")).status_code == 204
    missing = await client.get(f"/api/products/{GTIN}")
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"product with di '{GTIN}' not found"


async def test_product_errors_name_the_field(client: Client) -> None:
    bad_check = await client.post("/api/products", json={**KIT, "di": "09506000134353"})
    assert problem(bad_check) == (
        422,
        [("di", "di: Invalid GTIN check digit for '09506000134353': Expected 2, got 3.")],
    )
    hibc = await client.post("/api/products", json={**KIT, "issuer": "HIBCC", "di": "9999123"})
    assert problem(hibc)[1][0][0] == "di"
    no_name = await client.post("/api/products", json={"di": GTIN, "issuer": "GS1"})
    assert problem(no_name) == (422, [("name", "Object missing required field `name`")])
    wrong_type = await client.post("/api/products", json={**KIT, "device_count": "two"})
    assert problem(wrong_type) == (
        422,
        [("device_count", "Expected `int`, got `str`")],
    )
    await client.post("/api/products", json=KIT)
    again = await client.post("/api/products", json=KIT)
    assert problem(again) == (409, [("di", f"product with di '{GTIN}' already exists")])


async def test_customer_crud_and_errors(client: Client) -> None:
    bad = await client.post(
        "/api/customers", json={"code": "C1", "name": "Hospital", "country": "usa"}
    )
    assert problem(bad) == (
        422,
        [("country", "Expected `str` matching regex '^[A-Z]{2}$'")],
    )
    created = await client.post(
        "/api/customers",
        json={"code": "C1", "name": "Hospital", "country": "US", "city": "Boston", "region": "MA"},
    )
    assert created.status_code == 201
    changed = await client.patch("/api/customers/C1", json={"city": "Cambridge"})
    assert changed.json()["city"] == "Cambridge"
    assert (await client.delete("/api/customers/C1")).status_code == 204
    assert (await client.get("/api/customers/C1")).status_code == 404


async def test_plant_and_devices(client: Client, plant: dict[str, Device]) -> None:
    sites = (await client.get("/api/sites")).json()
    assert [cp["code"] for cp in sites[0]["lines"][0]["checkpoints"]] == [
        "assembly",
        "packing",
        "receiving",
        "sealing",
        "shipping",
    ]
    added = await client.post(
        "/api/devices",
        json={
            "device_id": "edge-spare",
            "site": "plant-t",
            "line": "line-1",
            "checkpoint": "nowhere",
        },
    )
    assert problem(added) == (
        404,
        [("code", "checkpoint on line 'line-1' with code 'nowhere' not found")],
    )
    taken = await client.post(
        "/api/devices",
        json={
            "device_id": "edge-sealing",
            "site": "plant-t",
            "line": "line-1",
            "checkpoint": "packing",
        },
    )
    assert problem(taken) == (409, [("device_id", "device 'edge-sealing' is already registered")])


async def test_work_order_validation_names_the_field(
    client: Client, plant: dict[str, Device]
) -> None:
    await client.post("/api/products", json=KIT)
    order = {
        "number": "WO-1",
        "product": GTIN,
        "site": "plant-t",
        "line": "line-1",
        "lot": "L1",
        "quantity": 500,
        "route": ["sealing", "labeling"],
    }
    route = await client.post("/api/work-orders", json=order)
    assert problem(route) == (
        422,
        [
            (
                "route[1]",
                "route[1]: no checkpoint 'labeling' on line 'line-1' "
                "(it has assembly, packing, receiving, sealing, shipping)",
            )
        ],
    )
    dates = await client.post(
        "/api/work-orders",
        json={
            **order,
            "route": ["sealing"],
            "production_date": "2026-05-01",
            "expiry": "2026-04-30",
        },
    )
    assert problem(dates)[1] == [
        ("expiry", "expiry: expected a date on or after production_date 2026-05-01, got 2026-04-30")
    ]
    zero = await client.post("/api/work-orders", json={**order, "quantity": 0})
    assert problem(zero) == (422, [("quantity", "Expected `int` >= 1")])
    product = await client.post("/api/work-orders", json={**order, "product": "09506000134369"})
    assert problem(product)[1] == [("product", "product: no product with di '09506000134369'")]
