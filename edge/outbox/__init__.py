"""The edge's store-and-forward outbox: SQLite (WAL, synchronous=FULL), group commit.

The checkpoint engine calls ``await outbox.commit(event)`` before it lets a unit pass and holds
the unit on `OutboxFull` ("outbox full") or `OutboxUnavailable` ("outbox error"); the
publisher drains it with `peek` and `ack`.
"""

from edge.outbox.errors import OutboxError, OutboxFull, OutboxUnavailable
from edge.outbox.outbox import Outbox
from edge.outbox.records import CommittedEvent, OutboxAlarm, OutboxMetrics, OutboxRecord

__all__ = [
    "CommittedEvent",
    "Outbox",
    "OutboxAlarm",
    "OutboxError",
    "OutboxFull",
    "OutboxMetrics",
    "OutboxRecord",
    "OutboxUnavailable",
]
