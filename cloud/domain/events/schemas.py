"""Response bodies of the event API."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec


class RefusedItem(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    """Position of the refused event in the posted array."""
    code: str
    reason: str


class IngestReport(msgspec.Struct, frozen=True, kw_only=True):
    stored: int
    duplicates: int
    """Events already stored before (or twice in this batch): accepted, stored once."""
    refused: list[RefusedItem]
    """Events dead-lettered, with the reason; the others were stored."""
    gaps_opened: int
    gaps_closed: int


class EventOut(msgspec.Struct, frozen=True, kw_only=True):
    event_id: uuid.UUID
    kind: str
    device_id: str
    seq: int
    site: str
    line: str
    checkpoint: str
    occurred_at: datetime
    received_at: datetime
    clock_offset_ms: int
    clock_skew: bool
    seq_reused: bool
    source: str
    payload: msgspec.Raw
    """The event exactly as it was received."""


class DeadLetterOut(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    source: str
    topic: str
    reason_code: str
    reason: str
    payload_size: int
    payload_excerpt: str
    """The start of the payload, undecodable bytes shown as escapes."""
    received_at: datetime


class SeqGapOut(msgspec.Struct, frozen=True, kw_only=True):
    device_id: str
    first_seq: int
    last_seq: int
    missing: int
    opened_at: datetime
    closed_at: datetime | None
