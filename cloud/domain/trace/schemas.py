"""Response bodies of the trace API: a unit's history, what went into it, where a lot went."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

import msgspec

Stage = Literal["in_process", "in_stock", "shipped", "returned", "scrapped", "consumed"]
"""Where a unit is in its life; `consumed`: it went into another unit and travels inside it."""


class UnitIdentity(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: int
    di: str
    serial: str | None
    lot: str | None
    udi: str
    """Human-readable UDI (`(01)...` or HIBC)."""
    digital_link: str
    expiry: date | None = None
    production_date: date | None = None
    work_order: str | None = None
    product: str | None = None
    status: str
    status_at: datetime
    first_seen_at: datetime | None = None


class MeasurementOut(msgspec.Struct, frozen=True, kw_only=True):
    checkpoint: str
    parameter: str
    value: float
    uom: str
    low: float | None
    high: float | None
    in_limits: bool
    measured_at: datetime
    event_id: uuid.UUID


class ReasonOut(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    text: str


class HistoryEvent(msgspec.Struct, frozen=True, kw_only=True):
    event_id: uuid.UUID
    kind: str
    role: str
    """How the event concerns the unit: subject, parent, component, packed, shipped, ..."""
    occurred_at: datetime
    site: str
    line: str
    checkpoint: str
    device_id: str
    seq: int
    decision: str | None = None
    reasons: list[ReasonOut] = []
    payload: msgspec.Raw
    """The event exactly as the device sent it."""


class SignatureOut(msgspec.Struct, frozen=True, kw_only=True):
    signature_id: int
    printed_name: str
    username: str
    meaning: str
    reason: str
    signed_at: datetime
    content_hash: str


class DispositionOut(msgspec.Struct, frozen=True, kw_only=True):
    disposition_id: int
    decision: str
    reason: str
    decided_by: str
    decided_at: datetime
    signature: SignatureOut | None


class HoldSummary(msgspec.Struct, frozen=True, kw_only=True):
    hold_id: str
    scope: str
    source: str
    status: str
    reasons: list[ReasonOut]
    placed_by: str
    placed_at: datetime
    closed_at: datetime | None
    dispositions: list[DispositionOut]
    nonconformances: list[str] = []


class Placement(msgspec.Struct, frozen=True, kw_only=True):
    """Where a unit is now: its container, the container that holds it, its shipment."""

    container: str | None
    outer_container: str | None
    shipment: str | None
    recipient_name: str | None
    recipient_address: str | None
    ship_date: date | None


class NodeOut(msgspec.Struct, frozen=True, kw_only=True):
    """A unit or a lot in a genealogy."""

    key: str
    """`unit:<id>` or `lot:<id>`: what edges refer to."""
    kind: Literal["unit", "lot"]
    di: str
    serial: str | None = None
    lot: str | None = None
    depth: int
    """Levels below the traced unit (1 = a direct component)."""
    supplier: str | None = None
    received_at: datetime | None = None
    status: str | None = None
    work_order: str | None = None
    measurements: list[MeasurementOut] = []


class EdgeOut(msgspec.Struct, frozen=True, kw_only=True):
    parent: str
    child: str
    quantity: float | None
    uom: str
    event_id: uuid.UUID
    occurred_at: datetime


class UnitHistory(msgspec.Struct, frozen=True, kw_only=True):
    """The device history record of one unit."""

    unit: UnitIdentity
    placement: Placement
    events: list[HistoryEvent]
    measurements: list[MeasurementOut]
    holds: list[HoldSummary]
    components: list[NodeOut]
    """What went directly into the unit (the full tree: /api/trace/backward)."""
    used_in: list[NodeOut]
    """The units it went directly into."""
    shipments: list[str]
    recalls: list[str]


class BackwardTrace(msgspec.Struct, frozen=True, kw_only=True):
    unit: UnitIdentity
    measurements: list[MeasurementOut]
    nodes: list[NodeOut]
    edges: list[EdgeOut]
    supplier_lots: list[str]
    """Keys of the lots at the bottom: bought in, made from nothing traced further."""


class ForwardUnit(msgspec.Struct, frozen=True, kw_only=True):
    unit_id: int
    di: str
    serial: str | None
    lot: str | None
    udi: str
    status: str
    stage: Stage
    container: str | None
    outer_container: str | None
    shipment: str | None
    recipient_name: str | None
    recipient_address: str | None
    ship_date: date | None


class ForwardTrace(msgspec.Struct, frozen=True, kw_only=True):
    origin: str
    """What was traced: `lot <di>/<lot>` or a unit's UDI."""
    units: list[ForwardUnit]
    """Every unit containing it at any level, intermediate ones (`consumed`) included."""
    by_stage: dict[str, int]
