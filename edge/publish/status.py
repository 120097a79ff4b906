"""The publisher's state for people and heartbeats, and the device.status messages it sends."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from edge.outbox import OutboxMetrics
from protocols.codec import encode_event
from protocols.events import AdapterState, DeviceStatus
from protocols.ids import uuid7

__all__ = [
    "AlarmKind",
    "LinkState",
    "PublishAlarm",
    "PublisherStatus",
    "StatusIdentity",
    "device_status",
]

LinkState = Literal["stopped", "connecting", "connected", "disconnected"]
AlarmKind = Literal["puback_refused", "connect_refused"]


@dataclass(frozen=True, slots=True)
class PublishAlarm:
    """A broker refusal to show on the line: a negative PUBACK, or a refused connection."""

    code: AlarmKind
    message: str
    raised_at: dt.datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PublisherStatus:
    """A snapshot of the publisher for the status page and tests."""

    state: LinkState
    broker: str
    """host:port."""
    connected_since: dt.datetime | None
    last_error: str | None
    """The latest connection error, e.g. a CONNACK refusal or a TLS failure; kept after
    reconnecting so it can still be read."""
    last_error_at: dt.datetime | None
    failed_attempts: int
    """Connection attempts failed (or connections lost) since the last successful connection."""
    disconnects_total: int
    """Established connections lost since start (broker restarts, network cuts)."""
    next_retry_in_s: float | None
    """The backoff before the next attempt, when disconnected."""
    window: int
    """Events allowed in flight (our limit capped by the broker's Receive Maximum)."""
    inflight: int
    published_total: int
    """Events acknowledged by the broker and deleted from the outbox since start."""
    refused_total: int
    """Negative PUBACKs since start (the events stayed in the outbox)."""
    alarms: tuple[PublishAlarm, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusIdentity:
    """Who the status messages speak for."""

    device_id: str
    site: str
    line: str
    checkpoint: str
    software_version: str
    config_hash: str


def device_status(
    identity: StatusIdentity,
    *,
    online: bool,
    outbox: OutboxMetrics,
    adapters: tuple[AdapterState, ...],
) -> bytes:
    """Encode a device.status message (seq 0: status messages are outside the event chain)."""
    return encode_event(
        DeviceStatus(
            event_id=uuid7(),
            device_id=identity.device_id,
            occurred_at=dt.datetime.now(dt.UTC),
            site=identity.site,
            line=identity.line,
            checkpoint=identity.checkpoint,
            online=online,
            software_version=identity.software_version,
            config_hash=identity.config_hash,
            adapters=adapters,
            outbox_depth=outbox.depth,
            outbox_oldest_age_s=round(outbox.oldest_age_s, 3),
            outbox_bytes=outbox.file_bytes,
        )
    )
