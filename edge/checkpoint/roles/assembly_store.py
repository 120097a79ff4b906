"""The assembly role's SQLite file: the lot loaded for each component, the supplier lots
goods receipt booked in, and incoming inspection's verdicts on them.

Same durability as the local state (WAL, synchronous=FULL): a restart must find the reels
that are on the feeders, or the next units would be attributed to nothing. The CLI
(`tracegate edge lot accept`) writes verdicts into the same file while the agent runs; a
short busy timeout lets the two take turns, and the agent reads lot states on every load.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from protocols.commands import LotInspection
from protocols.events import LotReceived

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS loaded (
    component_di TEXT PRIMARY KEY,
    lot TEXT NOT NULL,
    expiry TEXT,
    label TEXT NOT NULL,
    loaded_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS lots (
    di TEXT NOT NULL,
    lot TEXT NOT NULL,
    expiry TEXT,
    state TEXT NOT NULL,
    device_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (di, lot)
);
CREATE TABLE IF NOT EXISTS inspections (
    di TEXT NOT NULL,
    lot TEXT NOT NULL,
    state TEXT NOT NULL,
    signed_by TEXT NOT NULL,
    reason TEXT,
    command_id TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    PRIMARY KEY (di, lot)
);
CREATE TABLE IF NOT EXISTS applied_commands (
    command_id TEXT PRIMARY KEY,
    applied_at REAL NOT NULL
);
"""


def assembly_store_path(state_path: Path) -> Path:
    """Beside the local state: ``state.sqlite3`` -> ``state-assembly.sqlite3``."""
    return state_path.with_name(f"{state_path.stem}-assembly{state_path.suffix or '.sqlite3'}")


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedLot:
    """The lot on the feeder of one component."""

    component_di: str
    lot: str
    expiry: dt.date | None
    label: str
    """The label as read, for the status page and the log."""
    loaded_at: float
    """Unix time of the load."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LotStatus:
    """What this station knows of one supplier lot."""

    received: Literal["quarantined", "accepted", "rejected"] | None
    """The state goods receipt booked it in with; None: no receipt seen."""
    expiry: dt.date | None
    """The expiry goods receipt recorded, if any."""
    inspection: Literal["accepted", "rejected"] | None
    """Incoming inspection's latest verdict; None: none yet."""
    signed_by: str | None = None

    @property
    def state(self) -> Literal["quarantined", "accepted", "rejected", "unknown"]:
        """The verdict if there is one, else the receipt's state."""
        return self.inspection or self.received or "unknown"


class AssemblyStoreError(Exception):
    """The assembly store cannot be read or written."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"Assembly store {path}: {reason}")


class AssemblyStore:
    """The assembly role's durable state; its calls run one at a time on a worker thread."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assembly-store")
        self._db: sqlite3.Connection | None = None

    @classmethod
    def open_now(cls, path: Path) -> AssemblyStore:
        """Open on the calling thread (a role is built before the line is watched)."""
        store = cls(path)
        store._db = _connect(path)
        return store

    @classmethod
    async def open(cls, path: Path) -> AssemblyStore:
        store = cls(path)
        store._db = await store._run(lambda: _connect(path))
        return store

    @property
    def path(self) -> Path:
        return self._path

    async def close(self) -> None:
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._pool.shutdown(wait=True)

    def close_now(self) -> None:
        if self._db is not None:
            self._pool.submit(self._db.close).result()
            self._db = None
        self._pool.shutdown(wait=True)

    def loaded_now(self) -> dict[str, LoadedLot]:
        """The loaded lots, read on the calling thread (at start)."""
        return self._pool.submit(self._loaded).result()

    async def loaded(self) -> dict[str, LoadedLot]:
        return await self._with_db(lambda db: self._loaded())

    async def load(self, loaded: LoadedLot) -> None:
        """Put `loaded` on its component's feeder, replacing the lot there."""

        def write(db: sqlite3.Connection) -> None:
            with db:
                db.execute(
                    "INSERT OR REPLACE INTO loaded VALUES (?, ?, ?, ?, ?)",
                    (
                        loaded.component_di,
                        loaded.lot,
                        _iso(loaded.expiry),
                        loaded.label,
                        loaded.loaded_at,
                    ),
                )

        await self._with_db(write)

    async def lot_status(self, di: str, lot: str) -> LotStatus:
        def read(db: sqlite3.Connection) -> LotStatus:
            received = db.execute(
                "SELECT state, expiry FROM lots WHERE di = ? AND lot = ?", (di, lot)
            ).fetchone()
            verdict = db.execute(
                "SELECT state, signed_by FROM inspections WHERE di = ? AND lot = ?", (di, lot)
            ).fetchone()
            return LotStatus(
                received=received[0] if received else None,
                expiry=_date(received[1]) if received else None,
                inspection=verdict[0] if verdict else None,
                signed_by=verdict[1] if verdict else None,
            )

        return await self._with_db(read)

    async def record_receipt(self, event: LotReceived) -> None:
        """Remember a lot booked in at goods receipt. A receipt older in its device's chain
        than the one stored (the broker delivering again) changes nothing."""

        def write(db: sqlite3.Connection) -> None:
            with db:
                db.execute(
                    "INSERT INTO lots VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (di, lot) DO UPDATE"
                    " SET expiry = excluded.expiry, state = excluded.state,"
                    " device_id = excluded.device_id, seq = excluded.seq,"
                    " received_at = excluded.received_at"
                    " WHERE excluded.device_id != lots.device_id OR excluded.seq > lots.seq",
                    (
                        event.di,
                        event.lot,
                        _iso(event.expiry),
                        event.inspection_state,
                        event.device_id,
                        event.seq,
                        event.occurred_at.isoformat(),
                    ),
                )

        await self._with_db(write)

    async def apply_inspection(self, command: LotInspection) -> bool:
        """Apply a verdict once (False: its command id was applied before). A verdict issued
        before the stored one does not replace it (commands may arrive out of order)."""

        def write(db: sqlite3.Connection) -> bool:
            with db:
                seen = db.execute(
                    "SELECT 1 FROM applied_commands WHERE command_id = ?",
                    (str(command.command_id),),
                ).fetchone()
                if seen is not None:
                    return False
                db.execute(
                    "INSERT INTO inspections VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (di, lot) DO UPDATE SET state = excluded.state,"
                    " signed_by = excluded.signed_by, reason = excluded.reason,"
                    " command_id = excluded.command_id, issued_at = excluded.issued_at"
                    " WHERE excluded.issued_at >= inspections.issued_at",
                    (
                        command.di,
                        command.lot,
                        command.state,
                        command.signed_by,
                        command.reason,
                        str(command.command_id),
                        command.issued_at.astimezone(dt.UTC).isoformat(),
                    ),
                )
                db.execute(
                    "INSERT INTO applied_commands VALUES (?, ?)",
                    (str(command.command_id), time.time()),
                )
                return True

        return await self._with_db(write)

    def _loaded(self) -> dict[str, LoadedLot]:
        assert self._db is not None
        rows = self._db.execute(
            "SELECT component_di, lot, expiry, label, loaded_at FROM loaded"
        ).fetchall()
        return {
            di: LoadedLot(component_di=di, lot=lot, expiry=_date(expiry), label=label, loaded_at=at)
            for di, lot, expiry, label, at in rows
        }

    async def _with_db(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            if self._db is None:
                raise AssemblyStoreError(self._path, "closed")
            try:
                return work(self._db)
            except sqlite3.Error as exc:
                raise AssemblyStoreError(self._path, str(exc)) from exc

        return await self._run(run)

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout=2000")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
        db.isolation_level = "DEFERRED"
    except sqlite3.Error as exc:
        raise AssemblyStoreError(path, str(exc)) from exc
    return db


def _iso(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)
