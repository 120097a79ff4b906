"""The agents' `device.status` kept by the cloud: a real Mosquitto, both databases.

The edge side is the real edge `Publisher` (in this process, and in a process of its own
that is killed for its last will) or a plain paho client; each test has its own topic
prefix on the session's broker.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from pathlib import Path

import msgspec
import pytest
from access_helpers import bearer
from cloud_helpers import Collector, Device, OwnMosquitto, wait_until
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from status_helpers import (
    LINKS,
    consuming,
    device_status,
    publish,
    status_of,
    topic_of,
)

from cloud.app import create_app
from cloud.db.database import Database
from cloud.db.migrate import upgrade_database
from cloud.domain.events.models import DeadLetter
from cloud.domain.events.validation import Incoming
from cloud.domain.fleet.checks import StatusReceipt
from cloud.domain.fleet.models import DeviceStatusChange, DeviceStatusRow
from cloud.domain.fleet.store import HISTORY_PER_DEVICE, StatusStore
from cloud.domain.plant.services import PlantCheckpoint, PlantService
from cloud.ingest import status as status_module
from cloud.runtime import status_consumer
from cloud.settings import Settings
from edge.outbox import Outbox
from edge.publish import Publisher as EdgePublisher
from protocols.codec import decode_event
from protocols.events import DeviceStatus

AGENT = Path(__file__).parent / "status_agent.py"


async def rows(db: Database) -> dict[str, DeviceStatusRow]:
    async with db.sessions() as session:
        return {r.device_id: r for r in (await session.scalars(select(DeviceStatusRow))).all()}


async def dead_letters(db: Database) -> list[tuple[str, str, str]]:
    async with db.sessions() as session:
        found = await session.execute(
            select(DeadLetter.reason_code, DeadLetter.topic, DeadLetter.reason).order_by(
                DeadLetter.id
            )
        )
        return [(code, topic, reason) for code, topic, reason in found]


async def change_count(db: Database) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(DeviceStatusChange)) or 0)


async def test_a_real_edge_publisher_is_online_with_its_links_then_offline_on_stop(
    db: Database,
    plant: dict[str, Device],
    settings: Settings,
    mosquitto: OwnMosquitto,
    tmp_path: Path,
) -> None:
    sealing = plant["sealing"]
    topic = topic_of(sealing, settings.topic_prefix)
    outbox = await Outbox.open(
        tmp_path / "outbox.db",
        device_id=sealing.device_id,
        max_bytes=10_000_000,
        max_age_s=3600,
        topic_prefix=settings.topic_prefix,
    )
    seen = Collector(mosquitto.port, topic, client_id=f"{settings.ingest_client_id}-watch")
    try:
        async with consuming(settings, db) as consumer:
            edge = EdgePublisher(
                outbox,
                host="127.0.0.1",
                port=mosquitto.port,
                site=sealing.site,
                line=sealing.line,
                checkpoint=sealing.checkpoint,
                software_version="0.1.0-edge",
                config_hash="cfg-edge",
                topic_prefix=settings.topic_prefix,
                client_id=f"{settings.ingest_client_id}-edge",
                heartbeat_interval_s=0.2,
                adapter_states=lambda: LINKS,
            )
            async with edge:
                # Birth and at least two heartbeats stored.
                await wait_until(
                    lambda: consumer.stats.stored >= 3, timeout_s=15, what="three statuses"
                )
                online = await device_status(db, sealing.device_id)
            await wait_until(lambda: _offline(db, sealing.device_id), timeout_s=15, what="offline")
            offline = await device_status(db, sealing.device_id)
            stats = consumer.stats
    finally:
        seen.close()
        await outbox.close()

    assert online.liveness == "online" and online.online is True
    assert (online.software_version, online.config_hash) == ("0.1.0-edge", "cfg-edge")
    assert [(a.name, a.kind, a.state, a.detail) for a in online.adapters] == [
        ("plc", "plc", "up", None),
        ("scanner-1", "scanner", "down", "no reply"),
        ("camera-1", "camera", "unknown", None),
    ]
    assert (online.outbox_depth, online.outbox_oldest_age_s) == (0, 0.0)
    assert online.outbox_bytes is not None and online.outbox_bytes > 0
    # The stored figures are those of the last message the broker carried.
    last = decode_event(seen.snapshot()[-1][1])
    assert isinstance(last, DeviceStatus) and not last.online
    assert offline.liveness == "offline" and offline.received_at is not None
    assert offline.occurred_at == last.occurred_at
    assert [c.online for c in offline.changes] == [False, True]
    assert offline.since == offline.changes[0].at
    assert stats.refused == 0 and await dead_letters(db) == []


async def _offline(db: Database, device_id: str) -> bool:
    return (await device_status(db, device_id)).liveness == "offline"


async def test_an_agent_killed_goes_offline_through_its_last_will(
    db: Database,
    plant: dict[str, Device],
    settings: Settings,
    mosquitto: OwnMosquitto,
    tmp_path: Path,
) -> None:
    packing = plant["packing"]
    agent = await asyncio.create_subprocess_exec(
        sys.executable,
        str(AGENT),
        str(mosquitto.port),
        settings.topic_prefix,
        packing.device_id,
        packing.site,
        packing.line,
        packing.checkpoint,
        str(tmp_path / "agent-outbox.db"),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
    )
    try:
        async with consuming(settings, db):
            assert agent.stdout is not None
            line = await asyncio.wait_for(agent.stdout.readline(), timeout=30)
            assert line.strip() == b"connected"
            await wait_until(
                lambda: _liveness_is(db, packing.device_id, "online"), timeout_s=15, what="online"
            )
            os.kill(agent.pid, signal.SIGKILL)
            await asyncio.wait_for(agent.wait(), timeout=10)
            # The kernel closes the socket without a DISCONNECT: the broker publishes the will.
            await wait_until(
                lambda: _liveness_is(db, packing.device_id, "offline"),
                timeout_s=15,
                what="the will stored",
            )
            dead = await device_status(db, packing.device_id)
    finally:
        if agent.returncode is None:
            agent.kill()
            await agent.wait()
    assert dead.online is False
    assert dead.software_version == "0.1.0-agent" and dead.config_hash == "cfg-agent"
    assert [(a.name, a.state) for a in dead.adapters] == [("plc", "up"), ("scanner-1", "down")]
    assert [c.online for c in dead.changes] == [False, True]
    # The will was built at the last heartbeat, before the broker published it.
    assert dead.occurred_at is not None and dead.received_at is not None
    assert dead.occurred_at <= dead.received_at
    assert await dead_letters(db) == []


async def _liveness_is(db: Database, device_id: str, liveness: str) -> bool:
    return (await device_status(db, device_id)).liveness == liveness


async def test_retained_status_reaches_every_instance_and_is_stored_once(
    db: Database, plant: dict[str, Device], settings: Settings, mosquitto: OwnMosquitto
) -> None:
    sealing = plant["sealing"]
    topic = topic_of(sealing, settings.topic_prefix)
    first = status_of(sealing, depth=3, oldest_s=1.5)
    await asyncio.to_thread(publish, mosquitto.port, topic, first)

    async with consuming(settings, db) as a, consuming(settings, db) as b:
        await wait_until(
            lambda: a.stats.received >= 1 and b.stats.received >= 1,
            timeout_s=15,
            what="the retained status at both instances",
        )
        await wait_until(
            lambda: a.stats.stored + a.stats.unchanged + b.stats.stored + b.stats.unchanged == 2,
            timeout_s=15,
            what="both instances done",
        )
        retained = (await rows(db))[sealing.device_id]
        # A live heartbeat replaces it at both.
        second = status_of(sealing, depth=7, oldest_s=12.25)
        await asyncio.to_thread(publish, mosquitto.port, topic, second)
        await wait_until(
            lambda: a.stats.received >= 2 and b.stats.received >= 2, timeout_s=15, what="live"
        )
        await wait_until(
            lambda: a.stats.stored + a.stats.unchanged + b.stats.stored + b.stats.unchanged == 4,
            timeout_s=15,
            what="both instances done with the heartbeat",
        )
        live = (await rows(db))[sealing.device_id]
    # A consumer started again gets the same message retained: nothing changes.
    async with consuming(settings, db) as again:
        await wait_until(lambda: again.stats.unchanged == 1, timeout_s=15, what="resubscribed")
        assert again.stats.stored == 0
    after = (await rows(db))[sealing.device_id]

    first_status = decode_event(first)
    assert retained.retained is True and retained.event_id == first_status.event_id
    # Retained: the message was published at its device time (before the subscription).
    assert retained.heard_at == first_status.occurred_at <= retained.received_at
    assert (retained.outbox_depth, retained.outbox_oldest_age_s) == (3, 1.5)
    assert live.retained is False and live.event_id == decode_event(second).event_id
    assert live.heard_at == live.received_at
    assert (live.outbox_depth, live.outbox_oldest_age_s) == (7, 12.25)
    assert live.since == retained.since  # still online: no change
    assert (after.event_id, after.received_at) == (live.event_id, live.received_at)
    assert await change_count(db) == 1  # its first status, once for both instances


async def test_garbage_spoofs_and_unknown_devices_are_dead_lettered(
    db: Database, plant: dict[str, Device], settings: Settings, mosquitto: OwnMosquitto
) -> None:
    sealing, packing = plant["sealing"], plant["packing"]
    topic = topic_of(sealing, settings.topic_prefix)
    _, inspected = sealing.inspected("SN-1")
    valid = msgspec.json.decode(status_of(sealing))
    garbage = [
        (b"\x00\xff not json", "undecodable"),
        (b'{"kind": "device.status"}', "invalid"),
        (msgspec.json.encode({**valid, "schema": "tracegate/0"}), "invalid"),
        (inspected, "invalid"),
        (b'{"x": "' + b"y" * (settings.max_event_bytes + 10) + b'"}', "too_large"),
        # Another checkpoint's status on sealing's topic.
        (status_of(packing), "spoof"),
        # Sealing's topic and checkpoint, but the device is registered at packing.
        (status_of(sealing, device_id=packing.device_id), "spoof"),
        # A device nobody registered (unknown devices are not accepted in these tests).
        (status_of(sealing, device_id="edge-ghost"), "unknown_device"),
    ]
    async with consuming(settings, db) as consumer:
        for payload, _ in garbage:
            await asyncio.to_thread(publish, mosquitto.port, topic, payload, retain=False)
        await asyncio.to_thread(publish, mosquitto.port, topic, status_of(sealing))
        await wait_until(
            lambda: consumer.stats.stored == 1 and consumer.stats.refused == len(garbage),
            timeout_s=20,
            what="the garbage refused and the valid status stored",
        )
    letters = await dead_letters(db)
    assert [code for code, _, _ in letters] == [code for _, code in garbage]
    assert {t for _, t, _ in letters} == {topic}
    reasons = [reason for _, _, reason in letters]
    assert "unsupported schema version 'tracegate/0'" in reasons[2]
    assert "expected kind 'device.status', got 'unit.inspected'" in reasons[3]
    assert "names checkpoint 'plant-t/line-1/packing' but came on the status topic of" in reasons[5]
    assert "registered at 'plant-t/line-1/packing'" in reasons[6]
    assert "'edge-ghost', which is not registered" in reasons[7]
    assert set(await rows(db)) == {sealing.device_id}


async def test_an_empty_retained_message_clears_the_status(
    db: Database, plant: dict[str, Device], settings: Settings, mosquitto: OwnMosquitto
) -> None:
    sealing = plant["sealing"]
    topic = topic_of(sealing, settings.topic_prefix)
    async with consuming(settings, db) as consumer:
        await asyncio.to_thread(publish, mosquitto.port, topic, status_of(sealing))
        await wait_until(lambda: consumer.stats.stored == 1, timeout_s=15, what="stored")
        assert sealing.device_id in await rows(db)
        await asyncio.to_thread(publish, mosquitto.port, topic, b"")
        await wait_until(lambda: consumer.stats.cleared == 1, timeout_s=15, what="cleared")
    assert await rows(db) == {}
    assert (await device_status(db, sealing.device_id)).liveness == "unknown"
    assert await dead_letters(db) == []


async def test_the_service_runs_the_consumer_and_serves_the_fleet(
    db: Database, plant: dict[str, Device], settings: Settings, mosquitto: OwnMosquitto
) -> None:
    """`GET /api/devices/status` on the service with its ingest on: links, outbox figures,
    a config that differs on one line, an offline agent, one never heard, and silence."""
    served = settings.model_copy(
        update={"ingest_enabled": True, "status_period_s": 0.5, "status_silent_after_periods": 2}
    )
    headers = await bearer(db, username="viewer", roles=("auditor",))
    prefix = settings.topic_prefix
    async with AsyncTestClient(app=create_app(served)) as client:
        client.headers.update(headers)
        await wait_until(
            lambda: _subscribed(client), timeout_s=15, what="the service's status subscription"
        )
        for device, payload in (
            (plant["sealing"], status_of(plant["sealing"], depth=42, oldest_s=17.5)),
            (plant["assembly"], status_of(plant["assembly"])),
            (plant["packing"], status_of(plant["packing"], config="cfg-2")),
            (plant["receiving"], status_of(plant["receiving"], online=False)),
        ):
            await asyncio.to_thread(publish, mosquitto.port, topic_of(device, prefix), payload)
        body = await wait_until(
            lambda: _all_judged(client), timeout_s=20, what="four statuses, the online silent"
        )
        filtered = (await client.get("/api/devices/status", params={"line": "line-9"})).json()

    by_device = {d["device_id"]: d for d in body["devices"]}
    assert body["subscribed"] is True and body["silent_after_s"] == 1.0
    assert {d: s["liveness"] for d, s in by_device.items()} == {
        "edge-sealing": "silent",
        "edge-assembly": "silent",
        "edge-packing": "silent",
        "edge-receiving": "offline",
        "edge-shipping": "unknown",
    }
    sealing = by_device["edge-sealing"]
    assert (sealing["outbox_depth"], sealing["outbox_oldest_age_s"]) == (42, 17.5)
    assert [(a["name"], a["state"]) for a in sealing["adapters"]] == [
        ("plc", "up"),
        ("scanner-1", "down"),
        ("camera-1", "unknown"),
    ]
    assert {d: s["config_differs"] for d, s in by_device.items()} == {
        "edge-sealing": False,
        "edge-assembly": False,
        "edge-packing": True,
        "edge-receiving": False,
        "edge-shipping": False,
    }
    (line,) = body["lines"]
    assert line["consistent"] is False
    assert line["config_hashes"] == {
        "cfg-1": ["edge-assembly", "edge-receiving", "edge-sealing"],
        "cfg-2": ["edge-packing"],
    }
    assert by_device["edge-shipping"]["online"] is None
    assert by_device["edge-shipping"]["adapters"] == []
    assert filtered["devices"] == [] and filtered["lines"] == []


async def _subscribed(client: AsyncTestClient) -> bool:  # type: ignore[type-arg]
    response = await client.get("/api/devices/status")
    assert response.status_code == 200, response.text
    return bool(response.json()["subscribed"])


async def _all_judged(client: AsyncTestClient) -> dict[str, object] | None:  # type: ignore[type-arg]
    body: dict[str, object] = (await client.get("/api/devices/status")).json()
    states = [d["liveness"] for d in body["devices"]]  # type: ignore[attr-defined]
    return body if states.count("silent") == 3 and "offline" in states else None


async def test_statuses_wait_while_the_database_is_away(
    devices: dict[str, Device], prefix: str, mosquitto: OwnMosquitto, tmp_path: Path
) -> None:
    """A database that cannot be opened yet (SQLite in a folder not made yet): the consumer
    keeps the message, retries, and stores it once the database is there."""
    sealing = devices["sealing"]
    url = f"sqlite+aiosqlite:///{tmp_path / 'later' / 'tracegate.sqlite3'}"
    away = Settings(
        database_url=url, mqtt_url=mosquitto.url, topic_prefix=prefix, accept_unknown_devices=False
    )
    later = Database.connect(url)
    try:
        async with consuming(away, later) as consumer:
            topic = topic_of(sealing, away.topic_prefix)
            await asyncio.to_thread(publish, mosquitto.port, topic, status_of(sealing, depth=5))
            await wait_until(
                lambda: consumer.stats.store_failures >= 1, timeout_s=15, what="a failed store"
            )
            # The database appears at once, migrated and with the plant (as a restored one).
            ready = f"sqlite+aiosqlite:///{tmp_path / 'ready' / 'tracegate.sqlite3'}"
            (tmp_path / "ready").mkdir()
            await upgrade_database(ready)
            prepared = Database.connect(ready)
            try:
                await PlantService(prepared).import_checkpoints(
                    [
                        PlantCheckpoint(
                            site=sealing.site,
                            line=sealing.line,
                            checkpoint=sealing.checkpoint,
                            device_id=sealing.device_id,
                        )
                    ]
                )
            finally:
                await prepared.close()
            (tmp_path / "ready").rename(tmp_path / "later")
            await wait_until(lambda: consumer.stats.stored == 1, timeout_s=30, what="stored")
        stored = await device_status(later, sealing.device_id)
    finally:
        await later.close()
    assert stored.liveness == "online" and stored.outbox_depth == 5


def test_a_long_outage_keeps_the_latest_status_of_each_topic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(status_module, "MAX_WAITING", 3)
    settings = Settings()  # nothing is connected: only the waiting list is used
    consumer = status_consumer(settings, Database.connect(settings.database_url))
    now = dt.datetime.now(dt.UTC)
    waiting = [
        StatusReceipt(Incoming(f"{topic}-{n}".encode(), topic, now, "mqtt"), retained=False)
        for n, topic in enumerate(["a", "b", "a", "c", "b"])
    ]
    kept = consumer._coalesced(waiting)
    assert [r.incoming.payload for r in kept] == [b"a-2", b"c-3", b"b-4"]
    assert consumer.stats.coalesced == 2
    assert consumer._coalesced(kept) == kept  # within the limit: untouched


async def test_the_history_keeps_the_newest_changes_of_each_device(
    db: Database, plant: dict[str, Device], settings: Settings
) -> None:
    store = StatusStore(
        db,
        topic_prefix=settings.topic_prefix,
        accept_unknown_devices=False,
        max_bytes=settings.max_event_bytes,
        dead_letter_keep_bytes=settings.dead_letter_keep_bytes,
    )
    sealing, packing = plant["sealing"], plant["packing"]
    start = dt.datetime.now(dt.UTC)

    def receipt(device: Device, n: int, *, online: bool) -> StatusReceipt:
        at = start + dt.timedelta(seconds=n)
        data = status_of(device, online=online, occurred_at=at)
        return StatusReceipt(
            Incoming(data, topic_of(device, settings.topic_prefix), at, "mqtt"), False
        )

    await store.record([receipt(packing, 0, online=True)])
    # A flapping agent: 25 changes in one batch, then 5 more one by one.
    first = await store.record([receipt(sealing, n, online=n % 2 == 0) for n in range(25)])
    for n in range(25, 30):
        await store.record([receipt(sealing, n, online=n % 2 == 0)])
    async with db.sessions() as session:
        kept = await session.execute(
            select(DeviceStatusChange.device_id, DeviceStatusChange.at).order_by(
                DeviceStatusChange.id
            )
        )
        by_device: dict[str, list[dt.datetime]] = {}
        for device_id, at in kept:
            by_device.setdefault(device_id, []).append(at)
    assert (first.stored, first.changes) == (25, 25)
    assert by_device[sealing.device_id] == [start + dt.timedelta(seconds=n) for n in range(10, 30)]
    assert by_device[packing.device_id] == [start]
    assert HISTORY_PER_DEVICE == 20
