"""The status consumer: every agent's retained `device.status`, kept current in the database.

A plain subscription to `{prefix}/+/+/+/status`, not a shared one: the broker hands its
retained copy of each agent's status to every new subscriber, so each cloud instance that
runs a consumer learns the whole fleet's state on connecting, and the wills the broker
publishes when an agent vanishes reach all of them. A clean session is enough for the same
reason: what was missed while away is summed up in the retained messages handed over at the
next subscription. Status messages are few (one per agent per heartbeat period), so paho runs
on its own thread and hands messages to the asyncio loop.

While the database is away, messages wait here; past `MAX_WAITING` only the latest message
of each topic is kept (a status replaces the one before), and the rest is counted and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from cloud.domain.events.ingest import StoreUnavailableError
from cloud.domain.events.validation import Incoming
from cloud.domain.fleet.checks import StatusReceipt
from cloud.domain.fleet.store import StatusResult, StatusStore
from cloud.mqtt.client import connect_clean, make_client
from cloud.settings import Settings
from protocols.topics import status_filter

log = logging.getLogger(__name__)

MAX_WAITING = 10_000
"""Messages kept while the database is away before they are coalesced per topic."""


@dataclass(slots=True)
class StatusStats:
    received: int = 0
    stored: int = 0
    unchanged: int = 0
    refused: int = 0
    cleared: int = 0
    changes: int = 0
    coalesced: int = 0
    """Superseded messages dropped while the database was away (each topic's latest kept)."""
    store_failures: int = 0

    def add(self, result: StatusResult) -> None:
        self.stored += result.stored
        self.unchanged += result.unchanged
        self.refused += result.refused
        self.cleared += result.cleared
        self.changes += result.changes


class StatusConsumer:
    """Run it with `await consumer.run(stop)`; `client_id` must be unique per instance."""

    def __init__(self, settings: Settings, store: StatusStore, *, client_id: str) -> None:
        self.settings = settings
        self.store = store
        self.client_id = client_id
        self.topic_filter = status_filter(prefix=settings.topic_prefix)
        self.stats = StatusStats()
        self._waiting: list[StatusReceipt] = []
        self._arrived = asyncio.Event()
        self._subscribed = asyncio.Event()
        self._connected = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def subscribed(self) -> bool:
        """Connected and subscribed now: the stored statuses are being kept current."""
        return self._connected.is_set() and self._subscribed.is_set()

    async def wait_subscribed(self, *, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            await self._subscribed.wait()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set."""
        self._loop = asyncio.get_running_loop()
        broker = self.settings.broker
        client = make_client(broker, client_id=self.client_id)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        connect_clean(client, broker)
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                if not self._waiting:
                    arrived = asyncio.create_task(self._arrived.wait())
                    await asyncio.wait({arrived, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    arrived.cancel()
                self._arrived.clear()
                batch, self._waiting = self._waiting, []
                if batch and not await self._store(batch, stop):
                    return
        finally:
            stopping.cancel()
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)
            self._connected.clear()
            self._subscribed.clear()

    async def _store(self, batch: list[StatusReceipt], stop: asyncio.Event) -> bool:
        """Store the batch, retrying while the database is away; False if stopped first."""
        delay_s = 0.5
        while True:
            try:
                self.stats.add(await self.store.record(batch))
                return True
            except StoreUnavailableError as exc:
                self.stats.store_failures += 1
                log.warning("database unavailable, %d status messages wait: %s", len(batch), exc)
            except Exception:
                # A defect, not an input: keep the messages and retry.
                self.stats.store_failures += 1
                log.exception("storing %d status messages failed; retrying", len(batch))
            # What arrived meanwhile joins the retry, behind the batch (it is newer).
            batch = self._coalesced(batch + self._waiting)
            self._waiting = []
            try:
                async with asyncio.timeout(delay_s):
                    await stop.wait()
                return False
            except TimeoutError:
                delay_s = min(delay_s * 2, 10.0)

    def _coalesced(self, batch: list[StatusReceipt]) -> list[StatusReceipt]:
        if len(batch) <= MAX_WAITING:
            return batch
        latest = {receipt.incoming.topic: (index, receipt) for index, receipt in enumerate(batch)}
        kept = [receipt for _, receipt in sorted(latest.values(), key=lambda pair: pair[0])]
        dropped = len(batch) - len(kept)
        self.stats.coalesced += dropped
        log.warning(
            "database away: %d superseded status messages dropped, the latest of %d topics kept",
            dropped,
            len(kept),
        )
        return kept

    # paho's thread from here on: hand over to the loop.

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: object,
        properties: object,
    ) -> None:
        if getattr(reason, "is_failure", True):
            log.warning("status subscription: broker refused the connection: %s", reason)
            return
        self._connected.set()
        # Every (re)subscription hands over the retained status of every agent again.
        client.subscribe(self.topic_filter, qos=1)

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if any(code.is_failure for code in reason_codes):
            log.error(
                "broker refused the status subscription %s: %s", self.topic_filter, reason_codes
            )
            return
        self._call(self._subscribed.set)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: object,
        properties: object,
    ) -> None:
        self._connected.clear()
        self._call(self._subscribed.clear)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        received_at = datetime.now(UTC)
        try:
            topic = message.topic
        except UnicodeDecodeError:  # brokers refuse such topics; never let it stop paho's thread
            topic = bytes(message._topic).decode("utf-8", "backslashreplace")
        receipt = StatusReceipt(
            Incoming(bytes(message.payload), topic, received_at, "mqtt"),
            retained=bool(message.retain),
        )
        self._call(self._arrive, receipt)

    def _arrive(self, receipt: StatusReceipt) -> None:
        self.stats.received += 1
        self._waiting.append(receipt)
        self._arrived.set()

    def _call(self, callback: Callable[..., object], *args: object) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(callback, *args)
