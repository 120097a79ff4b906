"""Unreadable, corrupt and foreign outbox files: moved aside (never deleted) or left untouched."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from outbox_helpers import make_event

from edge.outbox import Outbox, OutboxUnavailable
from protocols.codec import event_hash

DEVICE = "dev-test"
_PAGE = 4096


async def _open(path: Path, device_id: str = DEVICE) -> Outbox:
    return await Outbox.open(path, device_id=device_id, max_bytes=10**9, max_age_s=3600)


def _quarantined(directory: Path) -> list[Path]:
    """The moved-aside database files (their -wal/-shm companions travel with them)."""
    return sorted(
        p
        for p in directory.iterdir()
        if ".corrupt-" in p.name and not p.name.endswith(("-wal", "-shm"))
    )


async def test_a_file_that_is_not_a_database_is_moved_aside_and_a_new_outbox_started(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outbox.db"
    garbage = b"this is not an SQLite database, just bytes left by something else\n" * 100
    path.write_bytes(garbage)

    box = await _open(path)
    try:
        first = await box.commit(make_event(DEVICE, 1))
        alarms = box.alarms
    finally:
        await box.close()

    (moved,) = _quarantined(tmp_path)
    assert re.fullmatch(r"outbox\.db\.corrupt-\d{8}T\d{6}Z", moved.name)
    assert moved.read_bytes() == garbage  # kept as it was, never deleted
    assert first.seq == 1
    assert [a.code for a in alarms] == ["outbox_corrupt"]
    assert alarms[0].message == (
        f"Outbox {path} was unreadable (SQLITE_NOTADB: file is not a database); moved aside to "
        f"{moved.name} (kept, never deleted) and a new outbox started: its chain head could not "
        "be read, so seq restarts at 1"
    )


async def test_a_file_failing_the_integrity_check_is_moved_aside_and_the_chain_continues(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outbox.db"
    box = await _open(path)
    committed = [await box.commit(make_event(DEVICE, n)) for n in range(200)]
    await box.ack(*range(1, 11))
    await box.close()  # the last connection checkpoints the WAL into the file
    data = bytearray(path.read_bytes())
    page = len(data) // _PAGE // 2  # a leaf of outbox_events, far from the meta row's page
    data[page * _PAGE : page * _PAGE + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))

    box = await _open(path)
    try:
        next_event = await box.commit(make_event(DEVICE, 201))
        alarms = box.alarms
    finally:
        await box.close()

    (moved,) = _quarantined(tmp_path)
    assert moved.read_bytes() == bytes(data)
    assert (next_event.seq, next_event.prev_hash) == (201, event_hash(committed[-1].encoded))
    (alarm,) = alarms
    assert alarm.code == "outbox_corrupt"
    assert alarm.message.startswith(f"Outbox {path} was unreadable (")
    assert alarm.message.endswith(
        f"moved aside to {moved.name} (kept, never deleted) and a new outbox started: seq "
        "continues from 201; events from seq 11 to 200 may be stranded in it"
    )


async def test_a_large_file_is_checked_in_background_and_moved_aside_if_corrupt(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outbox.db"
    box = await _open(path)
    committed = [await box.commit(make_event(DEVICE, n)) for n in range(200)]
    await box.ack(*range(1, 11))
    await box.close()
    data = bytearray(path.read_bytes())
    page = len(data) // _PAGE // 2
    data[page * _PAGE : page * _PAGE + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))

    # Every file counts as large here: open returns at once, the check runs beside the writer.
    box = await Outbox.open(
        path, device_id=DEVICE, max_bytes=10**9, max_age_s=3600, integrity_check_max_bytes=0
    )
    try:
        alarms_at_open = box.alarms
        await box.wait_for_integrity_check()
        next_event = await box.commit(make_event(DEVICE, 201))
        alarms = box.alarms
        waiting = [r.seq for r in await box.peek(1000)]
    finally:
        await box.close()

    (moved,) = _quarantined(tmp_path)
    assert alarms_at_open == ()
    assert (next_event.seq, next_event.prev_hash) == (201, event_hash(committed[-1].encoded))
    assert waiting == [201]
    (alarm,) = alarms
    assert alarm.message.startswith(f"Outbox {path} failed (integrity check failed: ")
    assert alarm.message.endswith(
        f"moved aside to {moved.name} (kept, never deleted) and a new outbox started: seq "
        "continues from 201; events from seq 11 to 200 may be stranded in it"
    )


async def test_an_outbox_of_another_device_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = await _open(path, device_id="dev-a")
    await box.commit(make_event("dev-a", 1))
    await box.close()
    before = path.read_bytes()

    with pytest.raises(OutboxUnavailable) as caught:
        await _open(path, device_id="dev-b")

    assert str(caught.value) == (
        f"Outbox {path} unavailable: the file belongs to device 'dev-a', this agent is "
        "'dev-b'; left untouched"
    )
    assert caught.value.kind == "foreign_device"
    assert path.read_bytes() == before
    assert _quarantined(tmp_path) == []


async def test_another_applications_database_is_refused_and_left_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outbox.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.commit()
    conn.close()

    with pytest.raises(OutboxUnavailable) as caught:
        await _open(path)

    assert str(caught.value) == (
        f"Outbox {path} unavailable: not an outbox: an SQLite database with tables recipes; "
        "left untouched"
    )
    assert _quarantined(tmp_path) == []


async def test_an_outbox_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = await _open(path)
    await box.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()

    with pytest.raises(OutboxUnavailable) as caught:
        await _open(path)

    assert str(caught.value) == (
        f"Outbox {path} unavailable: outbox schema version 7, this agent knows 1; left untouched"
    )


async def test_a_directory_that_does_not_exist_is_unavailable_not_corrupt(
    tmp_path: Path,
) -> None:
    path = tmp_path / "missing" / "outbox.db"

    with pytest.raises(OutboxUnavailable) as caught:
        await _open(path)

    assert caught.value.kind == "error"
    assert str(caught.value) == (
        f"Outbox {path} unavailable: SQLite error while opening "
        "(SQLITE_CANTOPEN: unable to open database file)"
    )
