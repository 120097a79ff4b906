"""Nonconformances and CAPAs, linked to the holds they explain, with open and close times."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base
from cloud.db.types import UtcDateTime, utc_now


class Capa(Base):
    """A corrective and preventive action."""

    __tablename__ = "capas"
    __table_args__ = (CheckConstraint("status IN ('open', 'closed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(4000), default="")
    status: Mapped[str] = mapped_column(String(8), default="open")
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    opened_by: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    closed_by: Mapped[str | None] = mapped_column(String(64), default=None)


class Nonconformance(Base):
    __tablename__ = "nonconformances"
    __table_args__ = (CheckConstraint("status IN ('open', 'closed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(4000), default="")
    status: Mapped[str] = mapped_column(String(8), default="open")
    capa_id: Mapped[int | None] = mapped_column(
        ForeignKey("capas.id", ondelete="RESTRICT"), default=None, index=True
    )
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    opened_by: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    closed_by: Mapped[str | None] = mapped_column(String(64), default=None)


class NonconformanceHold(Base):
    __tablename__ = "nonconformance_holds"

    nonconformance_id: Mapped[int] = mapped_column(
        ForeignKey("nonconformances.id", ondelete="RESTRICT"), primary_key=True
    )
    hold_id: Mapped[int] = mapped_column(
        ForeignKey("holds.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    linked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    linked_by: Mapped[str] = mapped_column(String(64))
