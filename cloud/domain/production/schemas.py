"""Request and response bodies of the work-order API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from protocols.scalars import Di, LotNumber, Segment

Number = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Quantity = Annotated[int, msgspec.Meta(gt=0)]


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


class WorkOrderPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    lot: LotNumber | UnsetType = UNSET
    quantity: Quantity | UnsetType = UNSET
    expiry: date | UnsetType | None = UNSET
    production_date: date | UnsetType | None = UNSET
    route: list[Segment] | UnsetType = UNSET


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
    status: str
    created_at: datetime
    activated_at: datetime | None
    closed_at: datetime | None
    commands_queued: int = 0
    """Commands queued for the line's edges by this request (activation)."""
