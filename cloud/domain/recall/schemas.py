"""Request and response bodies of recalls: the scope, the impact, the frozen lists, progress."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from cloud.domain.signatures.schemas import SignIn
from cloud.domain.trace.schemas import SignatureOut
from protocols.scalars import Di, LotNumber, Segment, SerialNumber

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Parameter = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
UnitText = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class LotScope(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Lots of one DI: production lots, or supplier / component lots (what was made from
    them is recalled)."""

    di: Di
    lots: Annotated[list[LotNumber], msgspec.Meta(min_length=1)]


class SerialRange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Serials `first` to `last` of one DI, compared as text; when both have the same length
    only serials of that length match (so SN001..SN200 does not take SN1000)."""

    di: Di
    first: SerialNumber
    last: SerialNumber


class DateWindow(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Units whose production date (from their UDI) lies in [first, last]."""

    first: date
    last: date
    di: Di | None = None


class Excursion(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Units whose `parameter` at `checkpoint` was outside [low, high] in [start, end)."""

    checkpoint: Segment
    parameter: Parameter
    start: datetime
    end: datetime
    low: float | None = None
    high: float | None = None
    site: Segment | None = None
    line: Segment | None = None


class RecallScope(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What is recalled. Each entry is a criterion; `match` combines them (`any`: union,
    `all`: intersection). Whatever a matched unit or lot went into is recalled with it."""

    lots: list[LotScope] = []
    serials: list[SerialRange] = []
    units: list[UnitText] = []
    """Component units by UDI (or DI:serial): what they went into is recalled."""
    production: list[DateWindow] = []
    excursions: list[Excursion] = []
    match: Literal["any", "all"] = "any"


class RecallIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    title: Title
    reason: Reason
    scope: RecallScope
    mode: Literal["recall", "mock"] = "recall"
    """`mock`: a drill that runs every step, times them, and sends nothing to the line."""


class ImpactUnit(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: int
    udi: str
    di: str
    serial: str | None
    lot: str | None
    status: str
    stage: str
    container: str | None
    outer_container: str | None
    shipment: str | None


class ContainerImpact(msgspec.Struct, frozen=True, kw_only=True):
    sscc: str
    outer_container: str | None
    units: int
    shipment: str | None


class Recipient(msgspec.Struct, frozen=True, kw_only=True):
    """One consignee: the 21 CFR 806.10 content (who, where, when, how many, which)."""

    shipment: str
    name: str
    address: str
    country: str
    region: str
    ship_date: date | None
    quantity: int
    udis: list[str]


class RegionCount(msgspec.Struct, frozen=True, kw_only=True):
    country: str
    region: str
    recipients: int
    units: int


class Impact(msgspec.Struct, frozen=True, kw_only=True):
    unit_count: int
    by_stage: dict[str, int]
    """`in_process` (held units too), `in_stock`, `shipped`, `returned`, `scrapped`."""
    containers: list[ContainerImpact]
    recipients: list[Recipient]
    by_region: list[RegionCount]
    query_ms: float


class RecipientOut(msgspec.Struct, frozen=True, kw_only=True):
    recipient_id: int
    shipment: str
    name: str
    address: str
    country: str
    region: str
    ship_date: date | None
    quantity: int
    notice_sent_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str
    ack_note: str
    udis: list[str] = []


class Progress(msgspec.Struct, frozen=True, kw_only=True):
    recipients: int
    notified: int
    acknowledged: int
    effectiveness_pct: float
    """Consignees that acknowledged the notice, as a percentage of all consignees."""
    shipped_units: int
    returned_units: int
    """Shipped units scanned back in (a returns checkpoint's `unit.received`) since the recall."""
    returned_pct: float
    in_house_units: int
    quarantined_units: int
    """In-house units still held."""


class RecallOut(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    mode: str
    title: str
    reason: str
    scope: RecallScope
    status: str
    unit_count: int
    by_stage: dict[str, int]
    recipient_count: int
    holds_placed: int
    commands_queued: int
    snapshot_hash: str
    timings_ms: dict[str, float]
    created_at: datetime
    created_by: str
    closed_at: datetime | None
    closed_by: str | None
    progress: Progress
    signatures: list[SignatureOut]


class SnapshotCheck(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    recorded_hash: str
    computed_hash: str
    intact: bool


class NoticeIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    recipients: list[int] = []
    """Recipient ids to notify; all not yet notified when empty."""


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    recipient_id: int
    to: str
    address: str
    subject: str
    body: str


class AcknowledgementIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    acknowledged_by: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    """Who at the consignee confirmed receipt of the notice."""
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class RecallCloseIn(SignIn, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass
