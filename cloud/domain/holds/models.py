"""Holds on units or lots, and the dispositions that close them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloud.db.base import Base
from cloud.db.types import BigIntPk, UtcDateTime, utc_now

DISPOSITION_DECISIONS = ("release", "scrap", "rework", "quarantine")


class Hold(Base):
    """A unit or a lot that must not move on: decided at an edge, or placed through the API.

    `di`/`serial`/`lot` keep the identifiers as given, so a hold placed before
    the unit is ever seen still stops it when it arrives.
    """

    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint("scope IN ('unit', 'lot')", name="scope"),
        CheckConstraint("source IN ('edge', 'cloud')", name="source"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
        Index(None, "di", "lot"),
        Index(None, "unit_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    scope: Mapped[str] = mapped_column(String(8))
    di: Mapped[str] = mapped_column(String(32))
    serial: Mapped[str | None] = mapped_column(String(64), default=None)
    lot: Mapped[str | None] = mapped_column(String(64), default=None)
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), default=None
    )
    lot_id: Mapped[int | None] = mapped_column(
        ForeignKey("lots.id", ondelete="RESTRICT"), default=None, index=True
    )
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    """`[{"code": ..., "text": ...}]`, as the edge's decision or the API caller gave them."""
    source: Mapped[str] = mapped_column(String(8))
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None, unique=True)
    checkpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("checkpoints.id", ondelete="RESTRICT"), default=None
    )
    placed_by: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(8), default="open")
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    dispositions: Mapped[list[Disposition]] = relationship(
        back_populates="hold", order_by="Disposition.id"
    )


class Disposition(Base):
    """What was decided about a held unit or lot (release, scrap, rework, quarantine)."""

    __tablename__ = "dispositions"
    __table_args__ = (
        CheckConstraint(
            "decision IN ('release', 'scrap', 'rework', 'quarantine')", name="decision"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("holds.id", ondelete="RESTRICT"), index=True)
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(2000))
    decided_by: Mapped[str] = mapped_column(String(128), default="")
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    hold: Mapped[Hold] = relationship(back_populates="dispositions")
