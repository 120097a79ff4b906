"""Electronic signatures (21 CFR 11.50, 11.70): who signed what, when, meaning what.

`content` is the canonical JSON of exactly what was signed and `content_hash`
its SHA-256, so the signature stays bound to that record: a changed record no
longer matches the hash it was signed under.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base
from cloud.db.types import BigIntPk, UtcDateTime


class Signature(Base):
    __tablename__ = "signatures"
    __table_args__ = (Index(None, "record_type", "record_id"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    username: Mapped[str] = mapped_column(String(64))
    printed_name: Mapped[str] = mapped_column(String(200))
    meaning: Mapped[str] = mapped_column(String(64))
    """Such as "approved for release"; one of `meanings.MEANINGS`."""
    reason: Mapped[str] = mapped_column(String(2000))
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    record_type: Mapped[str] = mapped_column(String(32))
    """`disposition`, `nonconformance`, `capa` or `recall`."""
    record_id: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
