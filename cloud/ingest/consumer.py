"""The MQTT ingest worker: a shared subscription, batches, ack after commit.

Broker requirements (Mosquitto 2; DESIGN.md measured the stock limits dropping
QoS 1 messages queued for a slow subscriber without telling the publisher):

    persistence true
    max_queued_messages 0          # or large: the queue of an offline/slow ingest session
    max_queued_bytes 0             # or large
    persistent_client_expiration 7d  # at least the longest ingest outage to ride out
    max_inflight_messages 0        # MQTT 5 clients set their own Receive Maximum

Each worker connects with a stable client id, clean_start False and a session
expiry, so the broker keeps its queue while it is away; messages are
acknowledged (PUBACK) only after the batch that holds them committed, so a
worker killed mid-batch loses nothing: the broker redelivers, and the event
table drops the duplicates. Several workers with the same group split the load.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from cloud.domain.events.ingest import BatchResult, EventIngestService, StoreUnavailableError
from cloud.domain.events.validation import Incoming
from cloud.mqtt.client import connect_properties, make_client
from cloud.mqtt.on_asyncio import PahoOnAsyncio
from cloud.settings import Settings
from protocols.topics import event_filter, shared_subscription

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Received:
    mid: int
    qos: int
    incoming: Incoming
    monotonic_s: float


@dataclass(slots=True)
class IngestStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    batches: int = 0
    gaps_opened: int = 0
    gaps_closed: int = 0
    store_failures: int = 0
    batch_latency_ms: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=10_000)
    )
    """Receipt of a batch's first message to its commit, per batch."""

    def add(self, result: BatchResult) -> None:
        self.batches += 1
        self.stored += result.count("stored")
        self.duplicates += result.count("duplicate")
        self.refused += result.count("refused")
        self.gaps_opened += result.gaps_opened
        self.gaps_closed += result.gaps_closed


class MqttIngest:
    """One ingest worker; run it with `await worker.run(stop)`."""

    def __init__(self, settings: Settings, service: EventIngestService) -> None:
        self.settings = settings
        self.service = service
        self.stats = IngestStats()
        self.subscription = shared_subscription(
            settings.ingest_group, event_filter(prefix=settings.topic_prefix)
        )
        self._inbox: collections.deque[_Received] = collections.deque()
        self._arrived = asyncio.Event()
        self._connected = False
        self._subscribed = asyncio.Event()
        self._network: PahoOnAsyncio | None = None

    @property
    def connected(self) -> bool:
        return self._connected

    async def wait_subscribed(self, *, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            await self._subscribed.wait()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; unacknowledged messages stay with the broker."""
        broker = self.settings.broker
        client = make_client(broker, client_id=self.settings.ingest_client_id, manual_ack=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._network = PahoOnAsyncio(
            client,
            host=broker.host,
            port=broker.port,
            keepalive_s=30,
            connect_options={
                "clean_start": False,
                "properties": connect_properties(
                    session_expiry_s=self.settings.ingest_session_expiry_s,
                    receive_maximum=self.settings.ingest_receive_maximum,
                ),
            },
        )
        network_stop = asyncio.Event()
        network = asyncio.create_task(self._network.run(network_stop), name="ingest-mqtt")
        stopping = asyncio.create_task(stop.wait())
        in_flight: set[asyncio.Task[None]] = set()
        # PostgreSQL: the next batch is decoded while the previous one commits. SQLite
        # has one writer at a time, so a second batch would only wait for the lock.
        concurrency = self.settings.ingest_concurrency if self.settings.is_postgres else 1
        try:
            while not stop.is_set():
                # A slot first, then the batch: messages wait in the inbox, where the next
                # batch picks them up, rather than in a batch that cannot start yet.
                while len(in_flight) >= concurrency:
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                batch = await self._next_batch(stopping)
                if not batch:
                    continue
                task = asyncio.create_task(self._store_and_ack(client, batch, stop))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
        finally:
            stopping.cancel()
            if in_flight:
                await asyncio.wait(in_flight)
            network_stop.set()
            await network
            self._connected = False

    async def _store_and_ack(
        self, client: mqtt.Client, batch: list[_Received], stop: asyncio.Event
    ) -> None:
        if await self._store(batch, stop):
            for item in batch:
                client.ack(item.mid, item.qos)

    async def _next_batch(self, stopping: asyncio.Task[bool]) -> list[_Received]:
        if not self._inbox:
            arrived = asyncio.create_task(self._arrived.wait())
            await asyncio.wait({arrived, stopping}, return_when=asyncio.FIRST_COMPLETED)
            arrived.cancel()
        self._arrived.clear()
        limit = self.settings.ingest_batch_max
        if 0 < len(self._inbox) < limit and self.settings.ingest_batch_wait_ms:
            await asyncio.sleep(self.settings.ingest_batch_wait_ms / 1000)
        batch: list[_Received] = []
        while self._inbox and len(batch) < limit:
            batch.append(self._inbox.popleft())
        if self._inbox:
            self._arrived.set()
        return batch

    async def _store(self, batch: list[_Received], stop: asyncio.Event) -> bool:
        """Store the batch, retrying while the database is away; False if stopped first."""
        delay_s = 0.5
        while True:
            try:
                result = await self.service.ingest([item.incoming for item in batch])
            except StoreUnavailableError as exc:
                self.stats.store_failures += 1
                log.warning(
                    "database unavailable, batch of %d kept unacknowledged: %s", len(batch), exc
                )
            except Exception:
                # A defect, not an input: keep the messages with the broker and retry.
                self.stats.store_failures += 1
                log.exception("storing a batch of %d failed; retrying", len(batch))
            else:
                self.stats.add(result)
                self.stats.batch_latency_ms.append((time.monotonic() - batch[0].monotonic_s) * 1000)
                return True
            try:
                async with asyncio.timeout(delay_s):
                    await stop.wait()
                return False
            except TimeoutError:
                delay_s = min(delay_s * 2, 10.0)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: object,
        properties: object,
    ) -> None:
        if getattr(reason, "is_failure", True):
            log.warning("ingest broker connection refused: %s", reason)
            return
        self._connected = True
        client.subscribe(self.subscription, options=SubscribeOptions(qos=1))

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reasons: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        self._subscribed.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: object,
        reason: object,
        properties: object,
    ) -> None:
        self._connected = False

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = repr(message._topic)
        self._inbox.append(
            _Received(
                mid=message.mid,
                qos=message.qos,
                incoming=Incoming(
                    payload=bytes(message.payload),
                    topic=topic,
                    received_at=datetime.now(UTC),
                    source="mqtt",
                ),
                monotonic_s=time.monotonic(),
            )
        )
        self.stats.received += 1
        if self._network is not None:
            self._network.count_progress()
        self._arrived.set()
