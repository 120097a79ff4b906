"""Request and response bodies of the shipment API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from protocols.scalars import Segment, SsccText

Number = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class ShipmentIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    number: Number
    customer: Code
    """The customer's code; their name and address are copied onto the shipment."""
    order_ref: Annotated[str, msgspec.Meta(max_length=64)] = ""
    ship_date: date | None = None
    containers: list[SsccText] = msgspec.field(default_factory=list)
    """SSCCs planned to go on this shipment."""


class ShipmentPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    customer: Code | UnsetType = UNSET
    order_ref: Annotated[str, msgspec.Meta(max_length=64)] | UnsetType = UNSET
    ship_date: date | UnsetType | None = UNSET
    containers: list[SsccText] | UnsetType = UNSET


class AnnounceIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The shipping checkpoint that should expect the shipment (`cmd/shipment`)."""

    site: Segment
    line: Segment
    checkpoint: Segment


class ShipmentItemOut(msgspec.Struct, frozen=True, kw_only=True):
    sscc: str | None
    unit_di: str | None
    unit_serial: str | None
    quantity: int
    shipped: bool
    """True once a `container.shipped` event confirmed it."""


class ShipmentOut(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    customer: str | None
    recipient_name: str
    recipient_address: str
    order_ref: str
    ship_date: date | None
    status: str
    shipped_at: datetime | None
    items: list[ShipmentItemOut]
    commands_queued: int = 0
