"""The SQLite file a role keeps beside the agent's local state (open cases, followed
containment, return authorisations), on a worker thread of its own.

Same durability as the local state (WAL, synchronous=FULL): what a role remembers about
units that already passed must survive a power cut. The CLI writes requests into the same
file while the agent runs; a short busy timeout lets the two take turns.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Self, TypeVar

T = TypeVar("T")


class RoleStoreError(Exception):
    """A role's store cannot be read or written."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"Role store {path}: {reason}")


def role_store_path(state_path: Path, role: str) -> Path:
    """Where a role's store lives: beside the local state, ``state.sqlite3`` ->
    ``state-packing.sqlite3``."""
    return state_path.with_name(f"{state_path.stem}-{role}{state_path.suffix or '.sqlite3'}")


class SqliteStore:
    """One SQLite file, its calls run one at a time on a worker thread."""

    def __init__(self, path: Path, schema: str) -> None:
        self._path = path
        self._schema = schema
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"store-{path.stem}")
        self._db: sqlite3.Connection | None = None

    @classmethod
    async def open(cls, path: Path, schema: str) -> Self:
        store = cls(path, schema)
        await store._call(store._open)
        return store

    @classmethod
    def open_now(cls, path: Path, schema: str) -> Self:
        """Open on the calling thread: for an agent starting up, before the line is
        watched (a role is built synchronously)."""
        store = cls(path, schema)
        store._open()
        return store

    @property
    def path(self) -> Path:
        return self._path

    def run_now(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`run` on the calling thread: only while nothing else uses the store (startup)."""
        if self._db is None:
            raise RoleStoreError(self._path, "closed")
        try:
            return work(self._db)
        except sqlite3.Error as exc:
            raise RoleStoreError(self._path, str(exc)) from exc

    async def close(self) -> None:
        if self._db is not None:
            await self._call(self._db.close)
            self._db = None
        self._pool.shutdown(wait=True)

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work(db)` on the store's thread; it opens its own transaction (`with db:`)."""

        def call() -> T:
            if self._db is None:
                raise RoleStoreError(self._path, "closed")
            try:
                return work(self._db)
            except sqlite3.Error as exc:
                raise RoleStoreError(self._path, str(exc)) from exc

        return await self._call(call)

    def _open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout=2000")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(self._schema)
            db.isolation_level = "DEFERRED"
        except sqlite3.Error as exc:
            raise RoleStoreError(self._path, str(exc)) from exc
        self._db = db

    async def _call(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)
