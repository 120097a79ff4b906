"""Request and response bodies of the hold API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from protocols.scalars import Di, LotNumber, Segment, SerialNumber

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class HoldIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Hold a unit (DI + serial, or DI + lot for lot-controlled units) or a whole lot."""

    scope: Literal["unit", "lot"]
    di: Di
    reason: Reason
    serial: SerialNumber | None = None
    lot: LotNumber | None = None
    site: Segment | None = None
    line: Segment | None = None
    """Send `cmd/hold` only to this line's checkpoints; by default to every line."""


class ReasonOut(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    text: str


class HoldOut(msgspec.Struct, frozen=True, kw_only=True):
    hold_id: str
    scope: str
    di: str
    serial: str | None
    lot: str | None
    reasons: list[ReasonOut]
    source: str
    """`edge` (a checkpoint decided) or `cloud` (placed through the API)."""
    event_id: uuid.UUID | None
    placed_by: str
    status: str
    placed_at: datetime
    closed_at: datetime | None
    commands_queued: int = 0
