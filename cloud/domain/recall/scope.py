"""A recall scope to its affected end units, with their place and shipment.

Each criterion selects seeds (lots or units) in one indexed query; the lineage
(closure) table then takes the seeds to everything made from them in one set
operation (cloud.domain.trace.expand); only end units count (a unit consumed
into another travels, and is recalled, inside it). `any` unions the seeds,
`all` intersects each criterion's end units. The same code runs on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.domain.errors import InvalidFieldError
from cloud.domain.genealogy.models import Unit
from cloud.domain.recall.excursion import excursion_units
from cloud.domain.recall.schemas import (
    RecallScope,
)
from cloud.domain.trace.expand import PlacedUnit, Seeds, units_from
from cloud.domain.trace.identify import parse_unit_id
from cloud.domain.trace.services import lot_seeds


def check_scope(scope: RecallScope) -> None:
    """Refuse a scope that selects nothing or contradicts itself, naming the field."""
    if not (scope.lots or scope.serials or scope.units or scope.production or scope.excursions):
        raise InvalidFieldError(
            "scope", "expected at least one of lots, serials, units, production, excursions"
        )
    for i, serials in enumerate(scope.serials):
        if serials.first > serials.last:
            raise InvalidFieldError(
                f"scope.serials[{i}]", f"first {serials.first!r} comes after last {serials.last!r}"
            )
    for i, window in enumerate(scope.production):
        if window.first > window.last:
            raise InvalidFieldError(
                f"scope.production[{i}]", f"first {window.first} comes after last {window.last}"
            )
    for i, excursion in enumerate(scope.excursions):
        where = f"scope.excursions[{i}]"
        if excursion.low is None and excursion.high is None:
            raise InvalidFieldError(where, "expected low, high or both, got neither")
        if excursion.start.tzinfo is None or excursion.end.tzinfo is None:
            raise InvalidFieldError(where, "expected start and end with a UTC offset")
        if excursion.start >= excursion.end:
            raise InvalidFieldError(
                where, f"start {excursion.start} is not before end {excursion.end}"
            )
    for i, unit in enumerate(scope.units):
        parse_unit_id(unit, field=f"scope.units[{i}]")


async def _seeds(session: AsyncSession, scope: RecallScope) -> list[Seeds]:
    """One set of seeds per criterion, in the order the scope lists them."""
    found = [await lot_seeds(session, x.di, x.lots) for x in scope.lots]
    for serials in scope.serials:
        query = select(Unit.id).where(
            Unit.di == serials.di, Unit.serial >= serials.first, Unit.serial <= serials.last
        )
        if len(serials.first) == len(serials.last):
            query = query.where(func.length(Unit.serial) == len(serials.first))
        found.append(Seeds(units=tuple((await session.scalars(query)).all())))
    for n, text_id in enumerate(scope.units):
        key = parse_unit_id(text_id, field=f"scope.units[{n}]")
        ids = (
            await session.scalars(select(Unit.id).where(Unit.di == key.di, Unit.ident == key.ident))
        ).all()
        found.append(Seeds(units=tuple(ids)))
    for window in scope.production:
        query = select(Unit.id).where(
            Unit.production_date >= window.first, Unit.production_date <= window.last
        )
        if window.di is not None:
            query = query.where(Unit.di == window.di)
        found.append(Seeds(units=tuple((await session.scalars(query)).all())))
    for excursion in scope.excursions:
        found.append(Seeds(units=tuple(await excursion_units(session, excursion))))
    return found


async def affected_units(session: AsyncSession, scope: RecallScope) -> list[PlacedUnit]:
    """The end units the scope recalls (by unit id), each with its place and shipment."""
    check_scope(scope)
    criteria = await _seeds(session, scope)
    if scope.match == "any":
        union = Seeds(
            lots=tuple({i for c in criteria for i in c.lots}),
            units=tuple({i for c in criteria for i in c.units}),
        )
        return await units_from(session, union, end_units_only=True)
    ends = [await units_from(session, c, end_units_only=True) for c in criteria]
    common = set.intersection(*({u.id for u in e} for e in ends))
    return [u for u in ends[0] if u.id in common]
