"""Why the outbox refused an event: full (a bound reached) or unavailable (the file failed).

The checkpoint engine holds the unit with `error.hold_reason` ("outbox full" or "outbox
error") and shows `str(error)` to the line; neither error ever means a record was dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

__all__ = ["OutboxError", "OutboxFull", "OutboxUnavailable", "UnavailableKind"]

UnavailableKind = Literal[
    "disk_full", "io_error", "corrupt", "foreign_device", "schema", "closed", "error"
]


class OutboxError(Exception):
    """Base of the outbox's refusals; the event was not recorded."""

    hold_reason: ClassVar[str] = "outbox error"
    """The short reason the checkpoint engine puts on the held unit."""

    path: Path
    """The outbox file."""


class OutboxFull(OutboxError):  # noqa: N818 - the name the checkpoint engine catches
    """The outbox reached its byte or age bound: new units are held, no record is dropped.

    The bound clears when the publisher drains events (the broker acknowledges them).
    """

    hold_reason: ClassVar[str] = "outbox full"

    bound: Literal["bytes", "age"]
    """Which bound was reached."""
    depth: int
    """Events waiting for a broker acknowledgement."""
    stored_bytes: int
    """Encoded bytes of the waiting events."""
    max_bytes: int
    """The byte bound from the config."""
    oldest_age_s: float
    """Age of the oldest waiting event, seconds (0 when none waits)."""
    max_age_s: float
    """The age bound from the config."""

    def __init__(
        self,
        path: Path,
        *,
        bound: Literal["bytes", "age"],
        depth: int,
        stored_bytes: int,
        event_bytes: int,
        max_bytes: int,
        oldest_seq: int | None,
        oldest_age_s: float,
        max_age_s: float,
    ) -> None:
        self.path = path
        self.bound = bound
        self.depth = depth
        self.stored_bytes = stored_bytes
        self.max_bytes = max_bytes
        self.oldest_age_s = oldest_age_s
        self.max_age_s = max_age_s
        if bound == "bytes":
            detail = (
                f"{stored_bytes} bytes waiting + {event_bytes} for this event exceed "
                f"max_bytes {max_bytes}"
            )
        else:
            detail = (
                f"the oldest waiting event (seq {oldest_seq}) is {oldest_age_s:.1f} s old, "
                f"more than max_age_s {max_age_s:g}"
            )
        waiting = "1 event" if depth == 1 else f"{depth} events"
        super().__init__(f"Outbox {path} is full: {detail} ({waiting} waiting for the broker)")


class OutboxUnavailable(OutboxError):  # noqa: N818 - the name the checkpoint engine catches
    """The outbox file cannot take events now: disk full, I/O error, corrupt, closed.

    Disk full and I/O errors are retried with the next commit, so the outbox recovers by itself
    when space returns.
    """

    hold_reason: ClassVar[str] = "outbox error"

    kind: UnavailableKind
    """What failed, stable for metrics and alarms."""
    reason: str
    """What failed, in words."""

    def __init__(self, path: Path, *, kind: UnavailableKind, reason: str) -> None:
        self.path = path
        self.kind = kind
        self.reason = reason
        super().__init__(f"Outbox {path} unavailable: {reason}")
