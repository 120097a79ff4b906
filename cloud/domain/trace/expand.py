"""From seeds (lots, units) to every unit made from them, with where each one is now.

Two statements, each a set operation, never a query per level or per unit:

1. `units_from`: the seeds' descendants through the lineage (closure) table kept current at
   ingest, joined to the unit rows, which carry their current container and whether they
   went into another unit (cloud.domain.genealogy.current); a recall reads only the lineage
   rows that lead to end units (a partial index), so it never touches the units inside them;
2. `boxes`: for the distinct containers found, the container holding each (a case's
   pallet) and the shipment that carried either (ten kits share a case, forty cases a
   pallet).

The seed ids are bound as one list (PostgreSQL: an array, SQLite: a JSON array), so the
planner sees the list itself and estimates the descendants from the lineage statistics:
it then keeps index lookups for a small trace and merges or hashes for a large one (with
the settings of `plan_for_lists`). On PostgreSQL the rows come straight from the driver
(asyncpg records): a recall reads 100,000 of them, and building SQLAlchemy rows for them
cost as much as the query.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import ARRAY, BigInteger, Date, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import TypeEngine

from cloud.db.dialect import is_postgres
from cloud.domain.trace.gc_pause import collector_paused


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


class Box(NamedTuple):
    """Where a container is: its pallet, and the shipment that carried either.

    A named tuple: a recall reads 10,000 of them, and a frozen dataclass took 3 µs each.
    """

    container: str
    outer_container: str | None
    shipment_id: int | None
    shipment: str | None
    recipient_name: str | None
    recipient_address: str | None
    ship_date: date | None
    customer_id: int | None
    customer_country: str | None = None
    customer_region: str | None = None
    """The shipment's customer's country and region (a recall counts recipients by region)."""


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
    container_id: int | None
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


class IdList:
    """A list of ids bound as one parameter, in the session's dialect (SQLAlchemy statements)."""

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


async def driver_rows(session: AsyncSession, sql: str, *args: Any) -> Sequence[Sequence[Any]]:
    """The rows of `sql` (`$n` placeholders) from asyncpg, on the session's own connection
    (and transaction, if one is open: plan settings made in it apply). A read needs none,
    unlike `bulk`'s writes."""
    connection = await session.connection()
    driver: Any = (await connection.get_raw_connection()).driver_connection
    rows: Sequence[Sequence[Any]] = await driver.fetch(sql, *args)
    return rows


class IdQuery:
    """A read whose id lists are bound one parameter each, run on the session's connection:
    through asyncpg on PostgreSQL (`$n` arrays), through SQLAlchemy on SQLite (JSON arrays)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.postgres = is_postgres(session)
        self.args: list[Any] = []

    def member(self, column: str, ids: Iterable[int]) -> str:
        """`column` is one of `ids`, as SQL."""
        values = sorted(set(ids))
        self.args.append(values if self.postgres else json.dumps(values))
        n = len(self.args)
        if self.postgres:
            return f"{column} = ANY(${n}::bigint[])"
        return f"{column} IN (SELECT value FROM json_each(:p{n}))"

    async def rows(self, sql: str, **types: TypeEngine[Any]) -> Sequence[Sequence[Any]]:
        """The rows of `sql`; `types` convert SQLite's text columns (dates) to Python values."""
        if self.postgres:
            return await driver_rows(self.session, sql, *self.args)
        params = {f"p{n}": value for n, value in enumerate(self.args, start=1)}
        return (await self.session.execute(text(sql).columns(**types), params)).all()


async def units_from(
    session: AsyncSession, seeds: Seeds, *, end_units_only: bool
) -> list[PlacedUnit]:
    """Every unit made from the seeds (at any depth), with its place, in id order.

    `end_units_only`: drop the units consumed into another unit (they travel inside it).
    """
    if not seeds:
        return []
    query = IdQuery(session)
    # `descendant_end` names the partial index of the rows that lead to end units.
    reach = "descendant_end" if end_units_only else "descendant_kind = 'unit'"
    parts = []
    if seeds.lots:
        parts.append(
            "SELECT descendant_id FROM lineage WHERE ancestor_kind = 'lot' AND "
            + query.member("ancestor_id", seeds.lots)
            + f" AND {reach}"
        )
    if seeds.units:
        parts.append(
            "SELECT descendant_id FROM lineage WHERE ancestor_kind = 'unit' AND "
            + query.member("ancestor_id", seeds.units)
            + f" AND {reach}"
        )
        if seeds.include_units:
            parts.append(
                "SELECT id FROM units WHERE "
                + query.member("id", seeds.units)
                + (" AND NOT consumed" if end_units_only else "")
            )
    sql = (
        f"WITH d(id) AS ({' UNION ALL '.join(parts)}) "
        "SELECT u.id, u.di, u.serial, u.lot, u.status, u.consumed, u.container_id "
        "FROM d JOIN units AS u ON u.id = d.id"
    )
    await plan_for_lists(session, large=bool(seeds.lots) or len(seeds.units) > SMALL_SEED)
    with collector_paused():
        fetched = await query.rows(sql)
        # A unit reached from two seeds comes twice: the sort brings the copies together.
        rows = sorted(fetched, key=itemgetter(0))
        container_ids = {row[6] for row in rows if row[6] is not None}
    placed = await boxes(session, container_ids)
    units: list[PlacedUnit] = []
    last = None
    with collector_paused():
        for unit_id, di, serial, lot, status, consumed, container_id in rows:
            if unit_id != last:
                box = placed.get(container_id) if container_id is not None else None
                units.append(
                    PlacedUnit(unit_id, di, serial, lot, status, bool(consumed), container_id, box)
                )
                last = unit_id
    return units


SMALL_SEED = 1_000
"""Up to this many unit seeds (and no lot) the answer is small and a cached plan serves."""
_PLANNED = "trace.planned"


async def plan_for_lists(session: AsyncSession, *, large: bool) -> None:
    """Set how this transaction's trace statements are planned (PostgreSQL; once, or again
    when a `large` list follows small ones).

    `large`: the lists may reach 100,000 units, so each statement is planned for the list
    it is given instead of reusing a cached plan.
    """
    if not is_postgres(session):
        return
    transaction = session.sync_session.get_transaction()
    # (transaction, large) of the settings made last in this session.
    planned: tuple[object, bool] = session.info.get(_PLANNED, (None, False))
    if transaction is not None and planned[0] is transaction and (planned[1] or not large):
        return
    # For this transaction only. A cached (generic) plan would forget a list's length: a
    # recall of 100,000 units merges with the units' key in 120-180 ms, where the nested
    # loop fit for 50 units takes 300-400 ms (bench/trace.py), so a large list gets a plan
    # of its own; a small one keeps the cached plan (planning took 0.3-0.7 ms a statement).
    # random_page_cost 1.1 instead of 4.0: the trace tables sit in memory, and at 4.0 the
    # planner preferred a seq scan of all units to 1,000 index lookups (48 ms against 6 ms
    # at 100,000 units); no parallel workers: starting them took 8 ms of a 9 ms excursion
    # scope on this 2-core machine, and index lookups gain nothing from them; no memoize:
    # the planner put a cache before the units of a lineage whose descendants are all
    # distinct, so it never hit, and the forward trace to 50,000 units took 2-3x longer.
    await session.execute(
        text(
            "SELECT set_config('plan_cache_mode', :plan_cache_mode, true), "
            "set_config('random_page_cost', '1.1', true), "
            "set_config('max_parallel_workers_per_gather', '0', true), "
            "set_config('enable_memoize', 'off', true)"
        ),
        {"plan_cache_mode": "force_custom_plan" if large else "auto"},
    )
    session.info[_PLANNED] = (session.sync_session.get_transaction(), large)


async def boxes(session: AsyncSession, container_ids: set[int]) -> dict[int, Box]:
    """Each container's pallet and the shipment that carried either."""
    if not container_ids:
        return {}
    query = IdQuery(session)
    sql = (
        "SELECT c1.id AS container_id, c1.sscc AS container, c2.sscc AS outer_container, "
        "sh.id AS shipment_id, sh.number AS shipment, sh.recipient_name, "
        "sh.recipient_address, sh.ship_date, sh.customer_id, "
        "cu.country AS customer_country, cu.region AS customer_region "
        "FROM containers AS c1 "
        "LEFT JOIN containment AS k2 ON k2.child_kind = 'container' AND k2.child_id = c1.id "
        "AND k2.packed_at IS NOT NULL AND k2.unpacked_at IS NULL "
        "LEFT JOIN containers AS c2 ON c2.id = k2.container_id "
        "LEFT JOIN shipment_items AS s1 ON s1.container_id = c1.id "
        "AND s1.event_id IS NOT NULL "
        "LEFT JOIN shipment_items AS s2 ON s2.container_id = k2.container_id "
        "AND s2.event_id IS NOT NULL "
        "LEFT JOIN shipments AS sh ON sh.id = COALESCE(s2.shipment_id, s1.shipment_id) "
        "LEFT JOIN customers AS cu ON cu.id = sh.customer_id "
        "WHERE " + query.member("c1.id", container_ids)
    )
    found: dict[int, Box] = {}
    with collector_paused():
        for row in await query.rows(sql, ship_date=Date()):
            if row[0] not in found:
                found[row[0]] = Box(*row[1:])
    return found


async def placement_of(session: AsyncSession, unit_id: int) -> Box | None:
    """Where one unit is now: its current container's box."""
    container_id = await session.scalar(
        text("SELECT container_id FROM units WHERE id = :unit"), {"unit": unit_id}
    )
    if container_id is None:
        return None
    return (await boxes(session, {int(container_id)})).get(int(container_id))
