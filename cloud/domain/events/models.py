"""The append-only event table and the ingest's own bookkeeping.

On PostgreSQL `events` is range-partitioned by `id_time`, the millisecond
timestamp inside the UUIDv7 `event_id`. A unique key on a partitioned table
must include the partition key; because `id_time` is a function of `event_id`,
the primary key (event_id, id_time) is unique exactly when `event_id` is,
so `ON CONFLICT DO NOTHING` keeps the event exactly once. On SQLite it is a
plain table with the same columns and key.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base
from cloud.db.types import BigIntPk, UtcDateTime


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index(None, "device_id", "seq"),
        {"postgresql_partition_by": "RANGE (id_time)"},
    )

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id_time: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    """The partition key: the time embedded in the UUIDv7 `event_id`."""
    kind: Mapped[str] = mapped_column(String(40))
    device_id: Mapped[str] = mapped_column(String(128))
    seq: Mapped[int] = mapped_column(BigInteger)
    site: Mapped[str] = mapped_column(String(64))
    line: Mapped[str] = mapped_column(String(64))
    checkpoint: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    clock_offset_ms: Mapped[int] = mapped_column(BigInteger)
    """`occurred_at - received_at`: negative for late (buffered) events, positive: fast clock."""
    clock_skew: Mapped[bool] = mapped_column(Boolean)
    """Set when the offset exceeds the configured threshold either way."""
    seq_reused: Mapped[bool] = mapped_column(Boolean)
    """Another event of this device already had this `seq`: the device lost its counter."""
    source: Mapped[str] = mapped_column(String(8))
    """`mqtt` or `api`."""
    prev_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    """The event exactly as it was encoded on the wire: the per-device hash chain covers it."""


class DeviceSequence(Base):
    """The highest `seq` seen from each device; a jump opens a `SeqGap`."""

    __tablename__ = "device_sequences"

    device_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    max_seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SeqGap(Base):
    """Events `first_seq..last_seq` of a device not (yet) received.

    `missing` counts down as late events arrive; the gap closes at zero.
    """

    __tablename__ = "seq_gaps"
    __table_args__ = (Index(None, "device_id", "closed_at"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(128))
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    missing: Mapped[int] = mapped_column(BigInteger)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class DeadLetter(Base):
    """A payload the ingest could not accept, kept with where it came from and why."""

    __tablename__ = "dead_letters"
    __table_args__ = (Index(None, "received_at"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    source: Mapped[str] = mapped_column(String(8))
    topic: Mapped[str] = mapped_column(String(300))
    reason_code: Mapped[str] = mapped_column(String(32))
    """`undecodable`, `invalid`, `too_large`, `spoof`, `unknown_device`, `rejected`."""
    reason: Mapped[str] = mapped_column(String(2000))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    payload_size: Mapped[int] = mapped_column(Integer)
    """Size as received; `payload` keeps at most the configured number of bytes."""
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
