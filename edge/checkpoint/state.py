"""The agent's local state in SQLite: active work order, hold list, route and duplicate index.

Survives restarts and power cuts (WAL, synchronous=FULL): after a restart the line
must hold the same units it held before, and a serial passed an hour ago is still
a duplicate. The device's `seq` counter lives in the outbox, in the same
transaction as each event. Calls are short and run on one worker thread so the
event loop never waits on a disk.

Decisions (one a unit, ours and the predecessors') are written in groups, one transaction
and one fsync for all that arrived within `gather_s`: at 100 units/s a transaction each
would add an fsync per unit beside the outbox's. Each call still returns only once its
decision is durable, and reads through the same `LocalState` see it at once.

The lookups a unit's decision waits for (`unit_facts`, `hold_matches`, `own_decision`,
`route`) run on a second connection and thread of their own: WAL lets them read while a
write is under way, and behind the one writer thread a unit's lookup waited for the previous
unit's decision write and its fsync (bench/checkpoint.py at 100 units/s: a lookup of 6 ms,
the unit's deadline missed, while another process kept the disk busy). Decisions handed to
the writer but not yet committed are laid over what that connection reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self, TypeVar

from edge.checkpoint.facts import HoldMatch, RouteAnswer
from protocols.codec import WireError, decode_command, encode_command
from protocols.commands import Command, Hold, Release, Shipment, WorkOrder
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
CREATE TABLE IF NOT EXISTS applied_commands (
    command_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    applied_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS shipments (
    shipment_id TEXT PRIMARY KEY,
    command BLOB NOT NULL
);
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


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitFacts:
    """What the local state knows of one unit, gathered in one trip to the state thread."""

    hold_matches: tuple[HoldMatch, ...]
    own: OwnDecision | None
    """This checkpoint's earlier decision on the unit, if any."""
    route: dict[str, RouteAnswer]
    """Predecessor checkpoint -> its decision on the unit, or "unknown"."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionRow:
    """One row of the decision index, for `tracegate edge status`."""

    checkpoint: str
    unit_key: str
    decision: Literal["pass", "hold"]
    seq: int | None
    decided_at: float
    """Unix time of the decision (or of its arrival, for a predecessor's)."""


class LocalStateError(Exception):
    """The local state file cannot be read or written; the engine holds every unit."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"Local state {path}: {reason}")


class LocalState:
    """The edge's durable local state; one instance per agent.

    Another process (`tracegate edge workorder ...`) may write the same file while the agent
    runs: hold-list and index lookups read the file each time, and `refresh` picks up a work
    order changed elsewhere.
    """

    def __init__(
        self, path: Path, *, max_decisions: int = 1_000_000, gather_s: float = 0.02
    ) -> None:
        self._path = path
        self._max_decisions = max_decisions
        self._gather_s = gather_s
        self._pending: list[tuple[_DecisionRow, asyncio.Future[None]]] = []
        self._gathering: asyncio.Task[None] | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-state")
        self._read_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-state-read")
        self._db: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._writing: list[list[_DecisionRow]] = []
        """Batches of decisions handed to the writer thread and not yet known committed."""
        self._work_order: WorkOrder | None = None
        self._data_version = 0

    @classmethod
    async def open(
        cls, path: Path, *, max_decisions: int = 1_000_000, gather_s: float = 0.02
    ) -> Self:
        state = cls(path, max_decisions=max_decisions, gather_s=gather_s)
        await state._run(state._open)
        # The reader's thread starts now rather than on the first unit's lookup.
        await state._with_reader(lambda db: db.execute("SELECT 1").fetchone())
        return state

    @property
    def path(self) -> Path:
        return self._path

    async def close(self) -> None:
        gathering = self._gathering
        if gathering is not None:  # still waiting for more decisions: write them now
            gathering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gathering
        await self._write_pending()
        if self._reader is not None:
            reader, self._reader = self._reader, None
            await asyncio.get_running_loop().run_in_executor(self._read_pool, reader.close)
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._read_pool.shutdown(wait=True)
        self._pool.shutdown(wait=True)

    @property
    def work_order(self) -> WorkOrder | None:
        """The active work order (cached: read on every unit)."""
        return self._work_order

    async def set_work_order(self, order: WorkOrder | None) -> None:
        def write(db: sqlite3.Connection) -> None:
            with db:
                _write_work_order(db, order)

        await self._with_db(write)
        self._work_order = order

    async def add_hold(self, hold: Hold) -> None:
        def write(db: sqlite3.Connection) -> None:
            with db:
                _write_hold(db, hold)

        await self._with_db(write)

    async def release(self, release: Release) -> bool:
        """Lift a hold; False when no such hold was active."""

        def write(db: sqlite3.Connection) -> bool:
            with db:
                return _write_release(db, release)

        return await self._with_db(write)

    async def apply(self, command: Command) -> bool:
        """Apply a command from the cloud or the CLI once; False when its `command_id` was
        already applied (MQTT delivers at least once, so a command may arrive twice).

        The command and the note that it was applied are written in one transaction.
        """

        def write(db: sqlite3.Connection) -> bool:
            with db:
                seen = db.execute(
                    "SELECT 1 FROM applied_commands WHERE command_id = ?",
                    (str(command.command_id),),
                ).fetchone()
                if seen is not None:
                    return False
                if isinstance(command, WorkOrder):
                    _write_work_order(db, command)
                elif isinstance(command, Hold):
                    _write_hold(db, command)
                elif isinstance(command, Release):
                    _write_release(db, command)
                elif isinstance(command, Shipment):
                    db.execute(
                        "INSERT OR REPLACE INTO shipments VALUES (?, ?)",
                        (command.shipment_id, encode_command(command)),
                    )
                db.execute(
                    "INSERT INTO applied_commands VALUES (?, ?, ?)",
                    (str(command.command_id), command.kind, time.time()),
                )
                return True

        applied = await self._with_db(write)
        if applied and isinstance(command, WorkOrder):
            self._work_order = command
        return applied

    async def refresh(self) -> bool:
        """Reload the cached work order if another connection changed the file; True if so."""

        def read(db: sqlite3.Connection) -> tuple[int, bytes | None]:
            version = int(db.execute("PRAGMA data_version").fetchone()[0])
            row = None
            if version != self._data_version:
                row = db.execute("SELECT command FROM work_order").fetchone()
            return version, None if row is None else bytes(row[0])

        version, raw = await self._with_db(read)
        if version == self._data_version:
            return False
        self._data_version = version
        self._work_order = self._decode_work_order(raw)
        return True

    async def holds(self) -> list[Hold]:
        def read(db: sqlite3.Connection) -> list[Hold]:
            rows = db.execute("SELECT command FROM holds ORDER BY hold_id").fetchall()
            return [h for (raw,) in rows if isinstance(h := decode_command(raw), Hold)]

        return await self._with_db(read)

    async def shipments(self) -> list[Shipment]:
        def read(db: sqlite3.Connection) -> list[Shipment]:
            rows = db.execute("SELECT command FROM shipments ORDER BY shipment_id").fetchall()
            return [c for (raw,) in rows if isinstance(c := decode_command(raw), Shipment)]

        return await self._with_db(read)

    async def hold_matches(self, udi: Udi) -> tuple[HoldMatch, ...]:
        return await self._with_reader(lambda db: _hold_matches(db, udi))

    async def record_decision(
        self, *, checkpoint: str, udi: Udi, decision: Literal["pass", "hold"], seq: int | None
    ) -> None:
        """Remember a decision (ours, or a predecessor's seen on the broker).

        A decision with a lower `seq` than the one stored for the unit is ignored: the broker
        may deliver an old event again after a correction that superseded it. Returns once
        the decision is durable (see the module's note on groups).
        """
        loop = asyncio.get_running_loop()
        durable: asyncio.Future[None] = loop.create_future()
        row = (checkpoint, unit_key(udi), decision, seq, time.time())
        self._pending.append((row, durable))
        if self._gathering is None:
            self._gathering = loop.create_task(self._write_gathered())
        await durable

    async def _write_gathered(self) -> None:
        try:
            await asyncio.sleep(self._gather_s)
        finally:
            self._gathering = None
        await self._write_pending()

    async def _write_pending(self) -> None:
        """Write the decisions waiting, in one transaction; callers learn the outcome."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        rows = [row for row, _ in batch]
        keep = self._max_decisions

        def write(db: sqlite3.Connection) -> None:
            with db:
                db.executemany(
                    "INSERT INTO decisions (checkpoint, unit_key, decision, seq, decided_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (checkpoint, unit_key) DO UPDATE"
                    " SET decision = excluded.decision, seq = excluded.seq,"
                    " decided_at = excluded.decided_at"
                    " WHERE excluded.seq IS NULL OR decisions.seq IS NULL"
                    " OR excluded.seq >= decisions.seq",
                    rows,
                )
                db.execute(
                    "DELETE FROM decisions WHERE n <= (SELECT MAX(n) FROM decisions) - ?",
                    (keep,),
                )

        # Until the write is known to be committed, reads lay these rows over what they find.
        # The callers learn the outcome whoever awaits it (or is cancelled meanwhile).
        self._writing.append(rows)
        written = asyncio.get_running_loop().run_in_executor(self._pool, self._guarded(write))

        def tell(done: asyncio.Future[None]) -> None:
            with contextlib.suppress(ValueError):
                self._writing.remove(rows)
            error = (
                LocalStateError(self._path, "write cancelled")
                if done.cancelled()
                else done.exception()
            )
            for _, durable in batch:
                if durable.done():
                    continue
                if error is None:
                    durable.set_result(None)
                else:
                    durable.set_exception(error)

        written.add_done_callback(tell)
        with contextlib.suppress(Exception):
            await asyncio.shield(written)

    async def own_decision(self, *, checkpoint: str, udi: Udi) -> OwnDecision | None:
        key = unit_key(udi)
        pending = self._pending_rows()
        found = await self._with_reader(lambda db: _decision(db, checkpoint, key))
        return _as_own(_overlay(found, pending, checkpoint, key))

    async def route(self, *, predecessors: tuple[str, ...], udi: Udi) -> dict[str, RouteAnswer]:
        key = unit_key(udi)
        pending = self._pending_rows()
        found = await self._with_reader(lambda db: _route(db, predecessors, key))
        return _route_answers(found, pending, key)

    def _pending_rows(self) -> list[_DecisionRow]:
        """The decisions not known to be committed, oldest first, for a read about to be:
        those being written (the reader may or may not see them yet: laid over twice, a row
        gives the same answer) and those still gathering."""
        return [*(row for batch in self._writing for row in batch), *(r for r, _ in self._pending)]

    async def unit_facts(
        self, *, checkpoint: str, predecessors: tuple[str, ...], udi: Udi
    ) -> UnitFacts:
        """Hold matches, this checkpoint's earlier decision and the route answers for `udi`,
        in one trip to the state thread (the engine asks for all three on every unit)."""
        key = unit_key(udi)
        pending = self._pending_rows()

        def read(db: sqlite3.Connection) -> UnitFacts:
            return UnitFacts(
                hold_matches=_hold_matches(db, udi),
                own=_as_own(_overlay(_decision(db, checkpoint, key), pending, checkpoint, key)),
                route=_route_answers(_route(db, predecessors, key), pending, key),
            )

        return await self._with_reader(read)

    async def last_decisions(self, *, checkpoint: str, limit: int) -> list[DecisionRow]:
        """The newest `limit` decisions of `checkpoint`, newest first."""
        await self._write_pending()

        def read(db: sqlite3.Connection) -> list[DecisionRow]:
            rows = db.execute(
                "SELECT unit_key, decision, seq, decided_at FROM decisions"
                " WHERE checkpoint = ? ORDER BY n DESC LIMIT ?",
                (checkpoint, limit),
            ).fetchall()
            return [
                DecisionRow(checkpoint=checkpoint, unit_key=k, decision=d, seq=s, decided_at=t)
                for k, d, s, t in rows
            ]

        return await self._with_db(read)

    def _open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            # The CLI may write while the agent runs; wait for its short transaction.
            db.execute("PRAGMA busy_timeout=2000")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            db.executescript(_SCHEMA)
            db.isolation_level = "DEFERRED"
            row = db.execute("SELECT command FROM work_order").fetchone()
            self._data_version = int(db.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error as exc:
            raise LocalStateError(self._path, str(exc)) from exc
        try:
            # Autocommit: each lookup is a read transaction of its own and sees every commit
            # made before it started.
            reader = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            reader.execute("PRAGMA busy_timeout=2000")
            reader.execute("PRAGMA query_only=ON")
        except sqlite3.Error as exc:
            db.close()
            raise LocalStateError(self._path, str(exc)) from exc
        self._db = db
        self._reader = reader
        self._work_order = self._decode_work_order(None if row is None else bytes(row[0]))

    def _decode_work_order(self, raw: bytes | None) -> WorkOrder | None:
        if raw is None:
            return None
        try:
            command = decode_command(raw)
        except WireError as exc:
            raise LocalStateError(self._path, f"stored work order unreadable: {exc}") from exc
        return command if isinstance(command, WorkOrder) else None

    async def _with_db(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self._run(self._guarded(work))

    async def _with_reader(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            reader = self._reader
            if reader is None:
                raise LocalStateError(self._path, "closed")
            try:
                return work(reader)
            except sqlite3.Error as exc:
                raise LocalStateError(self._path, str(exc)) from exc

        return await asyncio.get_running_loop().run_in_executor(self._read_pool, run)

    def _guarded(self, work: Callable[[sqlite3.Connection], T]) -> Callable[[], T]:
        def run() -> T:
            if self._db is None:
                raise LocalStateError(self._path, "closed")
            try:
                return work(self._db)
            except sqlite3.Error as exc:
                raise LocalStateError(self._path, str(exc)) from exc

        return run

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)


_DecisionRow = tuple[str, str, Literal["pass", "hold"], int | None, float]
"""checkpoint, unit key, decision, seq, decided_at (Unix time)."""


def _write_work_order(db: sqlite3.Connection, order: WorkOrder | None) -> None:
    db.execute("DELETE FROM work_order")
    if order is not None:
        db.execute("INSERT INTO work_order VALUES (1, ?)", (encode_command(order),))


def _write_hold(db: sqlite3.Connection, hold: Hold) -> None:
    keys = [
        (f"{u.di}/S/{u.serial}" if u.serial else _lot_key(u.di, u.lot or ""), "unit")
        for u in hold.scope.units
    ]
    keys += [(_lot_key(lot.di, lot.lot), "lot") for lot in hold.scope.lots]
    keys += [(f"{di}/D", "di") for di in hold.scope.dis]
    db.execute("INSERT OR REPLACE INTO holds VALUES (?, ?)", (hold.hold_id, encode_command(hold)))
    db.execute("DELETE FROM hold_keys WHERE hold_id = ?", (hold.hold_id,))
    db.executemany(
        "INSERT OR IGNORE INTO hold_keys VALUES (?, ?, ?)",
        [(key, hold.hold_id, scope) for key, scope in keys],
    )


def _write_release(db: sqlite3.Connection, release: Release) -> bool:
    db.execute("DELETE FROM hold_keys WHERE hold_id = ?", (release.hold_id,))
    cur = db.execute("DELETE FROM holds WHERE hold_id = ?", (release.hold_id,))
    return cur.rowcount > 0


def _hold_matches(db: sqlite3.Connection, udi: Udi) -> tuple[HoldMatch, ...]:
    keys = [unit_key(udi), f"{udi.di}/D"]
    if udi.lot:
        keys.append(_lot_key(udi.di, udi.lot))
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


_Stored = tuple[Literal["pass", "hold"], int | None]
"""A decision and its seq, as the index holds it."""


def _decision(db: sqlite3.Connection, checkpoint: str, key: str) -> _Stored | None:
    row = db.execute(
        "SELECT decision, seq FROM decisions WHERE checkpoint = ? AND unit_key = ?",
        (checkpoint, key),
    ).fetchone()
    return None if row is None else (row[0], row[1])


def _route(
    db: sqlite3.Connection, predecessors: tuple[str, ...], key: str
) -> dict[str, _Stored | None]:
    return {checkpoint: _decision(db, checkpoint, key) for checkpoint in predecessors}


def _overlay(
    stored: _Stored | None, pending: list[_DecisionRow], checkpoint: str, key: str
) -> _Stored | None:
    """The decision the index will hold once `pending` is written (the upsert's rule)."""
    current = stored
    for row_checkpoint, row_key, decision, seq, _ in pending:
        if row_checkpoint != checkpoint or row_key != key:
            continue
        if current is None or seq is None or current[1] is None or seq >= current[1]:
            current = (decision, seq)
    return current


def _as_own(stored: _Stored | None) -> OwnDecision | None:
    return None if stored is None else OwnDecision(*stored)


def _route_answers(
    found: dict[str, _Stored | None], pending: list[_DecisionRow], key: str
) -> dict[str, RouteAnswer]:
    answers: dict[str, RouteAnswer] = {}
    for checkpoint, stored in found.items():
        decision = _overlay(stored, pending, checkpoint, key)
        answers[checkpoint] = "unknown" if decision is None else decision[0]
    return answers
