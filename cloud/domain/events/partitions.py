"""Monthly partitions of the PostgreSQL event table, created before a batch needs them.

The table is partitioned by `id_time` (the UUIDv7 time of `event_id`). A month
is created on first use rather than ahead by a scheduler, so an edge whose
clock ran years off still gets its events stored (and flagged): nothing is
refused for its date. Two workers may want the same month at once; an advisory
lock serialises the DDL.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_PARTITION_DDL_LOCK = 0x7472_6163_6567  # "tracegate" namespace for pg_advisory_xact_lock


def month_of(moment: datetime) -> tuple[int, int]:
    return moment.year, moment.month


def partition_name(year: int, month: int) -> str:
    """>>> partition_name(2026, 1)
    'events_y2026m01'
    """
    return f"events_y{year:04d}m{month:02d}"


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


class EventPartitions:
    """Remembers which months exist so the common case costs nothing."""

    def __init__(self) -> None:
        self._known: set[tuple[int, int]] = set()

    async def ensure(self, engine: AsyncEngine, months: Iterable[tuple[int, int]]) -> None:
        wanted = set(months) - self._known
        if not wanted or engine.dialect.name != "postgresql":
            self._known |= wanted
            return
        # Its own transaction: DDL must not ride along with (and be rolled back by) a batch.
        async with engine.begin() as connection:
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PARTITION_DDL_LOCK}
            )
            for year, month in sorted(wanted):
                start, end = month_bounds(year, month)
                await connection.execute(
                    text(
                        f"CREATE TABLE IF NOT EXISTS {partition_name(year, month)} "
                        f"PARTITION OF events FOR VALUES FROM ('{start.isoformat()}') "
                        f"TO ('{end.isoformat()}')"
                    )
                )
        self._known |= wanted
