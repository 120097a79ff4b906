"""Commands sent to edges (`cmd/workorder`, `cmd/hold`, ...), recorded before publishing.

The row is written in the same transaction as the change that caused it, and
marked published only after the broker's PUBACK: a broker outage delays a
command but never loses it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base
from cloud.db.types import BigIntPk, UtcDateTime, utc_now


class OutgoingCommand(Base):
    __tablename__ = "outgoing_commands"
    __table_args__ = (Index(None, "published_at", "id"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str] = mapped_column(String(300))
    payload: Mapped[str] = mapped_column(Text)
    retain: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
