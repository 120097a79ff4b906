"""The status consumer at fleet size: how long a cloud instance takes to learn every agent's
state from the retained statuses when it connects, and to take a round of heartbeats, each
beside a bare paho subscriber receiving the same messages from the same broker (same run).

    .venv/bin/python bench/device_status.py [--agents 1000] [--sqlite]

A PostgreSQL database of its own (or a SQLite file), dropped at the end; the shared Mosquitto
on 127.0.0.1:1883 with a topic prefix of its own, whose retained messages are cleared at the
end. Also times `FleetStatusService.snapshot()` (what `GET /api/devices/status` and the line
status page read) over the whole fleet.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import secrets
import statistics
import tempfile
import threading
import time
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from cloud.db.database import Database
from cloud.db.migrate import upgrade_database
from cloud.domain.fleet.queries import FleetStatusService
from cloud.domain.plant.services import PlantCheckpoint, PlantService
from cloud.ingest.status import StatusConsumer
from cloud.runtime import status_consumer
from cloud.settings import Settings
from protocols.codec import encode_event
from protocols.events import DeviceStatus
from protocols.ids import uuid7
from protocols.parts import AdapterState
from protocols.topics import status_filter, status_topic

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PORT = 1883
LINES = 20
LINKS = (
    AdapterState(name="plc", kind="plc", state="up"),
    AdapterState(name="scanner-1", kind="scanner", state="up"),
    AdapterState(name="camera-1", kind="camera", state="down", detail="no frame for 5 s"),
)


def _agent(n: int) -> tuple[str, str, str, str]:
    return f"edge-{n:05d}", "plant-b", f"line-{n % LINES:02d}", f"cp-{n // LINES:04d}"


def _status(n: int, *, depth: int) -> bytes:
    device_id, site, line, checkpoint = _agent(n)
    return encode_event(
        DeviceStatus(
            event_id=uuid7(),
            device_id=device_id,
            occurred_at=dt.datetime.now(dt.UTC),
            site=site,
            line=line,
            checkpoint=checkpoint,
            online=True,
            software_version="1.4.2",
            config_hash="sha256:9f2c41d0",
            adapters=LINKS,
            outbox_depth=depth,
            outbox_oldest_age_s=depth * 0.1,
            outbox_bytes=45056,
        )
    )


def _client() -> mqtt.Client:
    return mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5
    )


def _publish_all(prefix: str, payloads: list[tuple[str, bytes]], *, retain: bool) -> None:
    client = _client()
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", PORT)
    client.loop_start()
    try:
        infos = [client.publish(t, p, qos=1, retain=retain) for t, p in payloads]
        for info in infos:
            info.wait_for_publish(timeout=30)
    finally:
        client.disconnect()
        client.loop_stop()


class _Bare:
    """A bare paho subscriber to the status filter, counting what it receives."""

    def __init__(self, prefix: str) -> None:
        self.received = 0
        self.last_at = 0.0
        self._subscribed = threading.Event()
        self._client = _client()
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.connect("127.0.0.1", PORT)
        self._client.loop_start()
        self.began = time.perf_counter()
        self._client.subscribe(status_filter(prefix=prefix), qos=1)
        if not self._subscribed.wait(30):
            raise SystemExit("bare subscriber: no SUBACK in 30 s")

    def _on_message(self, *_: object) -> None:
        self.received += 1
        self.last_at = time.perf_counter()

    def wait(self, count: int, *, since: float) -> float:
        """Seconds from `since` to the `count`-th message."""
        deadline = time.perf_counter() + 120
        while self.received < count:
            if time.perf_counter() > deadline:
                raise SystemExit(f"bare subscriber: {self.received} of {count} in 120 s")
            time.sleep(0.002)
        return self.last_at - since

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


async def _until_stored(consumer: StatusConsumer, count: int) -> float:
    began = time.perf_counter()
    while consumer.stats.stored + consumer.stats.unchanged < count:
        if time.perf_counter() - began > 300:
            raise SystemExit(f"consumer: {consumer.stats} after 300 s")
        await asyncio.sleep(0.005)
    return time.perf_counter() - began


async def run(agents: int, sqlite: bool) -> None:
    prefix = f"bench{secrets.token_hex(3)}/v1"
    name = f"tracegate_status_{secrets.token_hex(4)}"
    folder = tempfile.TemporaryDirectory()
    if sqlite:
        url = f"sqlite+aiosqlite:///{Path(folder.name) / 'status.sqlite3'}"
    else:
        admin = await asyncpg.connect(ADMIN_DSN)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    topics = [status_topic(*_agent(n)[1:], prefix=prefix) for n in range(agents)]
    db = Database.connect(url)
    try:
        await upgrade_database(url)
        await PlantService(db).import_checkpoints(
            PlantCheckpoint(site=s, line=ln, checkpoint=cp, device_id=d)
            for d, s, ln, cp in map(_agent, range(agents))
        )
        settings = Settings(database_url=url, topic_prefix=prefix, accept_unknown_devices=False)
        await asyncio.to_thread(
            _publish_all,
            prefix,
            [(t, _status(n, depth=0)) for n, t in enumerate(topics)],
            retain=True,
        )
        bare = await asyncio.to_thread(_Bare, prefix)
        bare_retained = await asyncio.to_thread(bare.wait, agents, since=bare.began)

        consumer = status_consumer(settings, db)
        stop = asyncio.Event()
        began = time.perf_counter()
        task = asyncio.create_task(consumer.run(stop))
        await consumer.wait_subscribed(timeout_s=30)
        subscribed_s = time.perf_counter() - began
        retained_s = await _until_stored(consumer, agents)

        # A round of heartbeats, live to both subscribers.
        heartbeats = [(t, _status(n, depth=n % 7)) for n, t in enumerate(topics)]
        done_before = consumer.stats.stored + consumer.stats.unchanged
        began = time.perf_counter()
        await asyncio.to_thread(_publish_all, prefix, heartbeats, retain=True)
        publish_s = time.perf_counter() - began
        live_s = publish_s + await _until_stored(consumer, done_before + agents)
        bare_live = await asyncio.to_thread(bare.wait, 2 * agents, since=began)
        bare.close()

        fleet = FleetStatusService(db, silent_after=dt.timedelta(seconds=90))
        snapshots = []
        for _ in range(10):
            t0 = time.perf_counter()
            snapshot = await fleet.snapshot()
            snapshots.append((time.perf_counter() - t0) * 1000)
        assert len(snapshot.devices) == agents
        assert {d.liveness for d in snapshot.devices} == {"online"}, "all online expected"
        stop.set()
        await task
        stats = consumer.stats
    finally:
        await db.close()
        await asyncio.to_thread(_publish_all, prefix, [(t, b"") for t in topics], retain=True)
        if not sqlite:
            admin = await asyncpg.connect(ADMIN_DSN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
        folder.cleanup()

    kind = "SQLite" if sqlite else "PostgreSQL"
    print(f"{agents:,} agents on {LINES} lines, {kind}, Mosquitto on loopback; seconds")
    rows = [
        ("", "consumer", "bare paho"),
        ("retained statuses at connect, all stored", f"{retained_s:.2f}", f"{bare_retained:.2f}"),
        ("  connect + SUBACK before that", f"{subscribed_s:.2f}", ""),
        ("a round of heartbeats, published + stored", f"{live_s:.2f}", f"{bare_live:.2f}"),
        ("  publishing them", f"{publish_s:.2f}", f"{publish_s:.2f}"),
    ]
    for label, ours, bare_figure in rows:
        print(f"{label:44s}{ours:>10s}{bare_figure:>11s}")
    print(
        f"snapshot of the fleet (GET /api/devices/status's read): p50 "
        f"{statistics.median(snapshots):.1f} ms, max {max(snapshots):.1f} ms"
    )
    print(f"consumer stats: {stats}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    asyncio.run(run(args.agents, args.sqlite))


if __name__ == "__main__":
    main()
