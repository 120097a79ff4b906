"""Committing, peeking and acknowledging on a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import msgspec
import pytest
from outbox_helpers import make_event, verify_chain

from edge.outbox import Outbox, OutboxFull, OutboxUnavailable
from protocols.codec import decode_event, event_hash

DEVICE = "dev-test"


async def test_commit_assigns_seq_and_prev_hash_in_order(outbox: Outbox) -> None:
    first = await outbox.commit(make_event(DEVICE, 1))
    second = await outbox.commit(make_event(DEVICE, 2))

    assert (first.seq, first.prev_hash) == (1, "")
    assert (second.seq, second.prev_hash) == (2, event_hash(first.encoded))
    assert decode_event(second.encoded) == second.event
    assert second.event.seq == 2
    assert second.topic.endswith("/plant-t/line-1/sealing/event")


async def test_concurrent_commits_share_transactions_and_keep_the_chain(outbox: Outbox) -> None:
    committed = await asyncio.gather(*(outbox.commit(make_event(DEVICE, n)) for n in range(300)))

    assert sorted(c.seq for c in committed) == list(range(1, 301))
    records = await outbox.peek(1000)
    verify_chain([r.payload for r in records])
    metrics = outbox.metrics()
    assert metrics.commits_total == 300
    # Group commit: the 300 commits needed far fewer fsynced transactions than commits.
    assert metrics.transactions_total < 100


async def test_seq_and_chain_head_survive_reopen_even_when_everything_was_acked(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outbox.db"
    box = await Outbox.open(path, device_id=DEVICE, max_bytes=10**9, max_age_s=3600)
    events = [await box.commit(make_event(DEVICE, n)) for n in range(5)]
    assert await box.ack(*(e.seq for e in events)) == 5
    await box.close()

    box = await Outbox.open(path, device_id=DEVICE, max_bytes=10**9, max_age_s=3600)
    try:
        assert box.metrics().depth == 0
        sixth = await box.commit(make_event(DEVICE, 6))
    finally:
        await box.close()
    assert (sixth.seq, sixth.prev_hash) == (6, event_hash(events[-1].encoded))


async def test_peek_returns_waiting_events_in_seq_order_and_ack_deletes_only_those(
    outbox: Outbox,
) -> None:
    for n in range(6):
        await outbox.commit(make_event(DEVICE, n))

    assert [r.seq for r in await outbox.peek(3)] == [1, 2, 3]
    assert [r.seq for r in await outbox.peek(10, after_seq=4)] == [5, 6]
    assert await outbox.ack(2, 4, 99) == 2
    assert [r.seq for r in await outbox.peek(10)] == [1, 3, 5, 6]
    metrics = outbox.metrics()
    assert (metrics.depth, metrics.last_seq, metrics.acked_total) == (4, 6, 3)


async def test_an_event_of_another_device_is_refused(outbox: Outbox) -> None:
    event = make_event("dev-other", 1)

    with pytest.raises(ValueError) as caught:
        await outbox.commit(event)

    assert str(caught.value) == (
        f"Cannot commit event {event.event_id}: its device_id is 'dev-other', "
        "this outbox belongs to 'dev-test'"
    )


async def test_an_event_that_already_has_a_seq_is_refused(outbox: Outbox) -> None:
    event = msgspec.structs.replace(make_event(DEVICE, 1), seq=1)

    with pytest.raises(ValueError) as caught:
        await outbox.commit(event)

    assert str(caught.value) == (
        f"Cannot commit event {event.event_id}: expected seq 0 (the outbox assigns it), got 1"
    )


async def test_full_by_bytes_holds_new_events_drops_nothing_and_recovers_after_acks(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outbox.db"
    box = await Outbox.open(path, device_id=DEVICE, max_bytes=3000, max_age_s=3600)
    try:
        kept = [await box.commit(make_event(DEVICE, n)) for n in range(2)]
        stored = sum(len(c.encoded) for c in kept)
        refused = make_event(DEVICE, 3)
        size = len(msgspec.json.encode(msgspec.structs.replace(refused, seq=3, prev_hash="0" * 64)))

        with pytest.raises(OutboxFull) as caught:
            await box.commit(refused)
        with pytest.raises(OutboxFull):
            await box.commit(make_event(DEVICE, 4))

        assert caught.value.hold_reason == "outbox full"
        assert str(caught.value) == (
            f"Outbox {path} is full: {stored} bytes waiting + {size} for this event exceed "
            "max_bytes 3000 (2 events waiting for the broker)"
        )
        assert [r.seq for r in await box.peek(10)] == [1, 2]
        assert box.metrics().state == "full"
        assert [a.code for a in box.alarms] == ["outbox_full"]  # once, not per refusal

        await box.ack(1)
        third = await box.commit(make_event(DEVICE, 5))
        assert third.seq == 3  # refused events used no seq: no gap
        assert box.metrics().state == "ok"
        assert [a.code for a in box.alarms] == ["outbox_full", "outbox_recovered"]
    finally:
        await box.close()


async def test_full_by_age_when_the_oldest_waiting_event_is_too_old(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = await Outbox.open(path, device_id=DEVICE, max_bytes=10**9, max_age_s=0.2)
    try:
        await box.commit(make_event(DEVICE, 1))
        await asyncio.sleep(0.3)
        with pytest.raises(OutboxFull) as caught:
            await box.commit(make_event(DEVICE, 2))
        assert caught.value.bound == "age"
        assert str(caught.value).startswith(
            f"Outbox {path} is full: the oldest waiting event (seq 1) is 0."
        )
        assert str(caught.value).endswith(
            " s old, more than max_age_s 0.2 (1 event waiting for the broker)"
        )
        await box.ack(1)
        assert (await box.commit(make_event(DEVICE, 3))).seq == 2
    finally:
        await box.close()


async def test_a_closed_outbox_refuses_commits(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = await Outbox.open(path, device_id=DEVICE, max_bytes=10**9, max_age_s=3600)
    await box.close()

    with pytest.raises(OutboxUnavailable) as caught:
        await box.commit(make_event(DEVICE, 1))

    assert str(caught.value) == f"Outbox {path} unavailable: the outbox is closed"
    assert caught.value.hold_reason == "outbox error"


async def test_the_file_is_in_wal_mode_and_readable_by_other_tools(outbox: Outbox) -> None:
    await outbox.commit(make_event(DEVICE, 1))
    conn = sqlite3.connect(outbox.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT seq FROM outbox_events").fetchall() == [(1,)]
    finally:
        conn.close()
