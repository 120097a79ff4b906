"""Alarms: what the line's people must hear about now (a hold that could not be recorded, an
output that did not take, a line stop). Logged at ERROR with their code, kept for the status
page, counted by code."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, deque
from dataclasses import dataclass

log = logging.getLogger("edge.checkpoint.alarm")


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    code: str
    """Stable, for metrics: `interlock_unverified`, `outbox_full`, `line_stop_requested`..."""
    message: str
    raised_at: dt.datetime
    """UTC."""


class AlarmLog:
    """The agent's recent alarms, newest last."""

    def __init__(self, *, keep: int = 100) -> None:
        self.recent: deque[AlarmRecord] = deque(maxlen=keep)
        self.counts: Counter[str] = Counter()

    def raise_alarm(self, code: str, message: str) -> None:
        record = AlarmRecord(code, message, dt.datetime.now(dt.UTC))
        self.recent.append(record)
        self.counts[code] += 1
        log.error(message, extra={"alarm": code})
