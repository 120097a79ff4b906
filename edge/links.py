"""Link state of an adapter (scanner, camera, PLC), reported in device.status heartbeats."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

LinkStatus = Literal["up", "down", "unknown"]


@dataclass(slots=True)
class LinkState:
    """Whether an adapter's link is up, since when, and the last error if down.

    Mutated only by the adapter that owns it; read by the agent for rules
    (link down -> every unit held) and heartbeats.
    """

    name: str
    kind: str
    status: LinkStatus = "unknown"
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    since_monotonic_s: float = field(default_factory=time.monotonic)
    last_error: str | None = None

    def mark_up(self) -> None:
        if self.status != "up":
            self.status = "up"
            self.since = datetime.now(UTC)
            self.since_monotonic_s = time.monotonic()
        self.last_error = None

    def mark_down(self, error: str) -> None:
        if self.status != "down":
            self.status = "down"
            self.since = datetime.now(UTC)
            self.since_monotonic_s = time.monotonic()
        self.last_error = error

    @property
    def is_up(self) -> bool:
        return self.status == "up"
