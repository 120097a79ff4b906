"""Commands the cloud sends to an edge agent on `.../cmd/{kind}` (see `protocols.topics`).

Each is a frozen msgspec Struct tagged by `kind`, named like the topic it travels on.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, ClassVar, Literal, TypeAlias

import msgspec

from protocols.parts import Party, UnitRef
from protocols.scalars import (
    SCHEMA,
    Di,
    Identifier,
    LotNumber,
    Quantity,
    Schema,
    Segment,
    SsccText,
    UnitOfMeasure,
    UtcDatetime,
    require_utc,
)
from protocols.sscc import check_sscc_field

__all__ = [
    "COMMAND_KINDS",
    "COMMAND_TYPES",
    "BomLine",
    "Command",
    "CommandEnvelope",
    "Hold",
    "HoldScope",
    "LotInspection",
    "LotRef",
    "Release",
    "Shipment",
    "WorkOrder",
]

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


class CommandEnvelope(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    """The fields every command carries."""

    kind: ClassVar[str]
    """The command kind, also written as the `kind` tag and used as the topic's last segment."""

    schema: Schema = SCHEMA
    """The wire schema version; a decoder rejects any other."""
    command_id: uuid.UUID
    """A UUIDv7 (`protocols.ids.uuid7`); the edge ignores a command id it has already applied."""
    issued_at: UtcDatetime
    """When the cloud issued the command, in UTC."""
    issued_by: Identifier
    """The user or service that issued it."""

    def __post_init__(self) -> None:
        require_utc("issued_at", self.issued_at)
        if self.command_id.version != 7:
            raise ValueError(
                f"command_id: expected a UUIDv7, got version {self.command_id.version} "
                f"({self.command_id})"
            )


class BomLine(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a bill of materials: how much of a component goes into one unit."""

    di: Di
    """The component's device identifier."""
    quantity_per_unit: Quantity
    """How much of it one finished unit consumes, in `unit_of_measure`."""
    unit_of_measure: UnitOfMeasure = "EA"
    """Unit of measure of `quantity_per_unit` ("EA" for pieces)."""


class WorkOrder(CommandEnvelope, frozen=True, kw_only=True, tag="workorder"):
    """Start (or replace) the work order a line runs: what to make, how many, and from what."""

    kind: ClassVar[Literal["workorder"]] = "workorder"

    work_order: Identifier
    """The work order number."""
    products: Annotated[tuple[Di, ...], msgspec.Meta(min_length=1)]
    """The device identifiers the line may make under this order."""
    lot: LotNumber | None = None
    """The lot the units are made into, if lot-controlled."""
    expiry: dt.date | None = None
    """The expiry date to expect on the labels, if any."""
    production_date: dt.date | None = None
    """The production date to expect on the labels, if any."""
    quantity: Annotated[int, msgspec.Meta(gt=0)]
    """How many units to make."""
    route: tuple[Segment, ...] = ()
    """The checkpoints a unit passes, in order."""
    bom: tuple[BomLine, ...] = ()
    """The bill of materials per unit."""


class Shipment(CommandEnvelope, frozen=True, kw_only=True, tag="shipment"):
    """Announce a shipment to the shipping checkpoint: which containers go to whom."""

    kind: ClassVar[Literal["shipment"]] = "shipment"

    shipment_id: Identifier
    """The shipment (delivery) number."""
    order: Identifier
    """The customer order it fulfils."""
    recipient: Party
    """Who the goods go to."""
    expected_containers: tuple[SsccText, ...] = ()
    """The SSCCs expected to be loaded; check digits are verified."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for index, sscc in enumerate(self.expected_containers):
            check_sscc_field(f"expected_containers[{index}]", sscc)


class LotRef(msgspec.Struct, frozen=True, kw_only=True):
    """A whole lot of one device identifier."""

    di: Di
    """The device identifier."""
    lot: LotNumber
    """The lot number."""


class HoldScope(msgspec.Struct, frozen=True, kw_only=True):
    """What a hold covers: any unit matching one of the entries is held."""

    units: tuple[UnitRef, ...] = ()
    """Single units."""
    lots: tuple[LotRef, ...] = ()
    """Whole lots."""
    dis: tuple[Di, ...] = ()
    """Every unit of these device identifiers."""

    def __post_init__(self) -> None:
        if not (self.units or self.lots or self.dis):
            raise ValueError("Invalid hold scope: expected at least one unit, lot or di, got none")


class Hold(CommandEnvelope, frozen=True, kw_only=True, tag="hold"):
    """Hold every matching unit at the checkpoints until a release with the same hold_id."""

    kind: ClassVar[Literal["hold"]] = "hold"

    hold_id: Identifier
    """The hold's number, quoted by the release."""
    scope: HoldScope
    """What is held."""
    reason: Reason
    """Why, for the operators."""


class Release(CommandEnvelope, frozen=True, kw_only=True, tag="release"):
    """Lift a hold; it needs a person who signs for it."""

    kind: ClassVar[Literal["release"]] = "release"

    hold_id: Identifier
    """The hold being lifted."""
    signed_by: Identifier
    """The person who authorised the release (an electronic signature's signer)."""
    reason: Reason
    """Why the hold may be lifted."""


class LotInspection(CommandEnvelope, frozen=True, kw_only=True, tag="lotinspection"):
    """Incoming inspection's verdict on a received supplier lot: accepted (released for use
    at assembly) or rejected. A lot received in quarantine cannot be loaded before an
    accepted verdict; a later verdict replaces an earlier one."""

    kind: ClassVar[Literal["lotinspection"]] = "lotinspection"

    di: Di
    """The lot's device identifier (the material's GTIN)."""
    lot: LotNumber
    """The supplier's lot number."""
    state: Literal["accepted", "rejected"]
    """The verdict."""
    signed_by: Identifier
    """The person who decided (an electronic signature's signer)."""
    reason: Reason | None = None
    """Why, if stated (an inspection report number, a deviation)."""


Command: TypeAlias = WorkOrder | Shipment | Hold | Release | LotInspection
"""Any command; decode with `protocols.codec.decode_command`."""

COMMAND_TYPES: dict[str, type[Command]] = {
    cls.kind: cls for cls in (WorkOrder, Shipment, Hold, Release, LotInspection)
}
"""Each command kind's struct, by kind."""

COMMAND_KINDS: tuple[str, ...] = tuple(COMMAND_TYPES)
"""Every command kind; also the allowed last segments of a command topic."""
