"""The events an edge agent records and publishes: one frozen msgspec Struct per kind.

Every event carries the envelope of `EventEnvelope` and is tagged on the wire by `kind`
(for example ``{"kind": "unit.inspected", "schema": "tracegate/1", ...}``). Events are never
updated: a correction is a new event whose `corrects` names the one it corrects. The outbox
assigns `seq` and `prev_hash` with ``msgspec.structs.replace(event, seq=n, prev_hash=h)``;
until then they are 0 and "".

Fields may be added to a kind within schema "tracegate/1" (decoders ignore unknown fields);
a field is never repurposed. Encode and decode with `protocols.codec`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, ClassVar, Literal, TypeAlias

import msgspec

from protocols.parts import (
    AdapterState,
    ContainerRef,
    Decision,
    InterlockResult,
    LotQuantity,
    ParameterSample,
    ParsedUdi,
    Party,
    Read,
    Reason,
    UnitRef,
)
from protocols.scalars import (
    SCHEMA,
    Di,
    Identifier,
    LotNumber,
    NonNegativeFloat,
    NonNegativeInt,
    Quantity,
    Schema,
    Segment,
    Sha256Hex,
    SsccText,
    UnitOfMeasure,
    UtcDatetime,
    require_utc,
)
from protocols.sscc import check_sscc_field

__all__ = [
    "EVENT_KINDS",
    "EVENT_TYPES",
    "SCHEMA",
    "AdapterState",
    "ContainerRef",
    "ContainerShipped",
    "Decision",
    "DeviceStatus",
    "Event",
    "EventEnvelope",
    "InterlockResult",
    "LotQuantity",
    "LotReceived",
    "LotTransformed",
    "ParameterSample",
    "ParsedUdi",
    "Party",
    "Read",
    "Reason",
    "UnitAssembled",
    "UnitInspected",
    "UnitPacked",
    "UnitReceived",
    "UnitRef",
    "UnitUnpacked",
]


class EventEnvelope(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    """The fields every event carries, whatever its kind."""

    kind: ClassVar[str]
    """The event kind, also written as the `kind` tag on the wire."""

    schema: Schema = SCHEMA
    """The wire schema version; a decoder rejects any other."""
    event_id: uuid.UUID
    """A UUIDv7 (`protocols.ids.uuid7`), unique across all devices; the cloud's idempotency key."""
    device_id: Segment
    """The edge agent that recorded the event."""
    seq: NonNegativeInt = 0
    """Position in the device's chain, from 1 with no gaps; 0 until the outbox assigns it."""
    prev_hash: Sha256Hex = ""
    """`protocols.codec.event_hash` of the device's previous encoded event; "" for seq 0 and 1."""
    occurred_at: UtcDatetime
    """When it happened, by the device clock, in UTC."""
    site: Segment
    """The plant."""
    line: Segment
    """The production line within the site."""
    checkpoint: Segment
    """The checkpoint on the line."""
    corrects: uuid.UUID | None = None
    """The `event_id` this event corrects (an error declaration), or None."""

    def __post_init__(self) -> None:
        require_utc("occurred_at", self.occurred_at)
        if self.event_id.version != 7:
            raise ValueError(
                f"event_id: expected a UUIDv7, got version {self.event_id.version} "
                f"({self.event_id})"
            )
        if self.seq <= 1 and self.prev_hash:
            raise ValueError(
                f"prev_hash: expected '' at seq {self.seq} (no previous event), "
                f"got {self.prev_hash!r}"
            )
        if self.seq > 1 and not self.prev_hash:
            raise ValueError(
                f"prev_hash: expected the previous event's hash at seq {self.seq}, got ''"
            )
        if self.corrects == self.event_id:
            raise ValueError(
                f"corrects: expected another event's id, got this event's own ({self.corrects})"
            )


class UnitInspected(EventEnvelope, frozen=True, kw_only=True, tag="unit.inspected"):
    """A checkpoint's decision on one unit, with everything it was based on."""

    kind: ClassVar[Literal["unit.inspected"]] = "unit.inspected"

    reads: tuple[Read, ...] = ()
    """Every read collected within the read window, in arrival order."""
    udi: ParsedUdi | None = None
    """The UDI parsed from the reads, or None when no valid UDI was found."""
    parameters: tuple[ParameterSample, ...] = ()
    """The process-parameter snapshot the rules saw."""
    decision: Decision
    """The verdict: "pass" or "hold"."""
    reasons: tuple[Reason, ...] = ()
    """Why; a hold always has at least one reason."""
    work_order: Identifier | None = None
    """The work order the unit was made under, if one was active."""
    ruleset_version: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    """The version of the rule set that decided."""
    interlock: InterlockResult | None = None
    """The PLC output written for the decision and its verification; None without an interlock."""


class LotReceived(EventEnvelope, frozen=True, kw_only=True, tag="lot.received"):
    """A supplier lot booked in at goods receipt."""

    kind: ClassVar[Literal["lot.received"]] = "lot.received"

    di: Di
    """The device identifier of the received material or part."""
    lot: LotNumber
    """The supplier's lot number."""
    expiry: dt.date | None = None
    """Expiry date of the lot, if it has one."""
    quantity: Quantity
    """How much was received, in `unit_of_measure`."""
    unit_of_measure: UnitOfMeasure = "EA"
    """Unit of measure of `quantity` ("EA" for pieces)."""
    supplier: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    """The supplier's name or number."""
    inspection_state: Literal["quarantined", "accepted", "rejected"]
    """Incoming-inspection state at the time of the event."""


class UnitAssembled(EventEnvelope, frozen=True, kw_only=True, tag="unit.assembled"):
    """A parent unit made from components: other units, or quantities taken from lots."""

    kind: ClassVar[Literal["unit.assembled"]] = "unit.assembled"

    parent: UnitRef
    """The unit that was built."""
    components: Annotated[tuple[UnitRef | LotQuantity, ...], msgspec.Meta(min_length=1)]
    """What went into it: serialised units, or amounts from lots."""
    work_order: Identifier | None = None
    """The work order the parent was built under, if one was active."""


class LotTransformed(EventEnvelope, frozen=True, kw_only=True, tag="lot.transformed"):
    """Input lots turned into output lots: a split, a merge or a rework."""

    kind: ClassVar[Literal["lot.transformed"]] = "lot.transformed"

    transformation: Literal["split", "merge", "rework"]
    """What was done."""
    inputs: Annotated[tuple[LotQuantity, ...], msgspec.Meta(min_length=1)]
    """The amounts consumed."""
    outputs: Annotated[tuple[LotQuantity, ...], msgspec.Meta(min_length=1)]
    """The amounts produced."""
    work_order: Identifier | None = None
    """The work order the transformation was done under, if any."""


class UnitPacked(EventEnvelope, frozen=True, kw_only=True, tag="unit.packed"):
    """Units or containers put into a container (units into a case, cases onto a pallet)."""

    kind: ClassVar[Literal["unit.packed"]] = "unit.packed"

    container: SsccText
    """The SSCC of the container packed into; its check digit is verified."""
    parent_container: SsccText | None = None
    """The SSCC of the container that `container` itself sits in (a case's pallet), if known."""
    children: Annotated[tuple[UnitRef | ContainerRef, ...], msgspec.Meta(min_length=1)]
    """What was put in."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sscc_field("container", self.container)
        if self.parent_container is not None:
            check_sscc_field("parent_container", self.parent_container)


class UnitUnpacked(EventEnvelope, frozen=True, kw_only=True, tag="unit.unpacked"):
    """Units or containers taken out of a container."""

    kind: ClassVar[Literal["unit.unpacked"]] = "unit.unpacked"

    container: SsccText
    """The SSCC of the container taken from; its check digit is verified."""
    parent_container: SsccText | None = None
    """The SSCC of the container that `container` itself sits in, if known."""
    children: Annotated[tuple[UnitRef | ContainerRef, ...], msgspec.Meta(min_length=1)]
    """What was taken out."""
    reason: Reason | None = None
    """Why it was unpacked (rework, return, repack), if stated."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sscc_field("container", self.container)
        if self.parent_container is not None:
            check_sscc_field("parent_container", self.parent_container)


class ContainerShipped(EventEnvelope, frozen=True, kw_only=True, tag="container.shipped"):
    """Containers handed over for shipment to a recipient."""

    kind: ClassVar[Literal["container.shipped"]] = "container.shipped"

    shipment_id: Identifier
    """The shipment (delivery) number."""
    order: Identifier
    """The customer order the shipment fulfils."""
    recipient: Party
    """Who the goods go to."""
    containers: Annotated[tuple[SsccText, ...], msgspec.Meta(min_length=1)]
    """The SSCCs of the shipped containers; their check digits are verified."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for index, sscc in enumerate(self.containers):
            check_sscc_field(f"containers[{index}]", sscc)


class UnitReceived(EventEnvelope, frozen=True, kw_only=True, tag="unit.received"):
    """Units or containers coming back from a recipient: a return."""

    kind: ClassVar[Literal["unit.received"]] = "unit.received"

    items: Annotated[tuple[UnitRef | ContainerRef, ...], msgspec.Meta(min_length=1)]
    """What came back."""
    returned_by: Party
    """The recipient who sent it back."""
    reason: Reason
    """Why it was returned."""
    rma: Identifier | None = None
    """The return merchandise authorisation number, if one was issued."""


class DeviceStatus(EventEnvelope, frozen=True, kw_only=True, tag="device.status"):
    """An edge agent's heartbeat, published retained on its status topic.

    The broker's last-will message is a DeviceStatus with `online` false; such messages, built
    outside the outbox, carry seq 0 and are not part of the device's chain.
    """

    kind: ClassVar[Literal["device.status"]] = "device.status"

    online: bool
    """False only in the last-will message or on an orderly shutdown."""
    software_version: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    """The agent's software version."""
    config_hash: Annotated[str, msgspec.Meta(max_length=128)]
    """A digest of the device config in force, to spot agents running a stale config."""
    adapters: tuple[AdapterState, ...] = ()
    """Each device adapter's link state."""
    outbox_depth: NonNegativeInt
    """Events waiting in the outbox for a broker acknowledgement."""
    outbox_oldest_age_s: NonNegativeFloat
    """Age of the oldest waiting event in seconds; 0 when the outbox is empty."""
    outbox_bytes: NonNegativeInt
    """Size of the outbox on disk, in bytes."""


Event: TypeAlias = (
    UnitInspected
    | LotReceived
    | UnitAssembled
    | LotTransformed
    | UnitPacked
    | UnitUnpacked
    | ContainerShipped
    | UnitReceived
    | DeviceStatus
)
"""Any event; decode with `protocols.codec.decode_event`."""

EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        UnitInspected,
        LotReceived,
        UnitAssembled,
        LotTransformed,
        UnitPacked,
        UnitUnpacked,
        ContainerShipped,
        UnitReceived,
        DeviceStatus,
    )
}
"""Each event kind's struct, by kind."""

EVENT_KINDS: tuple[str, ...] = tuple(EVENT_TYPES)
"""Every event kind, in the order of DESIGN.md."""
