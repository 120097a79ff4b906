"""What the outbox hands back: committed events, waiting records, alarms and metrics."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from protocols.events import Event

__all__ = ["AlarmCode", "CommittedEvent", "OutboxAlarm", "OutboxMetrics", "OutboxRecord"]


@dataclass(frozen=True, slots=True)
class CommittedEvent:
    """An event durably in the outbox, with the place in the device's chain it was given."""

    event: Event
    """The event as recorded: `seq` and `prev_hash` filled in."""
    seq: int
    """Its position in the device's chain, from 1 with no gaps."""
    prev_hash: str
    """`event_hash` of the device's previous encoded event; "" for seq 1."""
    encoded: bytes
    """The exact bytes stored and sent; `event_hash(encoded)` is the next event's prev_hash."""
    topic: str
    """The MQTT topic it will be published on."""


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One event waiting for the broker's acknowledgement, as `Outbox.peek` returns it."""

    seq: int
    topic: str
    payload: bytes
    committed_at_ms: int
    """Wall-clock Unix milliseconds of the commit."""


AlarmCode = Literal["outbox_corrupt", "outbox_full", "outbox_unavailable", "outbox_recovered"]


@dataclass(frozen=True, slots=True)
class OutboxAlarm:
    """Something the line's operators must hear about; also logged at ERROR/WARNING."""

    code: AlarmCode
    message: str
    raised_at: dt.datetime
    """UTC."""


OutboxState = Literal["ok", "full", "unavailable", "closed"]


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxMetrics:
    """A snapshot of the outbox for heartbeats, the status page and the bench."""

    state: OutboxState
    """"full" or "unavailable" while the last commit was refused for that cause."""
    depth: int
    """Events waiting for a broker acknowledgement."""
    stored_bytes: int
    """Encoded bytes of the waiting events (the quantity `max_bytes` bounds)."""
    file_bytes: int
    """Size of the SQLite file and its WAL on disk."""
    oldest_age_s: float
    """Age of the oldest waiting event; 0 when none waits."""
    last_seq: int
    """The seq of the newest committed event; 0 before the first."""
    commit_latency_p50_ms: float | None
    """Median latency of recent commits (submit to durable), None before any."""
    commit_latency_p99_ms: float | None
    commits_total: int
    """Commits since open."""
    transactions_total: int
    """Write transactions (each one fsync) since open: fewer than commits + acks when grouped."""
    publish_rate_per_s: float
    """Events acknowledged by the broker per second, over the last 10 s."""
    acked_total: int
    """Events acknowledged (deleted) since open."""
    alarms: tuple[OutboxAlarm, ...]
    """Recent alarms, oldest first."""
