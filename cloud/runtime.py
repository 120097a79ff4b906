"""What one service process holds while it runs: settings, database, publisher, ingest."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from dataclasses import dataclass, field

from cloud.db.database import Database
from cloud.domain.events.ingest import EventIngestService, IngestOptions
from cloud.ingest.consumer import MqttIngest
from cloud.mqtt.commands import CommandPublisher
from cloud.settings import Settings


def ingest_options(settings: Settings) -> IngestOptions:
    return IngestOptions(
        topic_prefix=settings.topic_prefix,
        max_event_bytes=settings.max_event_bytes,
        dead_letter_keep_bytes=settings.dead_letter_keep_bytes,
        clock_skew_threshold_s=settings.clock_skew_threshold_s,
        accept_unknown_devices=settings.accept_unknown_devices,
    )


@dataclass
class Runtime:
    settings: Settings
    db: Database
    events: EventIngestService
    commands: CommandPublisher
    ingest: MqttIngest | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _ingest_task: asyncio.Task[None] | None = None

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        db = Database.connect(settings.database_url, pool_size=settings.database_pool_size)
        events = EventIngestService(db, ingest_options(settings))
        # One command connection per process; its id need not be stable (no session kept).
        client_id = f"tracegate-cloud-{socket.gethostname()}-{os.getpid()}"
        commands = CommandPublisher(db, settings, client_id=client_id)
        ingest = MqttIngest(settings, events) if settings.ingest_enabled else None
        return cls(settings=settings, db=db, events=events, commands=commands, ingest=ingest)

    async def start(self) -> None:
        await self.commands.start()
        if self.ingest is not None:
            self._ingest_task = asyncio.create_task(self.ingest.run(self._stop), name="ingest")

    async def stop(self) -> None:
        self._stop.set()
        if self._ingest_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._ingest_task
        await self.commands.stop()
        await self.db.close()
