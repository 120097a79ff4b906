"""Recalls: the scope as given, the affected units and recipients frozen at creation.

The frozen lists are hashed (`snapshot_hash`); the hash sits in the audited
`recalls` row, so neither list can drift or be edited later unnoticed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base
from cloud.db.types import BigIntPk, UtcDateTime, utc_now


class Recall(Base):
    __tablename__ = "recalls"
    __table_args__ = (
        CheckConstraint("mode IN ('recall', 'mock')", name="mode"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mode: Mapped[str] = mapped_column(String(8))
    """`recall`, or `mock`: a drill that runs every step but sends nothing to the line."""
    title: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(2000))
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8), default="open")
    unit_count: Mapped[int] = mapped_column(Integer, default=0)
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    holds_placed: Mapped[int] = mapped_column(Integer, default=0)
    snapshot_hash: Mapped[str] = mapped_column(String(64), default="")
    timings_ms: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    """How long each step took (scope, impact, snapshot, quarantine, ...)."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    created_by: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    closed_by: Mapped[str | None] = mapped_column(String(64), default=None)


class RecallUnit(Base):
    """An affected unit as it stood when the recall was made."""

    __tablename__ = "recall_units"

    recall_id: Mapped[int] = mapped_column(
        ForeignKey("recalls.id", ondelete="RESTRICT"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    di: Mapped[str] = mapped_column(String(32))
    serial: Mapped[str | None] = mapped_column(String(64), default=None)
    lot: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(16))
    container: Mapped[str | None] = mapped_column(String(18), default=None)
    """SSCC of the container the unit was in (its innermost)."""
    outer_container: Mapped[str | None] = mapped_column(String(18), default=None)
    """SSCC of the outermost container (the pallet), if packed deeper."""
    shipment_id: Mapped[int | None] = mapped_column(
        ForeignKey("shipments.id", ondelete="RESTRICT"), default=None, index=True
    )


class RecallRecipient(Base):
    """A consignee of affected units: the 21 CFR 806.10 list, with the notice's progress."""

    __tablename__ = "recall_recipients"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    recall_id: Mapped[int] = mapped_column(
        ForeignKey("recalls.id", ondelete="RESTRICT"), index=True
    )
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="RESTRICT"))
    shipment_number: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    country: Mapped[str] = mapped_column(String(2), default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    ship_date: Mapped[date | None] = mapped_column(Date, default=None)
    quantity: Mapped[int] = mapped_column(Integer)
    notice_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    acknowledged_by: Mapped[str] = mapped_column(String(200), default="")
    ack_note: Mapped[str] = mapped_column(String(2000), default="")
