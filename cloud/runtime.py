"""What one service process holds while it runs: settings, database, publisher, ingest."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from dataclasses import dataclass, field

from cloud.db.database import Database
from cloud.domain.events.ingest import EventIngestService, IngestOptions
from cloud.domain.fleet.liveness import silent_after
from cloud.domain.fleet.queries import FleetStatusService
from cloud.domain.fleet.store import StatusStore
from cloud.ingest.consumer import MqttIngest
from cloud.ingest.status import StatusConsumer
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


def status_consumer(settings: Settings, db: Database) -> StatusConsumer:
    """The `device.status` consumer that runs beside the event ingest (cloud/ingest/status.py).
    Its own client id per instance: a plain subscription, and two instances must not take
    each other's connection."""
    store = StatusStore(
        db,
        topic_prefix=settings.topic_prefix,
        accept_unknown_devices=settings.accept_unknown_devices,
        max_bytes=settings.max_event_bytes,
        dead_letter_keep_bytes=settings.dead_letter_keep_bytes,
    )
    client_id = f"tracegate-status-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    return StatusConsumer(settings, store, client_id=client_id)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    events: EventIngestService
    commands: CommandPublisher
    ingest: MqttIngest | None = None
    status: StatusConsumer | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _ingest_task: asyncio.Task[None] | None = None
    _status_task: asyncio.Task[None] | None = None

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        db = Database.connect(settings.database_url, pool_size=settings.database_pool_size)
        events = EventIngestService(db, ingest_options(settings))
        # One command connection per process; its id need not be stable (no session kept).
        client_id = f"tracegate-cloud-{socket.gethostname()}-{os.getpid()}"
        commands = CommandPublisher(db, settings, client_id=client_id)
        ingest = MqttIngest(settings, events) if settings.ingest_enabled else None
        status = status_consumer(settings, db) if settings.ingest_enabled else None
        return cls(
            settings=settings, db=db, events=events, commands=commands, ingest=ingest, status=status
        )

    def fleet_status(self) -> FleetStatusService:
        """The agents' status as stored, judged by the settings' silence rule."""
        consumer = self.status
        return FleetStatusService(
            self.db,
            silent_after=silent_after(
                status_period_s=self.settings.status_period_s,
                periods=self.settings.status_silent_after_periods,
            ),
            subscribed=(lambda: consumer.subscribed) if consumer is not None else lambda: None,
        )

    async def start(self) -> None:
        await self.commands.start()
        if self.ingest is not None:
            self._ingest_task = asyncio.create_task(self.ingest.run(self._stop), name="ingest")
        if self.status is not None:
            self._status_task = asyncio.create_task(self.status.run(self._stop), name="status")

    async def stop(self) -> None:
        self._stop.set()
        if self._ingest_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._ingest_task
        if self._status_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._status_task
        await self.commands.stop()
        await self.db.close()
