"""The agent's local state in SQLite: active work order, hold list, route and duplicate index.

Survives restarts and power cuts (WAL, synchronous=FULL): after a restart the line
must hold the same units it held before, and a serial passed an hour ago is still
a duplicate. The device's `seq` counter lives in the outbox, in the same
transaction as each event. Calls are short and run on one worker thread so the
event loop never waits on a disk.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from edge.checkpoint.facts import HoldMatch, RouteAnswer
from protocols.codec import WireError, decode_command, encode_command
from protocols.commands import Hold, Release, WorkOrder
from protocols.udi import Udi

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS work_order (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    command BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS holds (
    hold_id TEXT PRIMARY KEY,
    command BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS hold_keys (
    key TEXT NOT NULL,
    hold_id TEXT NOT NULL REFERENCES holds(hold_id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    PRIMARY KEY (key, hold_id)
);
CREATE TABLE IF NOT EXISTS decisions (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    checkpoint TEXT NOT NULL,
    unit_key TEXT NOT NULL,
    decision TEXT NOT NULL,
    seq INTEGER,
    decided_at REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS decisions_unit ON decisions (checkpoint, unit_key);
"""


def unit_key(udi: Udi) -> str:
    """A unit's identity for the indexes: DI + serial, or DI + lot for lot-tracked units."""
    if udi.serial:
        return f"{udi.di}/S/{udi.serial}"
    return f"{udi.di}/L/{udi.lot or ''}"


def _lot_key(di: str, lot: str) -> str:
    return f"{di}/L/{lot}"


@dataclass(frozen=True, slots=True)
class OwnDecision:
    """This checkpoint's earlier decision on a unit."""

    decision: Literal["pass", "hold"]
    seq: int | None


class LocalStateError(Exception):
    """The local state file cannot be read or written; the engine holds every unit."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"Local state {path}: {reason}")


class LocalState:
    """The edge's durable local state; one instance per agent."""

    def __init__(self, path: Path, *, max_decisions: int = 1_000_000) -> None:
        self._path = path
        self._max_decisions = max_decisions
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-state")
        self._db: sqlite3.Connection | None = None
        self._work_order: WorkOrder | None = None

    @classmethod
    async def open(cls, path: Path, *, max_decisions: int = 1_000_000) -> LocalState:
        state = cls(path, max_decisions=max_decisions)
        await state._run(state._open)
        return state

    async def close(self) -> None:
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._pool.shutdown(wait=True)

    @property
    def work_order(self) -> WorkOrder | None:
        """The active work order (cached: read on every unit)."""
        return self._work_order

    async def set_work_order(self, order: WorkOrder | None) -> None:
        def write(db: sqlite3.Connection) -> None:
            with db:
                db.execute("DELETE FROM work_order")
                if order is not None:
                    db.execute("INSERT INTO work_order VALUES (1, ?)", (encode_command(order),))

        await self._with_db(write)
        self._work_order = order

    async def add_hold(self, hold: Hold) -> None:
        keys = [
            (f"{u.di}/S/{u.serial}" if u.serial else _lot_key(u.di, u.lot or ""), "unit")
            for u in hold.scope.units
        ]
        keys += [(_lot_key(lot.di, lot.lot), "lot") for lot in hold.scope.lots]
        keys += [(f"{di}/D", "di") for di in hold.scope.dis]

        def write(db: sqlite3.Connection) -> None:
            with db:
                db.execute(
                    "INSERT OR REPLACE INTO holds VALUES (?, ?)",
                    (hold.hold_id, encode_command(hold)),
                )
                db.execute("DELETE FROM hold_keys WHERE hold_id = ?", (hold.hold_id,))
                db.executemany(
                    "INSERT OR IGNORE INTO hold_keys VALUES (?, ?, ?)",
                    [(key, hold.hold_id, scope) for key, scope in keys],
                )

        await self._with_db(write)

    async def release(self, release: Release) -> bool:
        """Lift a hold; False when no such hold was active."""

        def write(db: sqlite3.Connection) -> bool:
            with db:
                db.execute("DELETE FROM hold_keys WHERE hold_id = ?", (release.hold_id,))
                cur = db.execute("DELETE FROM holds WHERE hold_id = ?", (release.hold_id,))
                return cur.rowcount > 0

        return await self._with_db(write)

    async def holds(self) -> list[Hold]:
        def read(db: sqlite3.Connection) -> list[Hold]:
            rows = db.execute("SELECT command FROM holds ORDER BY hold_id").fetchall()
            return [h for (raw,) in rows if isinstance(h := decode_command(raw), Hold)]

        return await self._with_db(read)

    async def hold_matches(self, udi: Udi) -> tuple[HoldMatch, ...]:
        keys = [unit_key(udi), f"{udi.di}/D"]
        if udi.lot:
            keys.append(_lot_key(udi.di, udi.lot))

        def read(db: sqlite3.Connection) -> tuple[HoldMatch, ...]:
            marks = ",".join("?" * len(keys))
            rows = db.execute(
                f"SELECT k.hold_id, k.scope, h.command FROM hold_keys k JOIN holds h"
                f" USING (hold_id) WHERE k.key IN ({marks}) ORDER BY k.hold_id",
                keys,
            ).fetchall()
            matches = []
            for hold_id, scope, raw in rows:
                command = decode_command(raw)
                reason = command.reason if isinstance(command, Hold) else ""
                matches.append(HoldMatch(hold_id=hold_id, scope=scope, reason=reason))
            return tuple(matches)

        return await self._with_db(read)

    async def record_decision(
        self, *, checkpoint: str, udi: Udi, decision: Literal["pass", "hold"], seq: int | None
    ) -> None:
        """Remember a decision (ours, or a predecessor's seen on the broker)."""
        key = unit_key(udi)

        def write(db: sqlite3.Connection) -> None:
            with db:
                db.execute(
                    "INSERT INTO decisions (checkpoint, unit_key, decision, seq, decided_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (checkpoint, unit_key) DO UPDATE"
                    " SET decision = excluded.decision, seq = excluded.seq,"
                    " decided_at = excluded.decided_at",
                    (checkpoint, key, decision, seq, time.time()),
                )
                db.execute(
                    "DELETE FROM decisions WHERE n <= (SELECT MAX(n) FROM decisions) - ?",
                    (self._max_decisions,),
                )

        await self._with_db(write)

    async def own_decision(self, *, checkpoint: str, udi: Udi) -> OwnDecision | None:
        def read(db: sqlite3.Connection) -> OwnDecision | None:
            row = db.execute(
                "SELECT decision, seq FROM decisions WHERE checkpoint = ? AND unit_key = ?",
                (checkpoint, unit_key(udi)),
            ).fetchone()
            return None if row is None else OwnDecision(row[0], row[1])

        return await self._with_db(read)

    async def route(self, *, predecessors: tuple[str, ...], udi: Udi) -> dict[str, RouteAnswer]:
        key = unit_key(udi)

        def read(db: sqlite3.Connection) -> dict[str, RouteAnswer]:
            answers: dict[str, RouteAnswer] = {}
            for checkpoint in predecessors:
                row = db.execute(
                    "SELECT decision FROM decisions WHERE checkpoint = ? AND unit_key = ?",
                    (checkpoint, key),
                ).fetchone()
                answers[checkpoint] = "unknown" if row is None else row[0]
            return answers

        return await self._with_db(read)

    def _open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.executescript(_SCHEMA)
            db.isolation_level = "DEFERRED"
            row = db.execute("SELECT command FROM work_order").fetchone()
        except sqlite3.Error as exc:
            raise LocalStateError(self._path, str(exc)) from exc
        self._db = db
        if row is not None:
            try:
                command = decode_command(row[0])
            except WireError as exc:
                raise LocalStateError(self._path, f"stored work order unreadable: {exc}") from exc
            self._work_order = command if isinstance(command, WorkOrder) else None

    async def _with_db(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            if self._db is None:
                raise LocalStateError(self._path, "closed")
            try:
                return work(self._db)
            except sqlite3.Error as exc:
                raise LocalStateError(self._path, str(exc)) from exc

        return await self._run(run)

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)
