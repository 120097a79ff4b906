"""The outbox file: synchronous SQLite access, used only by the outbox's writer thread."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from edge.outbox.errors import OutboxUnavailable, UnavailableKind
from edge.outbox.quarantine import ChainHead, move_aside, salvage_chain_head
from edge.outbox.records import OutboxAlarm, OutboxRecord
from edge.outbox.schema import CONNECTION_PRAGMAS, CREATE_STATEMENTS, SCHEMA_VERSION

__all__ = ["AppendRow", "OutboxStore", "StoreState", "is_corruption", "unavailable_from"]

log = logging.getLogger("edge.outbox")

_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
_SQLITE_FULL = 13
_SQLITE_IOERR = 10


@dataclass(frozen=True, slots=True)
class StoreState:
    """The chain head and counters, as last committed."""

    last_seq: int
    head_hash: str
    depth: int
    stored_bytes: int
    oldest_seq: int | None
    oldest_committed_ms: int | None


@dataclass(frozen=True, slots=True)
class AppendRow:
    seq: int
    topic: str
    payload: bytes
    committed_at_ms: int


class _CorruptFileError(Exception):
    """The file is not a usable outbox: it is moved aside and a new one started."""


class OutboxStore:
    """One open outbox file; not thread-safe (the writer thread owns it)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, state: StoreState) -> None:
        self.path = path
        self._conn = conn
        self.state = state

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        device_id: str,
        check_integrity: bool,
        now: Callable[[], dt.datetime],
    ) -> tuple[OutboxStore, list[OutboxAlarm]]:
        """Open or create the outbox at `path`; a corrupt file is moved aside with an alarm."""
        try:
            return cls._open(path, device_id=device_id, check_integrity=check_integrity), []
        except _CorruptFileError as exc:
            problem = str(exc)
        moved_to = move_aside(path, now=now())
        head = salvage_chain_head(moved_to)
        store = cls._open(path, device_id=device_id, check_integrity=False, seed=head)
        return store, [_corrupt_alarm(path, f"was unreadable ({problem})", moved_to, head, now())]

    def restart_fresh(
        self, *, device_id: str, problem: str, now: Callable[[], dt.datetime]
    ) -> tuple[OutboxStore, OutboxAlarm]:
        """Move this (corrupt) file aside and continue the chain in a new one.

        The chain head is known in memory, so the new file continues exactly where this one
        stopped; the events still waiting in the old file show as a gap until recovered by hand.
        """
        state = self.state
        self.close()
        moved_to = move_aside(self.path, now=now())
        head = ChainHead(
            last_seq=state.last_seq, head_hash=state.head_hash, waiting_from_seq=state.oldest_seq
        )
        store = OutboxStore._open(self.path, device_id=device_id, check_integrity=False, seed=head)
        return store, _corrupt_alarm(self.path, f"failed ({problem})", moved_to, head, now())

    @classmethod
    def _open(
        cls,
        path: Path,
        *,
        device_id: str,
        check_integrity: bool,
        seed: ChainHead | None = None,
    ) -> OutboxStore:
        try:
            conn = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise unavailable_from(path, exc, doing="opening") from exc
        try:
            state = _prepare(conn, path, device_id, check_integrity=check_integrity, seed=seed)
        except sqlite3.DatabaseError as exc:
            conn.close()
            if _primary(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
                raise _CorruptFileError(f"{exc.sqlite_errorname}: {exc}") from exc
            raise unavailable_from(path, exc, doing="opening") from exc
        except BaseException:
            conn.close()
            raise
        return cls(path, conn, state)

    def write(self, appends: Sequence[AppendRow], head_hash: str, acks: Sequence[int]) -> int:
        """Append rows and delete acknowledged seqs in one durable transaction.

        Returns the number of rows deleted. On failure nothing changes and sqlite3.Error is
        raised.
        """
        state = self.state
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if appends:
                conn.executemany(
                    "INSERT INTO outbox_events (seq, topic, payload, committed_at_ms) "
                    "VALUES (?, ?, ?, ?)",
                    [(r.seq, r.topic, r.payload, r.committed_at_ms) for r in appends],
                )
            deleted: list[tuple[int, int]] = []
            if acks:
                deleted = conn.execute(
                    "DELETE FROM outbox_events WHERE seq IN (SELECT value FROM json_each(?)) "
                    "RETURNING seq, length(payload)",
                    (json.dumps(list(acks)),),
                ).fetchall()
            depth = state.depth + len(appends) - len(deleted)
            stored = (
                state.stored_bytes
                + sum(len(r.payload) for r in appends)
                - sum(size for _, size in deleted)
            )
            oldest_seq, oldest_ms = state.oldest_seq, state.oldest_committed_ms
            if depth == 0:
                oldest_seq = oldest_ms = None
            elif oldest_seq is None or any(seq == oldest_seq for seq, _ in deleted):
                row = conn.execute(
                    "SELECT seq, committed_at_ms FROM outbox_events ORDER BY seq LIMIT 1"
                ).fetchone()
                oldest_seq, oldest_ms = row
            last_seq = appends[-1].seq if appends else state.last_seq
            conn.execute(
                "UPDATE outbox_meta SET last_seq = ?, head_hash = ?, depth = ?, stored_bytes = ? "
                "WHERE singleton = 1",
                (last_seq, head_hash, depth, stored),
            )
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        self.state = StoreState(
            last_seq=last_seq,
            head_hash=head_hash,
            depth=depth,
            stored_bytes=stored,
            oldest_seq=oldest_seq,
            oldest_committed_ms=oldest_ms,
        )
        return len(deleted)

    def peek(self, limit: int, *, after_seq: int) -> list[OutboxRecord]:
        """Waiting events with seq > after_seq, in seq order, at most `limit`."""
        rows = self._conn.execute(
            "SELECT seq, topic, payload, committed_at_ms FROM outbox_events "
            "WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        ).fetchall()
        return [OutboxRecord(seq=s, topic=t, payload=p, committed_at_ms=c) for s, t, p, c in rows]

    def file_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                total += self.path.with_name(self.path.name + suffix).stat().st_size
        return total

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()


def _prepare(
    conn: sqlite3.Connection,
    path: Path,
    device_id: str,
    *,
    check_integrity: bool,
    seed: ChainHead | None,
) -> StoreState:
    for pragma in CONNECTION_PRAGMAS:
        conn.execute(pragma)
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal":
        raise OutboxUnavailable(
            path, kind="error", reason=f"journal_mode is {mode!r}, expected 'wal'"
        )
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == 0:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        if tables:
            names = ", ".join(sorted(name for (name,) in tables))
            raise OutboxUnavailable(
                path,
                kind="schema",
                reason=f"not an outbox: an SQLite database with tables {names}; left untouched",
            )
        _create(conn, device_id, seed)
    elif version != SCHEMA_VERSION:
        raise OutboxUnavailable(
            path,
            kind="schema",
            reason=f"outbox schema version {version}, this agent knows {SCHEMA_VERSION}; "
            "left untouched",
        )
    elif check_integrity:
        problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise _CorruptFileError(f"integrity check failed: {'; '.join(problems[:3])}")
    return _read_state(conn, path, device_id)


def _create(conn: sqlite3.Connection, device_id: str, seed: ChainHead | None) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in CREATE_STATEMENTS:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO outbox_meta (singleton, device_id, last_seq, head_hash, depth, "
            "stored_bytes) VALUES (1, ?, ?, ?, 0, 0)",
            (device_id, seed.last_seq if seed else 0, seed.head_hash if seed else ""),
        )
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


def _read_state(conn: sqlite3.Connection, path: Path, device_id: str) -> StoreState:
    try:
        meta = conn.execute(
            "SELECT device_id, last_seq, head_hash, depth, stored_bytes FROM outbox_meta "
            "WHERE singleton = 1"
        ).fetchone()
        oldest = conn.execute(
            "SELECT seq, committed_at_ms FROM outbox_events ORDER BY seq LIMIT 1"
        ).fetchone()
    except sqlite3.OperationalError as exc:
        raise _CorruptFileError(f"outbox tables unreadable: {exc}") from exc
    if meta is None:
        raise _CorruptFileError("outbox_meta has no row")
    stored_device, last_seq, head_hash, depth, stored_bytes = meta
    if stored_device != device_id:
        raise OutboxUnavailable(
            path,
            kind="foreign_device",
            reason=f"the file belongs to device {stored_device!r}, this agent is {device_id!r}; "
            "left untouched",
        )
    state = StoreState(
        last_seq=last_seq,
        head_hash=head_hash,
        depth=depth,
        stored_bytes=stored_bytes,
        oldest_seq=None,
        oldest_committed_ms=None,
    )
    if oldest is not None:
        state = replace(state, oldest_seq=oldest[0], oldest_committed_ms=oldest[1])
    return state


def _corrupt_alarm(
    path: Path, what: str, moved_to: Path, head: ChainHead | None, at: dt.datetime
) -> OutboxAlarm:
    if head is None:
        continuation = "its chain head could not be read, so seq restarts at 1"
    else:
        stranded = (
            f"events from seq {head.waiting_from_seq} to {head.last_seq} may be stranded in it"
            if head.waiting_from_seq is not None
            else "no event was waiting in it"
        )
        continuation = f"seq continues from {head.last_seq + 1}; {stranded}"
    message = (
        f"Outbox {path} {what}; moved aside to {moved_to.name} (kept, never deleted) and a new "
        f"outbox started: {continuation}"
    )
    log.error(message)
    return OutboxAlarm(code="outbox_corrupt", message=message, raised_at=at)


def is_corruption(exc: sqlite3.Error) -> bool:
    """SQLITE_CORRUPT or SQLITE_NOTADB: the file, not the disk or the caller, is broken."""
    return _primary(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


def _primary(exc: sqlite3.Error) -> int:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else -1


def unavailable_from(path: Path, exc: sqlite3.Error, *, doing: str) -> OutboxUnavailable:
    """Translate an SQLite failure into OutboxUnavailable naming what failed."""
    primary = _primary(exc)
    name = getattr(exc, "sqlite_errorname", type(exc).__name__)
    kind: UnavailableKind
    if primary == _SQLITE_FULL:
        kind, what = "disk_full", "disk full"
    elif primary == _SQLITE_IOERR:
        kind, what = "io_error", "disk I/O error"
    elif primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        kind, what = "corrupt", "file corrupt"
    else:
        kind, what = "error", "SQLite error"
    return OutboxUnavailable(path, kind=kind, reason=f"{what} while {doing} ({name}: {exc})")
