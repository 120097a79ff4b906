"""What the events say about physical things: units, lots, containers, and how they relate.

These tables are materialised from events at ingest (`genealogy.materialise`),
in the same transaction as the event itself, so they are exactly as current as
the event table. Trace and recall query them, never the raw events.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base
from cloud.db.types import BigIntPk, UtcDateTime

NODE_KINDS = ("unit", "lot")
UNIT_STATUSES = ("in_process", "held", "in_stock", "shipped", "returned", "scrapped")


def unit_ident(*, serial: str | None, lot: str | None) -> str:
    """The identity of a unit within its DI: the serial if it has one, else its lot.

    >>> unit_ident(serial="SN1", lot="L7"), unit_ident(serial=None, lot="L7")
    ('S:SN1', 'L:L7')
    """
    if serial:
        return f"S:{serial}"
    if lot:
        return f"L:{lot}"
    raise ValueError("a unit needs a serial or a lot besides its DI, got neither")


class Lot(Base):
    """A production or supplier lot of one DI (or material code)."""

    __tablename__ = "lots"
    __table_args__ = (UniqueConstraint("di", "lot"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    di: Mapped[str] = mapped_column(String(32))
    lot: Mapped[str] = mapped_column(String(64))
    expiry: Mapped[date | None] = mapped_column(Date, default=None)
    production_date: Mapped[date | None] = mapped_column(Date, default=None)
    quantity: Mapped[float | None] = mapped_column(Float, default=None)
    """The sum of every `lot.received` of the lot (one per scanned case), in `uom`."""
    uom: Mapped[str] = mapped_column(String(16), default="")
    supplier: Mapped[str] = mapped_column(String(200), default="")
    inspection_state: Mapped[str] = mapped_column(String(32), default="")
    """The first receipt's state, then incoming inspection's verdict; a later receipt
    changes it only when it says "rejected" (an expired case)."""
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    """The first receipt."""
    last_received_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    """The latest receipt."""
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Unit(Base):
    """One physical device: DI plus serial (or lot, for lot-controlled devices)."""

    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("di", "ident"),
        CheckConstraint(
            "status IN ('in_process', 'held', 'in_stock', 'shipped', 'returned', 'scrapped')",
            name="status",
        ),
        Index(None, "di", "lot"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    di: Mapped[str] = mapped_column(String(32))
    ident: Mapped[str] = mapped_column(String(80))
    """`S:<serial>` or `L:<lot>`: see `unit_ident`."""
    serial: Mapped[str | None] = mapped_column(String(64), default=None)
    lot: Mapped[str | None] = mapped_column(String(64), default=None)
    expiry: Mapped[date | None] = mapped_column(Date, default=None)
    production_date: Mapped[date | None] = mapped_column(Date, default=None)
    work_order: Mapped[str | None] = mapped_column(String(64), default=None)
    """Not indexed: no query looks units up by work order (a work order's units are those
    of its lot), and every new unit paid for the index at ingest (migration c1a1)."""
    status: Mapped[str] = mapped_column(String(16), default="in_process")
    status_at: Mapped[datetime] = mapped_column(UtcDateTime)
    """When the event that set `status` occurred: an older event arriving late never wins."""
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_checkpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("checkpoints.id", ondelete="RESTRICT"), default=None
    )
    consumed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Gone into another unit (a genealogy edge names it as a child): kept current at ingest,
    so that a recall counts end units without looking for edges per unit."""
    container_id: Mapped[int | None] = mapped_column(BigIntPk, default=None)
    """The innermost container it sits in now (its open containment packed last), kept
    current at ingest: a trace reads it with the unit instead of a containment lookup.
    No foreign key: it is derived from `containment`, whose rows hold one; and SQLite adds
    or drops a column with a reference only by copying the table, which it refuses once
    other tables refer to its rows."""


DERIVED_WITHOUT_FOREIGN_KEYS = ("unit_events", "measurements")
"""Rows written per event, thousands a second, only by the ingest, from unit and checkpoint
ids it resolved in the same transaction (units and checkpoints are never deleted). Their
foreign keys cost PostgreSQL a lookup and a row lock per row: 21 of 56 µs per event
(migration 7c01)."""


class UnitEvent(Base):
    """Which events concern which unit: a unit's history is one range scan of the key.

    The key (unit, time, event) is also the history's order, so one index serves
    both (an index less to maintain on every ingested event). No foreign keys: see
    `DERIVED_WITHOUT_FOREIGN_KEYS`.
    """

    __tablename__ = "unit_events"

    unit_id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(16))
    """`subject`, `parent`, `component`, `packed`, `unpacked`, `shipped`, `received`."""
    checkpoint_id: Mapped[int | None] = mapped_column(Integer, default=None)


class GenealogyEdge(Base):
    """A component (unit or lot quantity) consumed into a parent (unit or lot)."""

    __tablename__ = "genealogy_edges"
    __table_args__ = (
        UniqueConstraint("parent_kind", "parent_id", "child_kind", "child_id", "event_id"),
        Index(None, "child_kind", "child_id"),
        CheckConstraint("parent_kind IN ('unit', 'lot')", name="parent_kind"),
        CheckConstraint("child_kind IN ('unit', 'lot')", name="child_kind"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    parent_kind: Mapped[str] = mapped_column(String(8))
    parent_id: Mapped[int] = mapped_column(BigIntPk)
    child_kind: Mapped[str] = mapped_column(String(8))
    child_id: Mapped[int] = mapped_column(BigIntPk)
    quantity: Mapped[float | None] = mapped_column(Float, default=None)
    uom: Mapped[str] = mapped_column(String(16), default="")
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Lineage(Base):
    """Closure of the genealogy: every (ancestor, descendant) pair at any depth.

    Kept current at ingest. DESIGN.md measured it: a forward trace to ~10,000
    units took 83 ms through this table against 332 ms for the recursive query
    PostgreSQL misplans; the table is about 1.7x the genealogy.
    """

    __tablename__ = "lineage"
    __table_args__ = (
        Index(None, "descendant_kind", "descendant_id"),
        # A recall wants only the end units: with this index it reads 100,000 kits instead of
        # probing 300,000 units of which 200,000 are catheters inside the kits (bench/trace.py).
        Index(
            None,
            "ancestor_kind",
            "ancestor_id",
            "descendant_id",
            postgresql_where=text("descendant_end"),
            sqlite_where=text("descendant_end"),
        ),
    )

    ancestor_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    ancestor_id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    descendant_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    descendant_id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    descendant_end: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The descendant is an end unit (a unit not consumed into another): kept current at
    ingest with `Unit.consumed`."""


class Container(Base):
    """A logistic unit by SSCC: a case or a pallet."""

    __tablename__ = "containers"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    sscc: Mapped[str] = mapped_column(String(18), unique=True)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Containment(Base):
    """A unit or container inside a container from `packed_at` until `unpacked_at`.

    Either end may be missing while events arrive out of order.
    """

    __tablename__ = "containment"
    __table_args__ = (
        Index(None, "child_kind", "child_id"),
        Index(None, "container_id"),
        CheckConstraint("child_kind IN ('unit', 'container')", name="child_kind"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    child_kind: Mapped[str] = mapped_column(String(10))
    child_id: Mapped[int] = mapped_column(BigIntPk)
    container_id: Mapped[int] = mapped_column(ForeignKey("containers.id", ondelete="RESTRICT"))
    packed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    unpacked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    pack_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    unpack_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)


class Measurement(Base):
    """A process parameter of a unit at a checkpoint, as the PLC reported it.

    Indexed on (checkpoint, parameter, measured_at) and, covering, on (checkpoint,
    parameter, value, measured_at): a process-excursion scope reads one or the other
    (see `__table_args__`). The key (unit, event, parameter) serves a unit's process
    data; no surrogate id to index besides. No foreign keys: see
    `DERIVED_WITHOUT_FOREIGN_KEYS`.
    """

    __tablename__ = "measurements"
    __table_args__ = (
        Index(None, "checkpoint_id", "parameter", "measured_at"),
        # Out-of-limit values are rare: a process-excursion scope is then an index-only range
        # over them (0.07 ms for a day at 3.4M rows, against 1.5-5 ms reading the day's
        # values through the time index). The time index stays for thresholds inside the
        # normal range, where the window is the narrower bound; the planner picks.
        Index(
            None,
            "checkpoint_id",
            "parameter",
            "value",
            "measured_at",
            postgresql_include=["unit_id"],
        ),
    )

    unit_id: Mapped[int] = mapped_column(BigIntPk, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    parameter: Mapped[str] = mapped_column(String(64), primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Float)
    uom: Mapped[str] = mapped_column(String(16), default="")
    low: Mapped[float | None] = mapped_column(Float, default=None)
    high: Mapped[float | None] = mapped_column(Float, default=None)
    age_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    measured_at: Mapped[datetime] = mapped_column(UtcDateTime)
