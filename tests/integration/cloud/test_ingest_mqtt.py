"""The MQTT ingest against a real Mosquitto and both databases.

Each test has its own topic prefix, shared-subscription group and client ids.
"""

from __future__ import annotations

import asyncio
import os
import threading

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import msgspec
import pytest
from cloud_helpers import Device, OwnMosquitto, publisher, wait_until, with_field
from ingest_helpers import running_ingest
from sqlalchemy import func, select

from cloud.db.database import Database
from cloud.domain.events.models import DeadLetter, Event, SeqGap
from cloud.settings import Settings


async def count(db: Database, model: type[Event] | type[DeadLetter]) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def open_gaps(db: Database) -> int:
    async with db.sessions() as session:
        query = select(func.count()).select_from(SeqGap).where(SeqGap.closed_at.is_(None))
        return int(await session.scalar(query) or 0)


async def test_ingest_stopped_and_restarted_while_edges_publish_loses_nothing(
    db: Database, plant: dict[str, Device], settings: Settings, mosquitto: OwnMosquitto
) -> None:
    edges = [plant["sealing"], plant["packing"]]
    payloads = [
        (edge.topic(settings.topic_prefix), edge.inspected(f"{edge.checkpoint}-{n}")[1])
        for n in range(150)
        for edge in edges
    ]
    published = 0
    halfway = threading.Event()

    def publish_all() -> None:
        nonlocal published
        with publisher(mosquitto.port, f"{settings.ingest_client_id}-edge") as pub:
            for topic, data in payloads:
                pub.publish(topic, data)
                published += 1
                if published == 100:
                    halfway.set()
                    # Keep publishing while the ingest is down, a little slower.
                if 100 <= published < 200:
                    threading.Event().wait(0.002)

    async with running_ingest(settings, db):
        sender = asyncio.create_task(asyncio.to_thread(publish_all))
        await asyncio.to_thread(halfway.wait, 10)
    stored_while_up = await count(db, Event)
    await asyncio.sleep(0.2)
    assert await count(db, Event) == stored_while_up  # the ingest really is down
    await sender
    async with running_ingest(settings, db) as worker:
        await wait_until(
            lambda: _has(db, len(payloads)), timeout_s=20, what=f"{len(payloads)} events stored"
        )
        assert worker.stats.refused == 0

    assert stored_while_up < len(payloads)
    assert await count(db, Event) == len(payloads)
    assert await open_gaps(db) == 0
    async with db.sessions() as session:
        distinct = await session.scalar(select(func.count(func.distinct(Event.event_id))))
    assert distinct == len(payloads)


async def _has(db: Database, expected: int) -> bool:
    return await count(db, Event) >= expected


async def test_duplicates_disorder_gaps_garbage_and_spoofs_over_mqtt(
    db: Database, plant: dict[str, Device], settings: Settings, mosquitto: OwnMosquitto
) -> None:
    sealing, packing = plant["sealing"], plant["packing"]
    chain = [sealing.inspected(f"SN{n}")[1] for n in range(1, 7)]
    _, other = packing.inspected("P1")
    topic = sealing.topic(settings.topic_prefix)
    garbage = [
        b"\xfe" + os.urandom(200),
        with_field(chain[0], schema="tracegate/0"),
        with_field(chain[0], kind="unit.vanished"),
        msgspec.json.encode({"hello": "world"}),
        b"{" * (settings.max_event_bytes + 1),
    ]
    async with running_ingest(settings, db) as worker:
        with publisher(mosquitto.port, f"{settings.ingest_client_id}-edge") as pub:
            for data in (chain[0], chain[0], chain[2], chain[1], chain[0], chain[5]):
                pub.publish(topic, data)  # duplicates, out of order, a gap (seq 5, 6)
            for data in garbage:
                pub.publish(topic, data)
            pub.publish(topic, other)  # packing's event on sealing's topic
            await wait_until(lambda: _has(db, 4), what="4 events stored")
            await wait_until(lambda: open_gaps(db), what="a gap opened")
            pub.publish(topic, chain[3])
            pub.publish(topic, chain[4])
            for data in chain:
                pub.publish(topic, data)  # the whole chain redelivered
            await wait_until(lambda: _has(db, 6), what="6 events stored")
            await wait_until(lambda: _no_open_gaps(db), what="the gap closed")
        await wait_until(lambda: worker.stats.received == 20, what="20 messages received")

    assert await count(db, Event) == 6
    async with db.sessions() as session:
        reasons = (
            await session.scalars(select(DeadLetter.reason_code).order_by(DeadLetter.id))
        ).all()
        gaps = (await session.execute(select(SeqGap.first_seq, SeqGap.last_seq))).all()
    assert reasons == ["undecodable", "invalid", "invalid", "invalid", "too_large", "spoof"]
    assert [tuple(g) for g in gaps] == [(4, 5)]


async def _no_open_gaps(db: Database) -> bool:
    return await open_gaps(db) == 0


async def test_two_workers_in_one_group_split_the_events(
    db: Database, plant: dict[str, Device], settings: Settings, mosquitto: OwnMosquitto
) -> None:
    second = settings.model_copy(update={"ingest_client_id": settings.ingest_client_id + "-b"})
    edges = [plant["sealing"], plant["packing"], plant["assembly"]]
    async with running_ingest(settings, db) as one, running_ingest(second, db) as two:
        with publisher(mosquitto.port, f"{settings.ingest_client_id}-edge") as pub:
            sent = [
                pub.publish(
                    edge.topic(settings.topic_prefix), edge.inspected(f"U{n}")[1], wait=False
                )
                for n in range(100)
                for edge in edges
            ]
            for info in sent:
                info.wait_for_publish(timeout=5)
        await wait_until(lambda: _has(db, 300), timeout_s=20, what="300 events stored")
    assert one.stats.stored > 0 and two.stats.stored > 0
    assert one.stats.stored + two.stats.stored == 300
    assert await count(db, Event) == 300
    assert await open_gaps(db) == 0


@pytest.mark.parametrize(
    "database_url", ["postgres"], indirect=True
)  # SQLite has no connections to lose
async def test_connections_to_postgresql_lost_between_batches_lose_nothing(
    db: Database, plant: dict[str, Device], settings: Settings, mosquitto: OwnMosquitto
) -> None:
    assert settings.is_postgres
    sealing = plant["sealing"]
    topic = sealing.topic(settings.topic_prefix)
    # As `tracegate cloud ingest` connects: no ping when a connection leaves the pool.
    events_db = Database.connect(settings.database_url, pre_ping=False)
    try:
        async with running_ingest(settings, events_db) as worker:
            with publisher(mosquitto.port, f"{settings.ingest_client_id}-edge") as pub:
                for n in range(30):
                    pub.publish(topic, sealing.inspected(f"before-{n}")[1])
                await wait_until(lambda: _has(db, 30), what="30 events stored")
                await _terminate_other_connections(settings.database_url)
                for n in range(30):
                    pub.publish(topic, sealing.inspected(f"after-{n}")[1])
                await wait_until(lambda: _has(db, 60), timeout_s=20, what="60 events stored")
        assert worker.stats.store_failures >= 1  # the lost connection was met, and retried
        assert worker.stats.refused == 0
        assert await count(db, DeadLetter) == 0
        assert await open_gaps(db) == 0
    finally:
        await events_db.close()


async def _terminate_other_connections(database_url: str) -> None:
    name = database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
    finally:
        await admin.close()
