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

from cloud.domain.events.ingest import BatchResult, EventIngestService, StoreUnavailableError
from cloud.domain.events.validation import Incoming
from cloud.ingest.mqtt_packets import Publish
from cloud.ingest.mqtt_subscriber import MqttSubscriber
from cloud.settings import Settings
from protocols.topics import event_filter, shared_subscription

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Received:
    packet_id: int
    connection: int
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
        self._full = asyncio.Event()
        self._subscriber = MqttSubscriber(
            broker=settings.broker,
            client_id=settings.ingest_client_id,
            topic_filter=self.subscription,
            on_messages=self._on_messages,
            session_expiry_s=settings.ingest_session_expiry_s,
            receive_maximum=settings.ingest_receive_maximum,
        )

    @property
    def connected(self) -> bool:
        return self._subscriber.connected

    async def wait_subscribed(self, *, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            await self._subscriber.subscribed.wait()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; unacknowledged messages stay with the broker."""
        network_stop = asyncio.Event()
        network = asyncio.create_task(self._subscriber.run(network_stop), name="ingest-mqtt")
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
                batch = await self._next_batch(stopping, in_flight)
                if not batch:
                    continue
                task = asyncio.create_task(self._store_and_ack(batch, stop))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
        finally:
            stopping.cancel()
            if in_flight:
                await asyncio.wait(in_flight)
            network_stop.set()
            await network

    async def _store_and_ack(self, batch: list[_Received], stop: asyncio.Event) -> None:
        if await self._store(batch, stop):
            by_connection: dict[int, list[int]] = {}
            for item in batch:
                by_connection.setdefault(item.connection, []).append(item.packet_id)
            for connection, packet_ids in by_connection.items():
                self._subscriber.ack(connection, packet_ids)

    async def _next_batch(
        self, stopping: asyncio.Task[bool], in_flight: set[asyncio.Task[None]]
    ) -> list[_Received]:
        """The messages waiting, up to `ingest_batch_max`.

        Idle, a batch starts with whatever has arrived: latency. While another batch
        is being stored, this one fills up until that one is done, the batch is full
        or `ingest_batch_wait_ms` passed: fewer, larger transactions under load.
        """
        if not self._inbox:
            arrived = asyncio.create_task(self._arrived.wait())
            await asyncio.wait({arrived, stopping}, return_when=asyncio.FIRST_COMPLETED)
            arrived.cancel()
        limit = self.settings.ingest_batch_max
        wait_s = self.settings.ingest_batch_wait_ms / 1000
        if in_flight and wait_s and 0 < len(self._inbox) < limit:
            full = asyncio.create_task(self._full.wait())
            await asyncio.wait(
                {full, stopping, *in_flight}, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED
            )
            full.cancel()
        batch: list[_Received] = []
        inbox = self._inbox
        while inbox and len(batch) < limit:
            batch.append(inbox.popleft())
        if not inbox:
            self._arrived.clear()
        if len(inbox) < limit:
            self._full.clear()
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

    def _on_messages(self, messages: list[Publish], connection: int) -> None:
        # One clock reading per read from the socket: its messages arrived together.
        received_at = datetime.now(UTC)
        monotonic_s = time.monotonic()
        self._inbox.extend(
            _Received(
                message.packet_id,
                connection,
                Incoming(message.payload, message.topic, received_at, "mqtt"),
                monotonic_s,
            )
            for message in messages
        )
        self.stats.received += len(messages)
        self._arrived.set()
        if len(self._inbox) >= self.settings.ingest_batch_max:
            self._full.set()
