"""Helpers of the device-status tests: status payloads, a retained publish, a running consumer.

Loaded by path (tests are not a package).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

import paho.mqtt.client as mqtt
from cloud_helpers import Device
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from cloud.db.database import Database
from cloud.domain.fleet.queries import FleetStatusService
from cloud.domain.fleet.schemas import DeviceStatusOut
from cloud.ingest.status import StatusConsumer
from cloud.runtime import status_consumer
from cloud.settings import Settings
from protocols.codec import encode_event
from protocols.events import DeviceStatus
from protocols.ids import uuid7
from protocols.parts import AdapterState
from protocols.topics import status_topic

SINCE = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
LINKS = (
    AdapterState(name="plc", kind="plc", state="up", since=SINCE),
    AdapterState(name="scanner-1", kind="scanner", state="down", since=SINCE, detail="no reply"),
    AdapterState(name="camera-1", kind="camera", state="unknown"),
)


def status_of(
    device: Device,
    *,
    online: bool = True,
    depth: int = 0,
    oldest_s: float = 0.0,
    config: str = "cfg-1",
    adapters: tuple[AdapterState, ...] = LINKS,
    occurred_at: dt.datetime | None = None,
    device_id: str | None = None,
    checkpoint: str | None = None,
) -> bytes:
    """A device.status of `device` as its publisher would send it (seq 0)."""
    return encode_event(
        DeviceStatus(
            event_id=uuid7(),
            device_id=device_id or device.device_id,
            occurred_at=occurred_at or dt.datetime.now(dt.UTC),
            site=device.site,
            line=device.line,
            checkpoint=checkpoint or device.checkpoint,
            online=online,
            software_version="1.4.2",
            config_hash=config,
            adapters=adapters,
            outbox_depth=depth,
            outbox_oldest_age_s=oldest_s,
            outbox_bytes=4096 + depth * 900,
        )
    )


def topic_of(device: Device, prefix: str) -> str:
    return status_topic(device.site, device.line, device.checkpoint, prefix=prefix)


def publish(port: int, topic: str, payload: bytes, *, retain: bool = True) -> None:
    """One QoS 1 publish by a client of its own, acknowledged before it returns."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        info = client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout=10)
        assert info.is_published(), f"no PUBACK for {topic}"
    finally:
        client.disconnect()
        client.loop_stop()


@contextlib.asynccontextmanager
async def consuming(settings: Settings, db: Database) -> AsyncIterator[StatusConsumer]:
    """A status consumer as the service runs it, subscribed before the body runs."""
    consumer = status_consumer(settings, db)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await consumer.wait_subscribed(timeout_s=15)
        yield consumer
    finally:
        stop.set()
        await task


def fleet(db: Database, *, silent_after_s: float = 600.0) -> FleetStatusService:
    return FleetStatusService(db, silent_after=dt.timedelta(seconds=silent_after_s))


async def device_status(db: Database, device_id: str) -> DeviceStatusOut:
    snapshot = await fleet(db).snapshot()
    (found,) = [d for d in snapshot.devices if d.device_id == device_id]
    return found
