"""The audit trail (21 CFR 11.10(e)): append-only rows, each hash-chained to the one before.

`seq` numbers rows from 1 without gaps (it is taken from `audit_head` under a
row lock, so a rolled-back transaction leaves no hole); `audit_head` also keeps
the last row's hash, so removing rows from the end is as visible as removing
them from the middle.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base
from cloud.db.types import UtcDateTime


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (Index(None, "record_type", "record_id"), Index(None, "at"))

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    actor_kind: Mapped[str] = mapped_column(String(8))
    """`user`, `device` or `system`."""
    action: Mapped[str] = mapped_column(String(32))
    """`create`, `update`, `delete`, `login`, `login_failed`, `sign`, ..."""
    record_type: Mapped[str] = mapped_column(String(64))
    """The table (or kind of record) that changed."""
    record_id: Mapped[str] = mapped_column(String(128))
    old: Mapped[str] = mapped_column(Text)
    """Canonical JSON of the values before the change ("" for a creation)."""
    new: Mapped[str] = mapped_column(Text)
    """Canonical JSON of the values after the change ("" for a deletion)."""
    reason: Mapped[str] = mapped_column(String(2000))
    request: Mapped[str] = mapped_column(String(300))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """One row: the newest `seq` and hash. Locked by every writer, so rows chain in order."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
