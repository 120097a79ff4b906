"""Request and response bodies of the lot API."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec

from protocols.scalars import Di, Identifier, LotNumber, Quantity, Segment, UnitOfMeasure

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class LotVerdictIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Incoming inspection's verdict on a received lot; the caller signs it."""

    reason: Reason | None = None
    """The inspection report or deviation behind it."""
    site: Segment | None = None
    line: Segment | None = None
    """Send `cmd/lotinspection` only to this line's checkpoints; by default to every line."""


class LotVerdictOut(msgspec.Struct, frozen=True, kw_only=True):
    di: str
    lot: str
    inspection_state: str
    signed_by: str
    commands_queued: int


class LotAmount(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    di: Di
    lot: LotNumber
    quantity: Quantity
    unit_of_measure: UnitOfMeasure = "EA"


class TransformIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Input lots turned into output lots at a station of a line."""

    site: Segment
    line: Segment
    checkpoint: Segment
    """Where it was done: a checkpoint known to the cloud."""
    transformation: Literal["split", "merge", "rework"]
    inputs: Annotated[tuple[LotAmount, ...], msgspec.Meta(min_length=1, max_length=100)]
    outputs: Annotated[tuple[LotAmount, ...], msgspec.Meta(min_length=1, max_length=100)]
    work_order: Identifier | None = None
    reason: Reason | None = None


class TransformOut(msgspec.Struct, frozen=True, kw_only=True):
    event_id: uuid.UUID
    device_id: str
    seq: int
    transformation: str
