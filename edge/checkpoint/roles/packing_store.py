"""The packing station's memory: open and closed containers, what is in them, the SSCC
counter, units unpacked for rework, and requests from the CLI.

One transaction per packing step (a unit into the case, a case closed, a unit taken out),
committed before the unit's pass output: after a power cut the open case holds exactly the
units that passed into it. Containment is kept after a container closes, so a unit can be
found and taken out later (`tracegate edge unpack`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
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

_REFS = msgspec.json.Decoder(UnitRef | ContainerRef)
_ENCODE = msgspec.json.Encoder()


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
    """The pallet a case goes onto (known when the case is started or closed)."""
    members: list[Child] = field(default_factory=list)
    state: Literal["open", "closed"] = "open"


@dataclass(frozen=True, slots=True, kw_only=True)
class PackStep:
    """One change of the packing state, written in one transaction."""

    opened: tuple[Container, ...] = ()
    """Containers started (their members come in `added`)."""
    added: tuple[tuple[str, Child], ...] = ()
    """(container SSCC, member) put in."""
    removed: tuple[str, ...] = ()
    """Member keys taken out."""
    closed: tuple[str, ...] = ()
    parents: tuple[tuple[str, str], ...] = ()
    """(case SSCC, pallet SSCC) links set."""
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
    """What the store holds at start: the open containers, the units to repack, the
    counter."""

    open_case: Container | None
    open_pallet: Container | None
    repack: frozenset[str]
    sscc_counter: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Placement:
    """Where a member sits."""

    container: Container
    child: Child


class PackingStore:
    """The packing role's SQLite file."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    @classmethod
    async def open(cls, path: Path) -> Self:
        return cls(await SqliteStore.open(path, _SCHEMA))

    @classmethod
    def open_now(cls, path: Path) -> Self:
        """Open and read on the calling thread (an agent building its role)."""
        return cls(SqliteStore.open_now(path, _SCHEMA))

    @property
    def path(self) -> Path:
        return self._store.path

    async def close(self) -> None:
        await self._store.close()

    def snapshot_now(self) -> PackingSnapshot:
        """The open containers, the units to repack and the counter (at startup)."""
        return self._store.run_now(_snapshot)

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
        "SELECT sscc FROM containers WHERE state = 'open' AND level = ? ORDER BY opened_at",
        (level,),
    ).fetchall()
    return [c for (sscc,) in rows if (c := _container(db, sscc)) is not None]


def _container(db: sqlite3.Connection, sscc: str) -> Container | None:
    row = db.execute(
        "SELECT level, parent, state FROM containers WHERE sscc = ?", (sscc,)
    ).fetchone()
    if row is None:
        return None
    members = [
        _REFS.decode(ref)
        for (ref,) in db.execute("SELECT ref FROM members WHERE container = ? ORDER BY n", (sscc,))
    ]
    return Container(sscc=sscc, level=row[0], parent=row[1], members=members, state=row[2])


def _write_step(db: sqlite3.Connection, step: PackStep) -> None:
    now = time.time()
    for container in step.opened:
        db.execute(
            "INSERT INTO containers (sscc, level, parent, state, opened_at) VALUES (?, ?, ?, ?, ?)",
            (container.sscc, container.level, container.parent, "open", now),
        )
    db.executemany("DELETE FROM members WHERE child = ?", [(k,) for k in step.removed])
    _add(db, step.added)
    db.executemany(
        "UPDATE containers SET parent = ? WHERE sscc = ?", [(p, c) for c, p in step.parents]
    )
    db.executemany(
        "UPDATE containers SET state = 'closed', closed_at = ? WHERE sscc = ?",
        [(now, sscc) for sscc in step.closed],
    )
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


def _add(db: sqlite3.Connection, added: Sequence[tuple[str, Child]]) -> None:
    for container, child in added:
        n = db.execute(
            "SELECT COALESCE(MAX(n), 0) + 1 FROM members WHERE container = ?", (container,)
        ).fetchone()[0]
        db.execute(
            "INSERT OR REPLACE INTO members VALUES (?, ?, ?, ?)",
            (child_key(child), container, _ENCODE.encode(child), n),
        )
