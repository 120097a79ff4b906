"""The ingest's store on PostgreSQL and SQLite: exactly once, gaps, dead letters, spoofs."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Sequence

import pytest
from cloud_helpers import Device, with_field
from sqlalchemy import func, select

from cloud.db.database import Database
from cloud.domain.events.ingest import BatchResult, EventIngestService, IngestOptions
from cloud.domain.events.models import DeadLetter, Event, SeqGap
from cloud.domain.events.validation import Incoming
from cloud.domain.plant.models import Device as DeviceRow

PREFIX = "tg/v1"


def service(db: Database, *, accept_unknown: bool = False) -> EventIngestService:
    return EventIngestService(
        db,
        IngestOptions(
            topic_prefix=PREFIX,
            max_event_bytes=64 * 1024,
            dead_letter_keep_bytes=1024,
            clock_skew_threshold_s=300,
            accept_unknown_devices=accept_unknown,
        ),
    )


async def send(
    ingest: EventIngestService, device: Device, *payloads: bytes, topic: str | None = None
) -> BatchResult:
    now = dt.datetime.now(dt.UTC)
    return await ingest.ingest(
        [Incoming(p, topic or device.topic(PREFIX), now, "mqtt") for p in payloads]
    )


async def stored_ids(db: Database) -> list[uuid.UUID]:
    async with db.sessions() as session:
        return list((await session.scalars(select(Event.event_id).order_by(Event.seq))).all())


async def gaps(db: Database) -> list[tuple[str, int, int, int, bool]]:
    async with db.sessions() as session:
        rows = (await session.scalars(select(SeqGap).order_by(SeqGap.id))).all()
    return [
        (g.device_id, g.first_seq, g.last_seq, g.missing, g.closed_at is not None) for g in rows
    ]


async def dead_letters(db: Database) -> Sequence[DeadLetter]:
    async with db.sessions() as session:
        return (await session.scalars(select(DeadLetter).order_by(DeadLetter.id))).all()


async def test_the_same_event_five_times_is_stored_once(
    db: Database, plant: dict[str, Device]
) -> None:
    sealing = plant["sealing"]
    event, data = sealing.inspected("SN1")
    ingest = service(db)

    first = await send(ingest, sealing, data, data)
    later = [await send(ingest, sealing, data) for _ in range(3)]

    assert [o.status for o in first.outcomes] == ["stored", "duplicate"]
    assert [r.outcomes[0].status for r in later] == ["duplicate"] * 3
    assert await stored_ids(db) == [event.event_id]
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DeadLetter)) == 0


async def test_out_of_order_events_open_a_gap_that_closes(
    db: Database, plant: dict[str, Device]
) -> None:
    sealing = plant["sealing"]
    events = [sealing.inspected(f"SN{n}") for n in range(1, 6)]
    ingest = service(db)

    await send(ingest, sealing, events[0][1], events[4][1], events[1][1])
    assert await gaps(db) == [("edge-sealing", 3, 4, 2, False)]

    late = await send(ingest, sealing, events[3][1])
    assert (late.gaps_opened, late.gaps_closed) == (0, 0)
    assert await gaps(db) == [("edge-sealing", 3, 4, 1, False)]

    last = await send(ingest, sealing, events[2][1])
    assert last.gaps_closed == 1
    assert await gaps(db) == [("edge-sealing", 3, 4, 0, True)]
    assert len(await stored_ids(db)) == 5


async def test_a_batch_delivered_shuffled_opens_no_gap(
    db: Database, plant: dict[str, Device]
) -> None:
    sealing = plant["sealing"]
    data = [sealing.inspected(f"SN{n}")[1] for n in range(1, 5)]
    result = await send(service(db), sealing, data[2], data[0], data[3], data[1])
    assert result.count("stored") == 4
    assert await gaps(db) == []


async def test_garbage_is_dead_lettered_with_the_reason(
    db: Database, plant: dict[str, Device]
) -> None:
    sealing = plant["sealing"]
    _, good = sealing.inspected("SN1")
    garbage = [
        b"\xff\x00" + os.urandom(64),
        with_field(good, schema="tracegate/2"),
        with_field(good, kind="unit.teleported"),
        with_field(good, seq="seven"),
        b"x" * (64 * 1024 + 1),
        b"",
    ]
    result = await send(service(db), sealing, *garbage, good)

    assert [o.status for o in result.outcomes] == ["refused"] * 6 + ["stored"]
    rows = await dead_letters(db)
    assert [row.reason_code for row in rows] == [
        "undecodable",
        "invalid",
        "invalid",
        "invalid",
        "too_large",
        "undecodable",
    ]
    assert rows[1].reason.startswith(
        "Invalid event at $.schema: unsupported schema version 'tracegate/2', "
        "expected 'tracegate/1'; payload "
    )
    assert rows[2].reason.startswith("Invalid event at $.kind: unknown kind 'unit.teleported'")
    assert rows[3].reason.startswith("Invalid event at $.seq: expected int, got str")
    assert rows[4].reason == "payload of 65537 bytes: expected at most 65536 bytes"
    assert rows[4].payload == b"x" * 1024
    assert rows[4].payload_size == 65537
    assert rows[0].payload == garbage[0]
    assert {row.topic for row in rows} == {sealing.topic(PREFIX)}


async def test_an_event_on_another_checkpoints_topic_is_a_spoof(
    db: Database, plant: dict[str, Device]
) -> None:
    sealing, packing = plant["sealing"], plant["packing"]
    event, data = sealing.inspected("SN1")
    await send(service(db), sealing, data, topic=packing.topic(PREFIX))
    (row,) = await dead_letters(db)
    assert row.reason_code == "spoof"
    assert row.reason == (
        f"event {event.event_id} from device 'edge-sealing' names checkpoint "
        "'plant-t/line-1/sealing' but came on the topic of 'plant-t/line-1/packing'"
    )
    assert await stored_ids(db) == []


async def test_a_device_speaking_for_another_checkpoint_is_a_spoof(
    db: Database, plant: dict[str, Device]
) -> None:
    impostor = Device(device_id="edge-sealing", site="plant-t", line="line-1", checkpoint="packing")
    event, data = impostor.inspected("SN1")
    await send(service(db), impostor, data)
    (row,) = await dead_letters(db)
    assert (row.reason_code, row.reason) == (
        "spoof",
        f"event {event.event_id} names device 'edge-sealing' at 'plant-t/line-1/packing', "
        "but that device is registered at 'plant-t/line-1/sealing'",
    )


async def test_unknown_devices_are_refused_or_bound_on_first_use(
    db: Database, plant: dict[str, Device]
) -> None:
    stranger = Device(device_id="edge-new", site="plant-t", line="line-2", checkpoint="labeling")
    event, data = stranger.inspected("SN1")

    await send(service(db, accept_unknown=False), stranger, data)
    (row,) = await dead_letters(db)
    assert (row.reason_code, row.reason) == (
        "unknown_device",
        f"event {event.event_id} comes from device 'edge-new', which is not registered "
        "(and unknown devices are not accepted)",
    )

    result = await send(service(db, accept_unknown=True), stranger, data)
    assert result.outcomes[0].status == "stored"
    async with db.sessions() as session:
        device = await session.scalar(select(DeviceRow).where(DeviceRow.device_id == "edge-new"))
    assert device is not None and device.registered_by == "first_use"
    assert device.last_seen_at is not None


async def test_a_clock_far_off_is_flagged(db: Database, plant: dict[str, Device]) -> None:
    sealing = plant["sealing"]
    _, on_time = sealing.inspected("SN1")
    sealing.clock_offset = dt.timedelta(hours=2)
    _, ahead = sealing.inspected("SN2")
    await send(service(db), sealing, on_time, ahead)
    async with db.sessions() as session:
        rows = (
            await session.execute(
                select(Event.seq, Event.clock_skew, Event.clock_offset_ms).order_by(Event.seq)
            )
        ).all()
    assert [(seq, skew) for seq, skew, _ in rows] == [(1, False), (2, True)]
    assert 7_190_000 < rows[1][2] < 7_210_000


async def test_a_seq_used_twice_is_flagged_not_dropped(
    db: Database, plant: dict[str, Device]
) -> None:
    sealing = plant["sealing"]
    first, one = sealing.inspected("SN1")
    sealing.seq, sealing.prev_hash = 0, ""  # the device lost its counter (restored backup)
    second, again = sealing.inspected("SN2")
    await send(service(db), sealing, one)
    await send(service(db), sealing, again)
    async with db.sessions() as session:
        found = await session.execute(select(Event.event_id, Event.seq_reused))
        rows = {event_id: reused for event_id, reused in found}
    assert rows == {first.event_id: False, second.event_id: True}
    assert await gaps(db) == []


async def test_payload_is_kept_byte_for_byte(db: Database, plant: dict[str, Device]) -> None:
    sealing = plant["sealing"]
    _, data = sealing.inspected("SN1")
    await send(service(db), sealing, data)
    async with db.sessions() as session:
        stored = await session.scalar(select(Event.payload))
    assert stored is not None and stored.encode() == data


@pytest.mark.parametrize("count", [1, 7])
async def test_an_event_the_database_refuses_is_dead_lettered_alone(
    db: Database, plant: dict[str, Device], count: int
) -> None:
    sealing = plant["sealing"]
    good = [sealing.inspected(f"SN{n}")[1] for n in range(count)]
    # A seq beyond BIGINT passes the wire schema (a uint64) but not the database column.
    bad = with_field(sealing.inspected("SNX")[1], seq=2**63 + 5)
    result = await send(service(db), sealing, *good[: count // 2], bad, *good[count // 2 :])
    statuses = [o.status for o in result.outcomes]
    assert statuses.count("stored") == count
    assert statuses[count // 2] == "refused"
    (row,) = await dead_letters(db)
    assert row.reason_code == "rejected"
    assert row.reason.startswith("database refused the event: ")
