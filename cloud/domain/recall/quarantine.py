"""Which holds quarantine a recall's in-house units: one per lot when the whole lot is
affected, else one per unit; and the units' status while held."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.types import utc_now
from cloud.domain.genealogy.models import Unit
from cloud.domain.recall import impact as impacts
from cloud.domain.trace.expand import PlacedUnit

HoldPlan = tuple[str, str, str | None, str | None, int | None]
"""(scope, di, serial, lot, unit_id) of one hold to place."""


async def holds_needed(session: AsyncSession, units: Sequence[PlacedUnit]) -> list[HoldPlan]:
    """(scope, di, serial, lot, unit_id) of the holds for the in-house units: one per lot when
    every unit of the lot is affected, else one per unit."""
    in_house = [u for u in units if impacts.in_house(u)]
    affected: Counter[tuple[str, str | None]] = Counter((u.di, u.lot) for u in units)
    lots = sorted({(u.di, u.lot) for u in in_house if u.lot is not None}, key=str)
    whole: set[tuple[str, str | None]] = set()
    if lots:
        counts = await session.execute(
            select(Unit.di, Unit.lot, func.count())
            .where(tuple_(Unit.di, Unit.lot).in_(lots))
            .group_by(Unit.di, Unit.lot)
        )
        whole = {(di, lot) for di, lot, n in counts if affected[(di, lot)] == n}
    holds: list[HoldPlan] = [("lot", di, None, lot, None) for di, lot in sorted(whole, key=str)]
    holds += [("unit", u.di, u.serial, u.lot, u.id) for u in in_house if (u.di, u.lot) not in whole]
    return holds


async def hold_units(session: AsyncSession, units: Sequence[PlacedUnit]) -> None:
    in_house = [u.id for u in units if impacts.in_house(u)]
    if in_house:
        await session.execute(
            update(Unit)
            .where(Unit.id.in_(in_house))
            .values(status="held", status_at=utc_now())
            .execution_options(synchronize_session=False)
        )
