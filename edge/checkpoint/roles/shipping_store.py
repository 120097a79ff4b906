"""What the shipping checkpoint knows of the containers it may load: what is in each (from
the packing checkpoints' `unit.packed` / `unit.unpacked`), which units were held (from the
followed checkpoints' `unit.inspected`), and what it has shipped.

A placement is replaced only by a newer record of the same child: from the same device a
higher `seq`, from another device a later `occurred_at`. An unpacked child keeps its row,
with no container, so an older `unit.packed` delivered again cannot put it back.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self

import msgspec

from edge.checkpoint.roles.packing_store import Child, child_key
from edge.checkpoint.roles.sqlite_store import SqliteStore
from protocols.events import UnitPacked, UnitUnpacked
from protocols.parts import ContainerRef, UnitRef

_SCHEMA = """
CREATE TABLE IF NOT EXISTS placements (
    child TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    container TEXT,
    ref BLOB NOT NULL,
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS placements_container ON placements (container);
CREATE TABLE IF NOT EXISTS decisions (
    unit_key TEXT NOT NULL,
    checkpoint TEXT NOT NULL,
    decision TEXT NOT NULL,
    seq INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    PRIMARY KEY (unit_key, checkpoint)
);
CREATE TABLE IF NOT EXISTS shipped (
    sscc TEXT PRIMARY KEY,
    shipment_id TEXT NOT NULL,
    at REAL NOT NULL
);
"""

_REFS = msgspec.json.Decoder(UnitRef | ContainerRef)
_ENCODE = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldInside:
    """A unit inside a container, held at a followed checkpoint."""

    unit: UnitRef
    checkpoint: str
    reasons: str
    """The hold's reason codes, comma-separated."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Contents:
    """Everything inside a container, at any depth."""

    units: tuple[UnitRef, ...]
    containers: tuple[str, ...]
    held: tuple[HeldInside, ...]


class ShippingStore:
    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    @classmethod
    async def open(cls, path: Path) -> Self:
        return cls(await SqliteStore.open(path, _SCHEMA))

    @classmethod
    def open_now(cls, path: Path) -> Self:
        return cls(SqliteStore.open_now(path, _SCHEMA))

    async def close(self) -> None:
        await self._store.close()

    # --- what the feed tells -----------------------------------------------------------------

    async def packing_record(self, event: UnitPacked | UnitUnpacked) -> None:
        at = event.occurred_at.timestamp()
        rows: list[tuple[Child, str | None, str | None]] = []
        """(child, its container, the container it must be in now to be taken out)"""
        if isinstance(event, UnitPacked):
            rows = [(child, event.container, None) for child in event.children]
            if event.parent_container is not None:
                rows.append((ContainerRef(sscc=event.container), event.parent_container, None))
        else:
            rows = [(child, None, event.container) for child in event.children]

        def write(db: sqlite3.Connection) -> None:
            with db:
                for child, container, taken_from in rows:
                    _place(db, child, container, taken_from, event.device_id, event.seq, at)

        await self._store.run(write)

    async def decision(
        self,
        *,
        unit_key: str,
        checkpoint: str,
        decision: Literal["pass", "hold"],
        seq: int,
        reasons: str,
    ) -> None:
        """A followed checkpoint's decision on a unit; only held units (and what clears
        them) are kept."""

        def write(db: sqlite3.Connection) -> None:
            with db:
                if decision == "pass":
                    db.execute(
                        "UPDATE decisions SET decision = 'pass', seq = ?, reasons = ''"
                        " WHERE unit_key = ? AND checkpoint = ? AND seq < ?",
                        (seq, unit_key, checkpoint, seq),
                    )
                    return
                db.execute(
                    "INSERT INTO decisions VALUES (?, ?, 'hold', ?, ?)"
                    " ON CONFLICT (unit_key, checkpoint) DO UPDATE SET decision = 'hold',"
                    " seq = excluded.seq, reasons = excluded.reasons"
                    " WHERE excluded.seq >= decisions.seq",
                    (unit_key, checkpoint, seq, reasons),
                )

        await self._store.run(write)

    # --- what the role asks ------------------------------------------------------------------

    async def contents(self, sscc: str) -> Contents:
        def read(db: sqlite3.Connection) -> Contents:
            rows = db.execute(
                "WITH RECURSIVE inside(child, kind, ref) AS ("
                " SELECT child, kind, ref FROM placements WHERE container = ?"
                " UNION SELECT p.child, p.kind, p.ref FROM placements p"
                " JOIN inside i ON p.container = i.child WHERE i.kind = 'container')"
                " SELECT i.ref, d.checkpoint, d.reasons FROM inside i"
                " LEFT JOIN decisions d ON d.unit_key = i.child AND d.decision = 'hold'",
                (sscc,),
            ).fetchall()
            units: dict[str, UnitRef] = {}
            containers: list[str] = []
            held: list[HeldInside] = []
            for raw, checkpoint, reasons in rows:
                ref = _REFS.decode(raw)
                if isinstance(ref, ContainerRef):
                    containers.append(ref.sscc)
                    continue
                units[child_key(ref)] = ref
                if checkpoint is not None:
                    held.append(HeldInside(unit=ref, checkpoint=checkpoint, reasons=reasons))
            return Contents(
                units=tuple(units.values()), containers=tuple(containers), held=tuple(held)
            )

        return await self._store.run(read)

    async def shipped_as(self, sscc: str) -> tuple[str, str] | None:
        """(container, shipment) if `sscc` or a container it sits in was shipped."""

        def read(db: sqlite3.Connection) -> tuple[str, str] | None:
            current: str | None = sscc
            seen: set[str] = set()
            while current is not None and current not in seen:
                seen.add(current)
                row = db.execute(
                    "SELECT shipment_id FROM shipped WHERE sscc = ?", (current,)
                ).fetchone()
                if row is not None:
                    return current, str(row[0])
                up = db.execute(
                    "SELECT container FROM placements WHERE child = ?", (current,)
                ).fetchone()
                current = None if up is None else up[0]
            return None

        return await self._store.run(read)

    async def mark_shipped(self, sscc: str, shipment_id: str) -> None:
        def write(db: sqlite3.Connection) -> None:
            with db:
                db.execute(
                    "INSERT OR REPLACE INTO shipped VALUES (?, ?, ?)",
                    (sscc, shipment_id, time.time()),
                )

        await self._store.run(write)


def _place(
    db: sqlite3.Connection,
    child: Child,
    container: str | None,
    taken_from: str | None,
    device: str,
    seq: int,
    at: float,
) -> None:
    key = child_key(child)
    row = db.execute(
        "SELECT container, device, seq, at FROM placements WHERE child = ?", (key,)
    ).fetchone()
    if row is not None:
        newer = seq > row[2] if device == row[1] else at >= row[3]
        if not newer:
            return
        if taken_from is not None and row[0] != taken_from:
            return
    kind = "container" if isinstance(child, ContainerRef) else "unit"
    db.execute(
        "INSERT OR REPLACE INTO placements VALUES (?, ?, ?, ?, ?, ?, ?)",
        (key, kind, container, _ENCODE.encode(child), device, seq, at),
    )
