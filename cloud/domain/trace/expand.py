"""From seeds (lots, units) to every unit made from them, with where each one is now.

Two statements, each a set operation, never a query per level or per unit:

1. `units_from`: the seeds' descendants through the lineage (closure) table kept current at
   ingest, joined to the unit rows and their innermost open containment;
2. `boxes`: for the distinct containers found, the container holding each (a case's
   pallet) and the shipment that carried either, so that per-unit work stays one
   containment lookup (ten kits share a case, forty cases a pallet).

The seed ids are bound as one list (PostgreSQL: an array, SQLite: a JSON array), so the
planner sees the list itself and estimates the descendants from the lineage statistics:
it then keeps index lookups for a small trace and hashes for a recall of 100,000 units.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import ARRAY, BigInteger, Date, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from cloud.db.dialect import is_postgres


@dataclass(frozen=True, slots=True)
class Seeds:
    """What a trace or a recall starts from."""

    lots: tuple[int, ...] = ()
    units: tuple[int, ...] = ()
    """Units whose descendants are wanted."""
    include_units: bool = True
    """Whether the seed units themselves are part of the answer."""

    def __bool__(self) -> bool:
        return bool(self.lots or self.units)


@dataclass(frozen=True, slots=True)
class Box:
    container: str
    outer_container: str | None
    shipment_id: int | None
    shipment: str | None
    recipient_name: str | None
    recipient_address: str | None
    ship_date: date | None
    customer_id: int | None


class PlacedUnit(NamedTuple):
    """A unit with its current place: container, pallet, shipment (if shipped).

    A named tuple: a recall makes 100,000 of them, and this is the cheapest record to build.
    """

    id: int
    di: str
    serial: str | None
    lot: str | None
    status: str
    consumed: bool
    box: Box | None

    @property
    def container(self) -> str | None:
        return self.box.container if self.box else None

    @property
    def outer_container(self) -> str | None:
        return self.box.outer_container if self.box else None

    @property
    def shipment_id(self) -> int | None:
        return self.box.shipment_id if self.box else None

    @property
    def shipment(self) -> str | None:
        return self.box.shipment if self.box else None

    @property
    def recipient_name(self) -> str | None:
        return self.box.recipient_name if self.box else None

    @property
    def recipient_address(self) -> str | None:
        return self.box.recipient_address if self.box else None

    @property
    def ship_date(self) -> date | None:
        return self.box.ship_date if self.box else None


SMALL_SEED = 1_000
"""Up to this many unit seeds (and no lot) the default plan is already the right one."""


class IdList:
    """A list of ids bound as one parameter, in the session's dialect."""

    def __init__(self, session: AsyncSession) -> None:
        self.postgres = is_postgres(session)

    def member(self, column: str, name: str) -> str:
        if self.postgres:
            return f"{column} = ANY(:{name})"
        return f"{column} IN (SELECT value FROM json_each(:{name}))"

    def bind(self, name: str, ids: Iterable[int]) -> BindParameter[Any]:
        values = sorted(set(ids))
        if self.postgres:
            return bindparam(name, values, type_=ARRAY(BigInteger()))
        return bindparam(name, json.dumps(values))


_CONSUMED = (
    "EXISTS (SELECT 1 FROM genealogy_edges AS ge "
    "WHERE ge.child_kind = 'unit' AND ge.child_id = u.id)"
)


async def units_from(
    session: AsyncSession, seeds: Seeds, *, end_units_only: bool
) -> list[PlacedUnit]:
    """Every unit made from the seeds (at any depth), with its place.

    `end_units_only`: drop the units consumed into another unit (they travel inside it).
    """
    if not seeds:
        return []
    ids = IdList(session)
    parts = []
    binds = []
    if seeds.lots:
        parts.append(
            "SELECT descendant_id FROM lineage WHERE ancestor_kind = 'lot' AND "
            + ids.member("ancestor_id", "lots")
            + " AND descendant_kind = 'unit'"
        )
        binds.append(ids.bind("lots", seeds.lots))
    if seeds.units:
        parts.append(
            "SELECT descendant_id FROM lineage WHERE ancestor_kind = 'unit' AND "
            + ids.member("ancestor_id", "units")
            + " AND descendant_kind = 'unit'"
        )
        if seeds.include_units:
            parts.append("SELECT id FROM units WHERE " + ids.member("id", "units"))
        binds.append(ids.bind("units", seeds.units))
    consumed = "FALSE" if end_units_only else _CONSUMED
    where = f"WHERE NOT {_CONSUMED}" if end_units_only else ""
    statement = text(
        f"WITH d(id) AS ({' UNION '.join(parts)}) "
        f"SELECT u.id, u.di, u.serial, u.lot, u.status, {consumed} AS consumed, "
        "k1.container_id "
        "FROM d JOIN units AS u ON u.id = d.id "
        "LEFT JOIN containment AS k1 ON k1.child_kind = 'unit' AND k1.child_id = u.id "
        "AND k1.packed_at IS NOT NULL AND k1.unpacked_at IS NULL "
        f"{where}"
    ).bindparams(*binds)
    if ids.postgres and (seeds.lots or len(seeds.units) > SMALL_SEED):
        await _plan_with_the_list(session)
    rows = sorted((await session.execute(statement)).all(), key=itemgetter(0))
    placed = await boxes(session, {row[6] for row in rows if row[6] is not None})
    units: list[PlacedUnit] = []
    last = None
    for unit_id, di, serial, lot, status, consumed, container_id in rows:
        # A unit packed twice without an unpack in between comes twice: keep one.
        if unit_id != last:
            box = placed.get(container_id) if container_id is not None else None
            units.append(PlacedUnit(unit_id, di, serial, lot, status, bool(consumed), box))
            last = unit_id
    return units


async def _plan_with_the_list(session: AsyncSession) -> None:
    # A generic (prepared) plan would forget the list's length, so a custom plan is made;
    # random_page_cost 1.1 instead of 4.0: the trace tables sit in memory, and at 4.0 the
    # planner preferred a seq scan of all units to 1,000 index lookups (48 ms against 6 ms
    # at 100,000 units, bench/trace.py), yet still hashes when the set is large.
    await session.execute(
        text(
            "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
            "set_config('random_page_cost', '1.1', true)"
        )
    )


async def boxes(session: AsyncSession, container_ids: set[int]) -> dict[int, Box]:
    """Each container's pallet and the shipment that carried either."""
    if not container_ids:
        return {}
    ids = IdList(session)
    statement = (
        text(
            "SELECT c1.id AS container_id, c1.sscc AS container, c2.sscc AS outer_container, "
            "sh.id AS shipment_id, sh.number AS shipment, sh.recipient_name, "
            "sh.recipient_address, sh.ship_date, sh.customer_id "
            "FROM containers AS c1 "
            "LEFT JOIN containment AS k2 ON k2.child_kind = 'container' AND k2.child_id = c1.id "
            "AND k2.packed_at IS NOT NULL AND k2.unpacked_at IS NULL "
            "LEFT JOIN containers AS c2 ON c2.id = k2.container_id "
            "LEFT JOIN shipment_items AS s1 ON s1.container_id = c1.id "
            "AND s1.event_id IS NOT NULL "
            "LEFT JOIN shipment_items AS s2 ON s2.container_id = k2.container_id "
            "AND s2.event_id IS NOT NULL "
            "LEFT JOIN shipments AS sh ON sh.id = COALESCE(s2.shipment_id, s1.shipment_id) "
            "WHERE " + ids.member("c1.id", "boxes")
        )
        .bindparams(ids.bind("boxes", container_ids))
        .columns(ship_date=Date())
    )
    found: dict[int, Box] = {}
    for r in await session.execute(statement):
        found.setdefault(
            r.container_id,
            Box(
                container=r.container,
                outer_container=r.outer_container,
                shipment_id=r.shipment_id,
                shipment=r.shipment,
                recipient_name=r.recipient_name,
                recipient_address=r.recipient_address,
                ship_date=r.ship_date,
                customer_id=r.customer_id,
            ),
        )
    return found


async def placement_of(session: AsyncSession, unit_id: int) -> Box | None:
    """Where one unit is now (its open containment, then its container's box)."""
    container_id = await session.scalar(
        text(
            "SELECT container_id FROM containment WHERE child_kind = 'unit' AND child_id = :unit "
            "AND packed_at IS NOT NULL AND unpacked_at IS NULL ORDER BY packed_at DESC LIMIT 1"
        ),
        {"unit": unit_id},
    )
    if container_id is None:
        return None
    return (await boxes(session, {int(container_id)})).get(int(container_id))
