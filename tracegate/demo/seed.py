"""Master data the demo creates through the cloud's API before the line runs: the product,
the materials of its bill of materials, customers, and the work order with that bill of
materials (activated: the cloud sends it to every checkpoint, assembly included)."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from edge.sim.units import SimLine
from tracegate.demo.api import CloudApi
from tracegate.demo.stations.materials import DemoMaterials

WORK_ORDER = "WO-DEMO-0001"

CUSTOMERS = (
    {
        "code": "STE-BOS",
        "name": "St. Elsewhere Hospital",
        "country": "US",
        "street": "1 Main St",
        "city": "Boston",
        "postal_code": "02118",
        "region": "MA",
    },
    {
        "code": "KLN-UKK",
        "name": "Klinikum Nord",
        "country": "DE",
        "street": "Nordring 5",
        "city": "Hamburg",
        "postal_code": "20095",
        "region": "HH",
    },
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Seeded:
    product_di: str
    lot: str
    work_order: str
    customers: tuple[str, ...]


async def seed(
    api: CloudApi, line: SimLine, *, site: str, line_id: str, route: list[str], quantity: int
) -> Seeded:
    """Create the product of `line`, the materials, the customers and the work order;
    activate it."""
    product = line.product
    first = line.unit(0).udi
    await api.post(
        "/api/products",
        {
            "di": product.di,
            "issuer": "GS1" if product.issuer == "gs1" else "HIBCC",
            "name": "Single-use catheter kit",
            "model": "CK-12F",
            "brand_name": "Tracegate Demo",
            "company_name": "Galway Plant",
            "sterile": True,
            "single_use": True,
        },
    )
    for material in DemoMaterials.catalog():
        await api.post("/api/materials", material)
    for customer in CUSTOMERS:
        await api.post("/api/customers", customer)
    await api.post(
        "/api/work-orders",
        {
            "number": WORK_ORDER,
            "product": product.di,
            "site": site,
            "line": line_id,
            "lot": line.lot,
            "quantity": quantity,
            "expiry": first.expiry.isoformat(),
            "production_date": first.production_date.isoformat(),
            "route": route,
            "bom": msgspec.to_builtins(DemoMaterials.bom()),
        },
    )
    await api.post(f"/api/work-orders/{WORK_ORDER}/activate")
    return Seeded(
        product_di=product.di,
        lot=line.lot,
        work_order=WORK_ORDER,
        customers=tuple(c["code"] for c in CUSTOMERS),
    )
