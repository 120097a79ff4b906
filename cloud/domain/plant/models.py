"""Sites, lines, checkpoints and the edge devices bound to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloud.db.base import Base
from cloud.db.types import UtcDateTime, utc_now


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    lines: Mapped[list[Line]] = relationship(back_populates="site", order_by="Line.code")


class Line(Base):
    __tablename__ = "lines"
    __table_args__ = (UniqueConstraint("site_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    site: Mapped[Site] = relationship(back_populates="lines")
    checkpoints: Mapped[list[Checkpoint]] = relationship(
        back_populates="line", order_by="Checkpoint.code"
    )


class Checkpoint(Base):
    __tablename__ = "checkpoints"
    __table_args__ = (UniqueConstraint("line_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    line: Mapped[Line] = relationship(back_populates="checkpoints")


class Device(Base):
    """An edge agent; the events it signs with `device_id` must come from its checkpoint."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(String(128), unique=True)
    checkpoint_id: Mapped[int] = mapped_column(
        ForeignKey("checkpoints.id", ondelete="RESTRICT"), index=True
    )
    registered_by: Mapped[str] = mapped_column(String(16))
    """`config` (device-configs), `api`, or `first_use` (trusted on first publish)."""
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    checkpoint: Mapped[Checkpoint] = relationship()
