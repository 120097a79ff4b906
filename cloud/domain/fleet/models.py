"""What the cloud knows of each edge agent from its retained `device.status` messages.

`device_status` holds the latest status per device (heartbeats replace it);
`device_status_changes` the recent online/offline transitions, a few per device. Neither is
a record of production: status messages carry seq 0, are not part of a device's hash chain
and are not audited (DESIGN.md: state, not records).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base
from cloud.db.types import BigIntPk, UtcDateTime


class DeviceStatusRow(Base):
    """The latest `device.status` of one device, as the cloud received it."""

    __tablename__ = "device_status"

    device_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    topic: Mapped[str] = mapped_column(String(300), index=True)
    """The status topic it came on: an empty retained message there clears the row."""
    site: Mapped[str] = mapped_column(String(64))
    line: Mapped[str] = mapped_column(String(64))
    checkpoint: Mapped[str] = mapped_column(String(64))
    online: Mapped[bool] = mapped_column(Boolean)
    """As the agent (or, for its last will, the broker) reported it."""
    since: Mapped[datetime] = mapped_column(UtcDateTime)
    """When `online` last changed, as far as the cloud saw it."""
    heard_at: Mapped[datetime] = mapped_column(UtcDateTime)
    """When the message was published: receipt for a live message, the device clock (never
    later than receipt) for a retained one handed over at subscription."""
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    """The device clock when it built the message (for a will: when the will was last set)."""
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    retained: Mapped[bool] = mapped_column(Boolean)
    """It came as the broker's retained copy at subscription, not live."""
    software_version: Mapped[str] = mapped_column(String(64))
    config_hash: Mapped[str] = mapped_column(String(128))
    adapters: Mapped[str] = mapped_column(Text)
    """The adapters' link states as a JSON array, as sent."""
    outbox_depth: Mapped[int] = mapped_column(BigInteger)
    outbox_oldest_age_s: Mapped[float] = mapped_column(Float)
    outbox_bytes: Mapped[int] = mapped_column(BigInteger)


class DeviceStatusChange(Base):
    """A device going online or offline (its first status counts as one), newest kept."""

    __tablename__ = "device_status_changes"
    __table_args__ = (
        # Cloud instances all receive the same status messages: one row per message.
        UniqueConstraint("device_id", "event_id"),
        Index(None, "device_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(128))
    online: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    """`heard_at` of the message that changed the state."""
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    retained: Mapped[bool] = mapped_column(Boolean)
    """Seen only as a retained message: it happened while the cloud was not subscribed."""
