"""What the cloud knows at the end of the run, asked the way a user would (the HTTP API:
unit lookups, a trace, a recall preview, the audit check) and, for the event-by-event
comparison with the PLCs, from the event table itself (unidentified units, a no-read,
have no unit to look up)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from protocols.codec import decode_event
from protocols.events import Event
from tracegate.demo.api import CloudApi, unit_path

LOOKUP_CONCURRENCY = 8


async def device_events(database_url: str, device_ids: Iterable[str]) -> dict[str, list[Event]]:
    """Every stored event of each device, decoded from the bytes it sent, in seq order."""
    from cloud.db.database import Database
    from cloud.domain.events.models import Event as EventRow

    wanted = list(device_ids)
    found: dict[str, list[Event]] = {d: [] for d in wanted}
    db = Database.connect(database_url, pool_size=1)
    try:
        async with db.sessions() as session:
            rows = await session.execute(
                select(EventRow.device_id, EventRow.payload)
                .where(EventRow.device_id.in_(wanted))
                .order_by(EventRow.device_id, EventRow.seq)
            )
            for device_id, payload in rows:
                found[device_id].append(decode_event(payload))
    finally:
        await db.close()
    return found


async def known_units(api: CloudApi, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """The device history record of each (DI, serial) the cloud knows (absent: unknown)."""
    semaphore = asyncio.Semaphore(LOOKUP_CONCURRENCY)
    found: dict[tuple[str, str], Any] = {}

    async def look(key: tuple[str, str]) -> None:
        async with semaphore:
            history = await api.get_or_none(f"/api/units/{unit_path(*key)}")
        if history is not None:
            found[key] = history

    await asyncio.gather(*(look(k) for k in set(keys)))
    return found


async def device_counts(database_url: str) -> dict[str, int]:
    """How many events of each device the cloud has stored so far."""
    from sqlalchemy import func

    from cloud.db.database import Database
    from cloud.domain.events.models import Event as EventRow

    db = Database.connect(database_url, pool_size=1)
    try:
        async with db.sessions() as session:
            rows = await session.execute(
                select(EventRow.device_id, func.count()).group_by(EventRow.device_id)
            )
            return {str(device): int(count) for device, count in rows}
    finally:
        await db.close()
