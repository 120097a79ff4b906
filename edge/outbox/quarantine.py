"""Moving a corrupt outbox file aside (never deleting it) and salvaging its chain head."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ChainHead", "integrity_problems", "move_aside", "salvage_chain_head"]

# SQLite keeps a database's WAL and shared-memory index beside it under these suffixes; they
# move with the file, renamed so that opening the quarantined copy still finds its WAL.
_COMPANION_SUFFIXES = ("-wal", "-shm")


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where a device's chain stood: the last seq handed out and that event's hash."""

    last_seq: int
    head_hash: str
    waiting_from_seq: int | None
    """The oldest event still waiting for the broker, if the file said."""


def move_aside(path: Path, *, now: dt.datetime) -> Path:
    """Rename `path` (and its -wal/-shm) to `<name>.corrupt-<UTC time>`; return the new path."""
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        counter += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
    path.replace(target)
    for suffix in _COMPANION_SUFFIXES:
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.replace(target.with_name(target.name + suffix))
    _fsync_directory(path.parent)
    return target


def salvage_chain_head(path: Path) -> ChainHead | None:
    """Read the chain head from a quarantined outbox, or None if it cannot be read.

    The new outbox continues the chain from there, so the events stranded in the bad file show
    up in the cloud as a seq gap (which is the truth) instead of a confusing restart at seq 1.
    """
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute(
            "SELECT last_seq, head_hash FROM outbox_meta WHERE singleton = 1"
        ).fetchone()
        if row is None or not isinstance(row[0], int) or not isinstance(row[1], str):
            return None
        waiting: int | None = None
        with contextlib.suppress(sqlite3.Error):
            first = conn.execute("SELECT seq FROM outbox_events ORDER BY seq LIMIT 1").fetchone()
            waiting = first[0] if first is not None else None
        return ChainHead(last_seq=row[0], head_hash=row[1], waiting_from_seq=waiting)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def integrity_problems(path: Path) -> list[str]:
    """Run SQLite's quick_check on a read-only connection; [] when the file is sound.

    Safe beside the writer (WAL readers do not block it); reads the whole file.
    """
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return [f"cannot open for the integrity check: {exc}"]
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return [f"{getattr(exc, 'sqlite_errorname', 'error')}: {exc}"]
    finally:
        conn.close()
    problems = [str(row[0]) for row in rows]
    return [] if problems == ["ok"] else problems


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
