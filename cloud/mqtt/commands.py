"""Commands to edges: queued in the database with the change that causes them, then published.

A service calls `queue_command` inside its transaction and `CommandPublisher.wake()`
after the commit. The publisher sends every unpublished row at QoS 1 and marks
it published only after the broker's PUBACK; while the broker is away the rows
wait (`pending` counts them, /health reports it) and go out on reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.database import Database
from cloud.domain.commands.models import OutgoingCommand
from cloud.mqtt.client import connect_clean, make_client
from cloud.settings import Settings
from protocols.codec import encode_command
from protocols.commands import Command
from protocols.topics import command_topic

log = logging.getLogger(__name__)


def queue_command(
    session: AsyncSession,
    command: Command,
    *,
    site: str,
    line: str,
    checkpoint: str,
    prefix: str,
    retain: bool = False,
) -> OutgoingCommand:
    """Record a command for one checkpoint; it is published after the transaction commits."""
    row = OutgoingCommand(
        name=command.kind,
        topic=command_topic(site, line, checkpoint, command.kind, prefix=prefix),
        payload=encode_command(command).decode("utf-8"),
        retain=retain,
    )
    session.add(row)
    return row


class CommandPublisher:
    """Publishes queued commands; one per service process."""

    def __init__(self, db: Database, settings: Settings, *, client_id: str) -> None:
        self.db = db
        self.settings = settings
        self.client_id = client_id
        self.pending = 0
        self._connected = threading.Event()
        self._wake = asyncio.Event()
        self._client: mqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        broker = self.settings.broker
        client = make_client(broker, client_id=self.client_id)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        connect_clean(client, broker)
        self._client = client
        self._task = asyncio.create_task(self._run(), name="command-publisher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()

    async def flush(self, *, timeout_s: float) -> bool:
        """Wait until nothing is pending (True) or `timeout_s` passes (False)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            self.wake()
            if await self._count_pending() == 0:
                return True
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.02)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: object,
        properties: object,
    ) -> None:
        if not getattr(reason, "is_failure", True):
            self._connected.set()
            if self._loop is not None:
                # Commands queued while the broker was away go out now, not at the next poll.
                self._loop.call_soon_threadsafe(self._wake.set)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: object,
        properties: object,
    ) -> None:
        self._connected.clear()

    async def _count_pending(self) -> int:
        async with self.db.sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(OutgoingCommand)
                .where(OutgoingCommand.published_at.is_(None))
            )
        self.pending = int(count or 0)
        return self.pending

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._publish_pending()
            except Exception:  # the loop must survive a database or broker hiccup
                log.exception("publishing queued commands failed; retrying")
                await asyncio.sleep(1.0)

    async def _publish_pending(self) -> None:
        client = self._client
        if client is None:
            return
        async with self.db.sessions() as session:
            rows = (
                await session.scalars(
                    select(OutgoingCommand)
                    .where(OutgoingCommand.published_at.is_(None))
                    .order_by(OutgoingCommand.id)
                    .limit(200)
                )
            ).all()
            for row in rows:
                if not self.connected:
                    break
                row.attempts += 1
                info = client.publish(row.topic, row.payload, qos=1, retain=row.retain)
                acked = await asyncio.to_thread(
                    _wait_for_puback, info, self.settings.command_timeout_s
                )
                if acked:
                    row.published_at = datetime.now(UTC)
                    row.last_error = ""
                else:
                    row.last_error = (
                        f"no PUBACK within {self.settings.command_timeout_s} s (rc {info.rc})"
                    )
                    break
            await session.commit()
        await self._count_pending()


def _wait_for_puback(info: mqtt.MQTTMessageInfo, timeout_s: float) -> bool:
    if info.rc != mqtt.MQTT_ERR_SUCCESS:
        return False
    try:
        info.wait_for_publish(timeout=timeout_s)
    except (RuntimeError, ValueError):
        return False
    return info.is_published()
