"""Find-or-create units, lots and containers for a batch of events, in one statement each.

Keys are sorted before inserting so two ingest workers that meet the same
units lock them in the same order and never deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, case, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db import bulk
from cloud.db.base import Base
from cloud.db.dialect import insert_for, is_postgres
from cloud.domain.genealogy.models import unit_ident

UnitKey = tuple[str, str]
"""(di, ident): see `unit_ident`."""
LotKey = tuple[str, str]
"""(di, lot)."""


_LOT_KEY_COLUMNS = frozenset({"di", "lot", "first_seen_at"})


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


@dataclass(slots=True)
class UnitSighting:
    """What one batch learned about a unit: its identifiers and, maybe, a new status."""

    di: str
    serial: str | None
    lot: str | None
    seen_at: datetime
    expiry: date | None = None
    production_date: date | None = None
    work_order: str | None = None
    status: str | None = None
    status_at: datetime | None = None
    checkpoint_id: int | None = None

    @property
    def key(self) -> UnitKey:
        return self.di, unit_ident(serial=self.serial, lot=self.lot)

    def merge(self, other: UnitSighting) -> None:
        """Keep the first sighting, fill what it lacks, and take the newest status."""
        self.serial = self.serial or other.serial
        self.lot = self.lot or other.lot
        self.expiry = self.expiry or other.expiry
        self.production_date = self.production_date or other.production_date
        self.work_order = self.work_order or other.work_order
        self.seen_at = min(self.seen_at, other.seen_at)
        if (
            other.status is not None
            and other.status_at is not None
            and (self.status_at is None or other.status_at >= self.status_at)
        ):
            self.status, self.status_at = other.status, other.status_at
            self.checkpoint_id = other.checkpoint_id or self.checkpoint_id


@dataclass(slots=True)
class Sightings:
    """Every unit, lot and container a batch mentions, merged by key."""

    units: dict[UnitKey, UnitSighting] = field(default_factory=dict)
    lots: dict[LotKey, dict[str, Any]] = field(default_factory=dict)
    containers: dict[str, datetime] = field(default_factory=dict)

    def unit(self, sighting: UnitSighting) -> UnitKey:
        key = sighting.key
        known = self.units.get(key)
        if known is None:
            self.units[key] = sighting
        else:
            known.merge(sighting)
        return key

    def lot(self, di: str, lot: str, seen_at: datetime, **details: Any) -> LotKey:
        key = (di, lot)
        row = self.lots.setdefault(key, {"di": di, "lot": lot, "first_seen_at": seen_at})
        row["first_seen_at"] = min(row["first_seen_at"], seen_at)
        row.update({k: v for k, v in details.items() if v is not None})
        return key

    def receipt(self, di: str, lot: str, at: datetime, **details: Any) -> LotKey:
        """One `lot.received` (a scanned case): the quantities add up, the first and last
        receipt times are kept, and the state is merged as `_lots` merges it with the row."""
        key = (di, lot)
        row = self.lots.get(key)
        quantity = row.get("quantity") if row is not None else None
        state = row.get("inspection_state") if row is not None else None
        first = row.get("received_at") if row is not None else None
        last = row.get("last_received_at") if row is not None else None
        self.lot(di, lot, at, **details)
        row = self.lots[key]
        row["quantity"] = (quantity or 0.0) + details["quantity"]
        row["received_at"] = at if first is None else min(first, at)
        row["last_received_at"] = at if last is None else max(last, at)
        row["inspection_state"] = receipt_state(state, details["inspection_state"])
        return key

    def container(self, sscc: str, seen_at: datetime) -> str:
        known = self.containers.get(sscc)
        self.containers[sscc] = seen_at if known is None else min(known, seen_at)
        return sscc


def receipt_state(known: str | None, received: str) -> str:
    """A lot's incoming-inspection state after another receipt of it: the first receipt's
    state stands (or incoming inspection's verdict, which replaced it) unless the new receipt
    says "rejected" (an expired case, say).

    >>> receipt_state(None, "quarantined"), receipt_state("accepted", "quarantined")
    ('quarantined', 'accepted')
    >>> receipt_state("accepted", "rejected"), receipt_state("", "accepted")
    ('rejected', 'accepted')
    """
    return "rejected" if received == "rejected" else known or received


@dataclass(slots=True)
class Resolved:
    units: dict[UnitKey, int]
    lots: dict[LotKey, int]
    containers: dict[str, int]


async def resolve(session: AsyncSession, sightings: Sightings) -> Resolved:
    return Resolved(
        units=await _units(session, sightings.units),
        lots=await _lots(session, sightings.lots),
        containers=await _containers(session, sightings.containers),
    )


_UNIT_COLUMNS = (
    "di",
    "ident",
    "serial",
    "lot",
    "expiry",
    "production_date",
    "work_order",
    "status",
    "status_at",
    "first_seen_at",
    "last_checkpoint_id",
)
_UNIT_STAGE = """(
    di text, ident text, serial text, lot text, expiry date, production_date date,
    work_order text, status text, status_at timestamptz, first_seen_at timestamptz,
    last_checkpoint_id int, has_status bool
)"""
_STAGED_UNITS = f"SELECT {', '.join(_UNIT_COLUMNS)} FROM units_stage"
# The same rules as the SQLAlchemy statement in `_units_portable`: a newer status wins,
# identifiers missing so far are filled in, nothing known is overwritten.
_PG_UPSERT_UNITS = f"""
INSERT INTO units AS u ({", ".join(_UNIT_COLUMNS)})
{_STAGED_UNITS} WHERE has_status ORDER BY di, ident
ON CONFLICT (di, ident) DO UPDATE SET
    status = CASE WHEN u.status_at <= EXCLUDED.status_at THEN EXCLUDED.status ELSE u.status END,
    last_checkpoint_id = CASE WHEN u.status_at <= EXCLUDED.status_at
        THEN coalesce(EXCLUDED.last_checkpoint_id, u.last_checkpoint_id)
        ELSE u.last_checkpoint_id END,
    status_at = greatest(u.status_at, EXCLUDED.status_at),
    lot = coalesce(u.lot, EXCLUDED.lot),
    serial = coalesce(u.serial, EXCLUDED.serial),
    expiry = coalesce(u.expiry, EXCLUDED.expiry),
    production_date = coalesce(u.production_date, EXCLUDED.production_date),
    work_order = coalesce(u.work_order, EXCLUDED.work_order)
RETURNING di, ident, id
"""
_PG_INSERT_UNITS = f"""
INSERT INTO units ({", ".join(_UNIT_COLUMNS)})
{_STAGED_UNITS} WHERE NOT has_status ORDER BY di, ident
ON CONFLICT DO NOTHING RETURNING di, ident, id
"""
_PG_FIND_UNITS = """
SELECT u.di, u.ident, u.id FROM units AS u
JOIN units_stage AS k ON u.di = k.di AND u.ident = k.ident
"""


def _unit_rows(
    sightings: dict[UnitKey, UnitSighting],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows in `_UNIT_COLUMNS` order: (with a new status, without one), in key order."""
    with_status: list[tuple[Any, ...]] = []
    without_status: list[tuple[Any, ...]] = []
    for key in sorted(sightings):
        s = sightings[key]
        row = (
            s.di,
            key[1],
            s.serial,
            s.lot,
            s.expiry,
            s.production_date,
            s.work_order,
            s.status or "in_process",
            s.status_at or s.seen_at,
            s.seen_at,
            s.checkpoint_id,
        )
        (with_status if s.status is not None else without_status).append(row)
    return with_status, without_status


async def _units(
    session: AsyncSession, sightings: dict[UnitKey, UnitSighting]
) -> dict[UnitKey, int]:
    if not sightings:
        return {}
    if not is_postgres(session):
        return await _units_portable(session, sightings)
    with_status, without_status = _unit_rows(sightings)
    staged = [(*row, True) for row in with_status] + [(*row, False) for row in without_status]
    driver = await bulk.stage(
        session, "units_stage", _UNIT_STAGE, (*_UNIT_COLUMNS, "has_status"), staged
    )
    found: dict[UnitKey, int] = {}
    for statement, rows in ((_PG_UPSERT_UNITS, with_status), (_PG_INSERT_UNITS, without_status)):
        if rows:
            found.update({(di, ident): uid for di, ident, uid in await driver.fetch(statement)})
    if len(found) < len(sightings):
        # Rows that existed already and were left alone (ON CONFLICT DO NOTHING).
        found.update({(di, ident): uid for di, ident, uid in await driver.fetch(_PG_FIND_UNITS)})
    return found


async def _units_portable(
    session: AsyncSession, sightings: dict[UnitKey, UnitSighting]
) -> dict[UnitKey, int]:
    units = _table("units")
    with_status, without_status = (
        [dict(zip(_UNIT_COLUMNS, row, strict=True)) for row in rows]
        for rows in _unit_rows(sightings)
    )
    if with_status:
        stmt = insert_for(session, units)
        ex = stmt.excluded
        newer = units.c.status_at <= ex.status_at
        stmt = stmt.on_conflict_do_update(
            index_elements=["di", "ident"],
            set_={
                "status": case((newer, ex.status), else_=units.c.status),
                "last_checkpoint_id": case(
                    (newer, func.coalesce(ex.last_checkpoint_id, units.c.last_checkpoint_id)),
                    else_=units.c.last_checkpoint_id,
                ),
                "status_at": case((newer, ex.status_at), else_=units.c.status_at),
                "lot": func.coalesce(units.c.lot, ex.lot),
                "serial": func.coalesce(units.c.serial, ex.serial),
                "expiry": func.coalesce(units.c.expiry, ex.expiry),
                "production_date": func.coalesce(units.c.production_date, ex.production_date),
                "work_order": func.coalesce(units.c.work_order, ex.work_order),
            },
        )
        await session.execute(stmt, with_status)
    if without_status:
        await session.execute(insert_for(session, units).on_conflict_do_nothing(), without_status)
    rows = await session.execute(
        select(units.c.di, units.c.ident, units.c.id).where(
            tuple_(units.c.di, units.c.ident).in_(sorted(sightings))
        )
    )
    return {(di, ident): unit_id for di, ident, unit_id in rows}


async def _lots(session: AsyncSession, lots: dict[LotKey, dict[str, Any]]) -> dict[LotKey, int]:
    if not lots:
        return {}
    table = _table("lots")
    detailed = [lots[k] for k in sorted(lots) if lots[k].keys() - _LOT_KEY_COLUMNS]
    bare = [lots[k] for k in sorted(lots) if not lots[k].keys() - _LOT_KEY_COLUMNS]
    if detailed:
        # Rows of one executemany must share their columns.
        columns = sorted({c for row in detailed for c in row})
        rows = [{c: row.get(c) for c in columns} for row in detailed]
        stmt = insert_for(session, table)
        merged = {
            c: func.coalesce(getattr(stmt.excluded, c), table.c[c])
            for c in columns
            if c not in ("di", "lot", "first_seen_at")
        }
        merged.update(_receipt_merge(table, stmt.excluded, columns))
        stmt = stmt.on_conflict_do_update(index_elements=["di", "lot"], set_=merged)
        await session.execute(stmt, rows)
    if bare:
        await session.execute(insert_for(session, table).on_conflict_do_nothing(), bare)
    found = await session.execute(
        select(table.c.di, table.c.lot, table.c.id).where(
            tuple_(table.c.di, table.c.lot).in_(sorted(lots))
        )
    )
    return {(di, lot): lot_id for di, lot, lot_id in found}


def _receipt_merge(table: Table, ex: Any, columns: list[str]) -> dict[str, Any]:
    """A lot's row after more receipts (each scanned case is its own `lot.received`): the
    quantities add up (once per event: only newly stored events are materialised), the first
    and the last receipt time are kept, and `receipt_state` decides the state."""
    merged: dict[str, Any] = {}
    if "quantity" in columns:
        merged["quantity"] = case(
            (ex.quantity.is_(None), table.c.quantity),
            else_=func.coalesce(table.c.quantity, 0.0) + ex.quantity,
        )
    if "received_at" in columns:
        merged["received_at"] = case(
            (table.c.received_at.is_(None), ex.received_at),
            (ex.received_at < table.c.received_at, ex.received_at),
            else_=table.c.received_at,
        )
    if "last_received_at" in columns:
        merged["last_received_at"] = case(
            (table.c.last_received_at.is_(None), ex.last_received_at),
            (ex.last_received_at > table.c.last_received_at, ex.last_received_at),
            else_=table.c.last_received_at,
        )
    if "inspection_state" in columns:
        merged["inspection_state"] = case(
            (ex.inspection_state == "rejected", ex.inspection_state),
            (table.c.inspection_state == "", func.coalesce(ex.inspection_state, "")),
            else_=table.c.inspection_state,
        )
    return merged


async def _containers(session: AsyncSession, containers: dict[str, datetime]) -> dict[str, int]:
    if not containers:
        return {}
    table = _table("containers")
    await session.execute(
        insert_for(session, table).on_conflict_do_nothing(),
        [{"sscc": sscc, "first_seen_at": containers[sscc]} for sscc in sorted(containers)],
    )
    found = await session.execute(
        select(table.c.sscc, table.c.id).where(table.c.sscc.in_(sorted(containers)))
    )
    return {sscc: container_id for sscc, container_id in found}
