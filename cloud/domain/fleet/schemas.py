"""Response bodies of `GET /api/devices/status`."""

from __future__ import annotations

from datetime import datetime

import msgspec


class AdapterOut(msgspec.Struct, frozen=True, kw_only=True):
    """One device adapter's link (PLC, scanner, camera, broker) as the agent last reported it."""

    name: str
    kind: str
    state: str
    """`up`, `down` or `unknown`."""
    since: datetime | None = None
    detail: str | None = None


class StatusChangeOut(msgspec.Struct, frozen=True, kw_only=True):
    online: bool
    at: datetime
    retained: bool
    """Seen only as the broker's retained copy: it happened while the cloud was not listening."""


class DeviceStatusOut(msgspec.Struct, frozen=True, kw_only=True):
    device_id: str
    site: str
    line: str
    checkpoint: str
    liveness: str
    """`online`, `silent` (said online, then not heard for longer than `silent_after_s`),
    `offline` (orderly stop or last will) or `unknown` (no status received)."""
    online: bool | None
    """As last reported; None when no status was received."""
    heard_at: datetime | None
    """When the last status was published (its receipt, or its device time if retained)."""
    since: datetime | None
    """When it last went online or offline, as far as the cloud saw."""
    occurred_at: datetime | None
    received_at: datetime | None
    software_version: str | None
    config_hash: str | None
    config_differs: bool
    """Its config hash is not the one most agents of its line report."""
    adapters: list[AdapterOut]
    outbox_depth: int | None
    """Events waiting on the device for a broker acknowledgement, at `occurred_at`."""
    outbox_oldest_age_s: float | None
    """Age of the oldest of them at `occurred_at`, in seconds (0 when none wait)."""
    outbox_bytes: int | None
    changes: list[StatusChangeOut]
    """The latest online/offline changes, newest first."""


class LineConfigOut(msgspec.Struct, frozen=True, kw_only=True):
    site: str
    line: str
    consistent: bool
    """Every agent of the line that reported a status runs the same config."""
    config_hashes: dict[str, list[str]]
    """Each config hash, with the devices that report it; the most common first."""


class FleetStatusOut(msgspec.Struct, frozen=True, kw_only=True):
    checked_at: datetime
    """The time `liveness` was judged at."""
    silent_after_s: float
    """An online agent unheard for longer is `silent`: `status_period_s` x
    `status_silent_after_periods` of the settings."""
    subscribed: bool | None
    """This instance's status subscription is up; None when it runs no status consumer (its
    figures then come from the instances that do)."""
    devices: list[DeviceStatusOut]
    lines: list[LineConfigOut]
