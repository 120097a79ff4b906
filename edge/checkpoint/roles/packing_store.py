"""What the packing station remembers: open and closed containers, what is in them and how
much of that the records already name, the SSCC counter, units unpacked for rework, and
requests from the CLI.

One transaction per packing step (a unit into the case, a case closed, a unit taken out),
committed before the unit's pass output: after a power cut the open case holds exactly the
units that passed into it. A step writes the whole new state of each container it touches,
so the store and the role's memory cannot drift apart by a half-applied change.
Containment is kept after a container closes, so a unit can be found and taken out later
(`tracegate edge unpack`), for `retention_days`; then `prune` forgets it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Self

import msgspec

from edge.checkpoint.roles.sqlite_store import SqliteStore
from protocols.parts import ContainerRef, UnitRef

Level = Literal["case", "pallet"]
Child = UnitRef | ContainerRef

_SCHEMA = """
CREATE TABLE IF NOT EXISTS containers (
    sscc TEXT PRIMARY KEY,
    level TEXT NOT NULL,
    parent TEXT,
    state TEXT NOT NULL,
    opened_at REAL NOT NULL,
    closed_at REAL
);
CREATE INDEX IF NOT EXISTS containers_open ON containers (state, level);
CREATE TABLE IF NOT EXISTS members (
    child TEXT PRIMARY KEY,
    container TEXT NOT NULL,
    ref BLOB NOT NULL,
    n INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS members_container ON members (container, n);
CREATE TABLE IF NOT EXISTS repack (
    unit_key TEXT PRIMARY KEY,
    since REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    body BLOB NOT NULL,
    requested_at REAL NOT NULL,
    done_at REAL,
    ok INTEGER,
    result TEXT
);
"""

# Columns added after the first release: a store written by it gets them at open (every
# closed container's members were recorded then; a case opened by its label had its
# pallet as parent before it was on it).
_ADDED_COLUMNS = {
    "recorded": (
        "INTEGER NOT NULL DEFAULT 0",
        (
            "UPDATE containers SET recorded ="
            " (SELECT COUNT(*) FROM members WHERE container = sscc) WHERE state = 'closed'",
            "UPDATE containers SET parent = NULL WHERE state = 'open' AND level = 'case'"
            " AND sscc NOT IN (SELECT child FROM members)",
        ),
    ),
    "short": ("INTEGER NOT NULL DEFAULT 0", ()),
}
_AFTER_COLUMNS = """
CREATE INDEX IF NOT EXISTS containers_closed ON containers (state, closed_at);
"""

_REFS = msgspec.json.Decoder(UnitRef | ContainerRef)
_ENCODE = msgspec.json.Encoder()

PRUNE_BATCH = 200
"""Containers forgotten per transaction (about 2,000 placements at 10 units a case): the
units' steps wait for one such transaction at most."""


def child_key(child: Child) -> str:
    """The identity of a member: the unit key (as the local state's) or the SSCC."""
    if isinstance(child, ContainerRef):
        return child.sscc
    if child.serial:
        return f"{child.di}/S/{child.serial}"
    return f"{child.di}/L/{child.lot or ''}"


@dataclass(slots=True)
class Container:
    """A case or pallet and what went into it, in order."""

    sscc: str
    level: Level
    parent: str | None = None
    """The pallet a case went onto (set when it first closes)."""
    members: list[Child] = field(default_factory=list)
    state: Literal["open", "closed"] = "open"
    recorded: int = 0
    """How many of `members`, from the first, a `unit.packed` record names: those taken
    out need a `unit.unpacked`; the others are recorded when the container closes."""
    short: bool = False
    """Closed before it was full (the close-case signal or the CLI): the packer closed it
    there, so a unit it loses leaves a gap that the next units do not fill."""

    def copy(self) -> Container:
        return replace(self, members=list(self.members))


@dataclass(frozen=True, slots=True, kw_only=True)
class PackStep:
    """One change of the packing state, written in one transaction."""

    containers: tuple[Container, ...] = ()
    """The new state of each container the step touches, members included (written whole;
    a member that was in another container moves)."""
    opened: tuple[str, ...] = ()
    """SSCCs of `containers` started by this step: the step fails if one is known (an SSCC
    is never used twice)."""
    dropped: tuple[str, ...] = ()
    """Containers given up before any record named them (an empty case reopened behind)."""
    removed: tuple[str, ...] = ()
    """Member keys taken out of every container."""
    repack_allowed: tuple[str, ...] = ()
    """Unit keys that may pass packing again (unpacked)."""
    repacked: tuple[str, ...] = ()
    sscc_counter: int | None = None
    """The new value of the generated-SSCC counter."""


class PackRequest(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    """Something asked of the running agent from the CLI."""


class UnpackUnit(PackRequest, frozen=True, kw_only=True, tag="unpack_unit"):
    di: str
    serial: str | None = None
    lot: str | None = None
    reason: str = "rework"
    note: str = ""


class UnpackContainer(PackRequest, frozen=True, kw_only=True, tag="unpack_container"):
    sscc: str
    reason: str = "rework"
    note: str = ""


class CloseCase(PackRequest, frozen=True, kw_only=True, tag="close_case"):
    pass


class ClosePallet(PackRequest, frozen=True, kw_only=True, tag="close_pallet"):
    pass


AnyRequest = UnpackUnit | UnpackContainer | CloseCase | ClosePallet
_REQUESTS = msgspec.json.Decoder(AnyRequest)


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingRequest:
    n: int
    request: AnyRequest


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestResult:
    n: int
    done: bool
    ok: bool
    result: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PackingSnapshot:
    """What the store holds of the open state: the open containers, the units to repack,
    the counter."""

    open_case: Container | None
    open_pallet: Container | None
    repack: frozenset[str]
    sscc_counter: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Placement:
    """Where a member sits."""

    container: Container
    child: Child


@dataclass(frozen=True, slots=True, kw_only=True)
class Pruned:
    """What `prune` forgot."""

    containers: int
    members: int
    requests: int


class PackingStore:
    """The packing role's SQLite file."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    @classmethod
    async def open(cls, path: Path) -> Self:
        store = cls(await SqliteStore.open(path, _SCHEMA))
        await store._store.run(_add_columns)
        return store

    @classmethod
    def open_now(cls, path: Path) -> Self:
        """Open and read on the calling thread (an agent building its role)."""
        store = cls(SqliteStore.open_now(path, _SCHEMA))
        store._store.run_now(_add_columns)
        return store

    @property
    def path(self) -> Path:
        return self._store.path

    async def close(self) -> None:
        await self._store.close()

    def snapshot_now(self) -> PackingSnapshot:
        """The open containers, the units to repack and the counter (at startup)."""
        return self._store.run_now(_snapshot)

    async def snapshot(self) -> PackingSnapshot:
        """The same, while the agent runs (the role's memory is rebuilt from it)."""
        return await self._store.run(_snapshot)

    async def apply(self, step: PackStep) -> None:
        def write(db: sqlite3.Connection) -> None:
            with db:
                _write_step(db, step)

        await self._store.run(write)

    async def placement(self, key: str) -> Placement | None:
        """The container `key` (a unit key or an SSCC) sits in, with its other members."""

        def read(db: sqlite3.Connection) -> Placement | None:
            row = db.execute(
                "SELECT container, ref FROM members WHERE child = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            container = _container(db, row[0])
            if container is None:
                return None
            return Placement(container=container, child=_REFS.decode(row[1]))

        return await self._store.run(read)

    async def container(self, sscc: str) -> Container | None:
        return await self._store.run(lambda db: _container(db, sscc))

    async def cases_from(self, sscc: str) -> list[Container]:
        """Case `sscc` and every case started after it here, in the order they were started
        (the units a packer boxes after a gap)."""

        def read(db: sqlite3.Connection) -> list[Container]:
            # In the order the rows were written (not by the clock, which a Pi without a
            # real-time clock may set back at boot); nothing here VACUUMs, which could
            # renumber them.
            row = db.execute("SELECT rowid FROM containers WHERE sscc = ?", (sscc,)).fetchone()
            if row is None:
                return []
            rows = db.execute(
                "SELECT sscc FROM containers WHERE level = 'case' AND rowid >= ? ORDER BY rowid",
                row,
            ).fetchall()
            return [c for (found,) in rows if (c := _container(db, found)) is not None]

        return await self._store.run(read)

    async def prune(self, *, closed_before: float, batch: int = PRUNE_BATCH) -> Pruned:
        """Forget up to `batch` containers closed before `closed_before` (epoch seconds)
        with what was in them, unless they sit in a container that is still kept, and the
        requests finished as long ago; one transaction. Units unpacked for rework keep their
        leave to be packed again (few, and forgetting it would hold them)."""
        return await self._store.run(lambda db: _prune(db, closed_before, batch))

    # requests from the CLI

    async def request(self, request: AnyRequest) -> int:
        """Queue a request for the agent; its number."""

        def write(db: sqlite3.Connection) -> int:
            with db:
                cur = db.execute(
                    "INSERT INTO requests (body, requested_at) VALUES (?, ?)",
                    (_ENCODE.encode(request), time.time()),
                )
                return int(cur.lastrowid or 0)

        return await self._store.run(write)

    async def pending(self) -> list[PendingRequest]:
        def read(db: sqlite3.Connection) -> list[PendingRequest]:
            rows = db.execute("SELECT n, body FROM requests WHERE done_at IS NULL ORDER BY n")
            return [PendingRequest(n=n, request=_REQUESTS.decode(body)) for n, body in rows]

        return await self._store.run(read)

    async def finish(self, n: int, *, ok: bool, result: str) -> None:
        def write(db: sqlite3.Connection) -> None:
            with db:
                db.execute(
                    "UPDATE requests SET done_at = ?, ok = ?, result = ? WHERE n = ?",
                    (time.time(), int(ok), result, n),
                )

        await self._store.run(write)

    async def result(self, n: int) -> RequestResult | None:
        def read(db: sqlite3.Connection) -> RequestResult | None:
            row = db.execute(
                "SELECT done_at, ok, result FROM requests WHERE n = ?", (n,)
            ).fetchone()
            if row is None:
                return None
            return RequestResult(n=n, done=row[0] is not None, ok=bool(row[1]), result=row[2] or "")

        return await self._store.run(read)


def _add_columns(db: sqlite3.Connection) -> None:
    have = {row[1] for row in db.execute("PRAGMA table_info(containers)")}
    with db:
        for name, (kind, fills) in _ADDED_COLUMNS.items():
            if name not in have:
                db.execute(f"ALTER TABLE containers ADD COLUMN {name} {kind}")
                for fill in fills:
                    db.execute(fill)
        for statement in _AFTER_COLUMNS.strip().splitlines():
            db.execute(statement)


def _snapshot(db: sqlite3.Connection) -> PackingSnapshot:
    cases = _open_containers(db, "case")
    pallets = _open_containers(db, "pallet")
    repack = frozenset(k for (k,) in db.execute("SELECT unit_key FROM repack"))
    row = db.execute("SELECT value FROM counters WHERE name = 'sscc'").fetchone()
    return PackingSnapshot(
        open_case=cases[-1] if cases else None,
        open_pallet=pallets[-1] if pallets else None,
        repack=repack,
        sscc_counter=0 if row is None else int(row[0]),
    )


def _open_containers(db: sqlite3.Connection, level: Level) -> list[Container]:
    rows = db.execute(
        "SELECT sscc FROM containers WHERE state = 'open' AND level = ? ORDER BY rowid",
        (level,),
    ).fetchall()
    return [c for (sscc,) in rows if (c := _container(db, sscc)) is not None]


def _container(db: sqlite3.Connection, sscc: str) -> Container | None:
    row = db.execute(
        "SELECT level, parent, state, recorded, short FROM containers WHERE sscc = ?", (sscc,)
    ).fetchone()
    if row is None:
        return None
    members = [
        _REFS.decode(ref)
        for (ref,) in db.execute("SELECT ref FROM members WHERE container = ? ORDER BY n", (sscc,))
    ]
    level, parent, state, recorded, short = row
    return Container(
        sscc=sscc,
        level=level,
        parent=parent,
        members=members,
        state=state,
        recorded=recorded,
        short=bool(short),
    )


def _write_step(db: sqlite3.Connection, step: PackStep) -> None:
    now = time.time()
    db.executemany("DELETE FROM members WHERE child = ?", [(k,) for k in step.removed])
    for sscc in step.dropped:
        db.execute("DELETE FROM members WHERE container = ?", (sscc,))
        db.execute("DELETE FROM containers WHERE sscc = ?", (sscc,))
    opened = set(step.opened)
    for container in step.containers:
        if container.sscc in opened:
            db.execute(
                "INSERT INTO containers (sscc, level, state, opened_at) VALUES (?, ?, 'open', ?)",
                (container.sscc, container.level, now),
            )
        _write_container(db, container, now)
    db.executemany(
        "INSERT OR REPLACE INTO repack VALUES (?, ?)", [(k, now) for k in step.repack_allowed]
    )
    db.executemany("DELETE FROM repack WHERE unit_key = ?", [(k,) for k in step.repacked])
    if step.sscc_counter is not None:
        db.execute(
            "INSERT INTO counters VALUES ('sscc', ?) ON CONFLICT (name) DO UPDATE"
            " SET value = excluded.value",
            (step.sscc_counter,),
        )


def _write_container(db: sqlite3.Connection, c: Container, now: float) -> None:
    # closed_at: when it (last) closed; an open container has none.
    db.execute(
        "INSERT INTO containers (sscc, level, parent, state, opened_at, closed_at, recorded,"
        " short) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sscc) DO UPDATE SET"
        " parent = excluded.parent, state = excluded.state, recorded = excluded.recorded,"
        " short = excluded.short, closed_at = CASE WHEN excluded.state = 'open' THEN NULL"
        " WHEN containers.state = 'closed' THEN containers.closed_at ELSE excluded.closed_at END",
        (
            c.sscc,
            c.level,
            c.parent,
            c.state,
            now,
            now if c.state == "closed" else None,
            c.recorded,
            int(c.short),
        ),
    )
    db.execute("DELETE FROM members WHERE container = ?", (c.sscc,))
    _insert_members(db, c.sscc, c.members)


def _insert_members(db: sqlite3.Connection, container: str, members: Sequence[Child]) -> None:
    db.executemany(
        "INSERT OR REPLACE INTO members VALUES (?, ?, ?, ?)",
        [(child_key(m), container, _ENCODE.encode(m), n) for n, m in enumerate(members, 1)],
    )


def _prune(db: sqlite3.Connection, closed_before: float, batch: int) -> Pruned:
    # A case on a pallet that is still kept stays too: the pallet names it.
    with db:
        old = db.execute(
            "SELECT c.sscc FROM containers c LEFT JOIN containers p ON p.sscc = c.parent"
            " WHERE c.state = 'closed' AND c.closed_at < ?"
            " AND (p.sscc IS NULL OR (p.state = 'closed' AND p.closed_at < ?)) LIMIT ?",
            (closed_before, closed_before, batch),
        ).fetchall()
        members = 0
        for (sscc,) in old:
            members += db.execute("DELETE FROM members WHERE container = ?", (sscc,)).rowcount
            db.execute("DELETE FROM containers WHERE sscc = ?", (sscc,))
        requests = db.execute(
            "DELETE FROM requests WHERE done_at IS NOT NULL AND done_at < ?", (closed_before,)
        ).rowcount
        return Pruned(containers=len(old), members=members, requests=requests)
