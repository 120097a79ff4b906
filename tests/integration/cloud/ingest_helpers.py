"""An MQTT ingest worker running in the test's event loop, shared by the ingest tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from cloud.db.database import Database
from cloud.domain.events.ingest import EventIngestService
from cloud.ingest.consumer import MqttIngest
from cloud.runtime import ingest_options
from cloud.settings import Settings


@contextlib.asynccontextmanager
async def running_ingest(
    settings: Settings, db: Database, *, subscribed_within_s: float = 5
) -> AsyncIterator[MqttIngest]:
    """A worker subscribed on the broker of `settings`; stopped (messages it holds stay
    unacknowledged) on leaving."""
    worker = MqttIngest(settings, EventIngestService(db, ingest_options(settings)))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await worker.wait_subscribed(timeout_s=subscribed_within_s)
        yield worker
    finally:
        stop.set()
        await task
