"""Request and response bodies of the work-order API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from protocols.scalars import Di, LotNumber, Segment, UnitOfMeasure

Number = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Quantity = Annotated[int, msgspec.Meta(gt=0)]
QuantityPerUnit = Annotated[float, msgspec.Meta(gt=0)]
MAX_BOM_LINES = 200


class BomLine(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One component of the bill of materials: how much of it one finished unit consumes."""

    di: Di
    """The component's device identifier (a GTIN, or a HIBCC labeler, product and UoM)."""
    quantity_per_unit: QuantityPerUnit
    """How much of it one unit consumes, in `unit_of_measure`."""
    unit_of_measure: UnitOfMeasure = "EA"
    """The material's unit ("EA" for pieces, "m", "kg")."""


Bom = Annotated[list[BomLine], msgspec.Meta(max_length=MAX_BOM_LINES)]


class WorkOrderIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    number: Number
    product: Di
    """The product's DI."""
    site: Segment
    line: Segment
    lot: LotNumber
    quantity: Quantity
    expiry: date | None = None
    production_date: date | None = None
    route: list[Segment] = msgspec.field(default_factory=list)
    """Checkpoint codes on the line, in the order a unit passes them."""
    bom: Bom = msgspec.field(default_factory=list)
    """The bill of materials per unit: what assembly may load and records per unit."""


class WorkOrderPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    lot: LotNumber | UnsetType = UNSET
    quantity: Quantity | UnsetType = UNSET
    expiry: date | UnsetType | None = UNSET
    production_date: date | UnsetType | None = UNSET
    route: list[Segment] | UnsetType = UNSET
    bom: Bom | UnsetType = UNSET
    """Replaces the whole bill of materials ([] removes it)."""


class WorkOrderOut(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    product: str
    site: str
    line: str
    lot: str
    quantity: int
    expiry: date | None
    production_date: date | None
    route: list[str]
    bom: list[BomLine]
    status: str
    created_at: datetime
    activated_at: datetime | None
    closed_at: datetime | None
    commands_queued: int = 0
    """Commands queued for the line's edges by this request (activation)."""
