"""The console's one search box: a UDI in any form, a serial, a lot or an SSCC, and what
the trace service has no query for: lots and containers by their own identifiers.

A UDI that names a unit goes through `TraceService.find_unit` (the API's own lookup);
a bare serial or lot number may belong to several products, so those are listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.database import Database
from cloud.domain.errors import DomainError, NotFoundError
from cloud.domain.genealogy.models import Container, Containment, Lot, Unit
from cloud.domain.holds.models import Hold
from cloud.domain.holds.schemas import HoldOut
from cloud.domain.holds.services import hold_out
from cloud.domain.trace.expand import Box, boxes
from cloud.domain.trace.identify import parse_unit_id
from cloud.domain.trace.labels import udi_text
from cloud.domain.trace.services import TraceService
from cloud.web.render import container_link, lot_link, unit_link

MAX_RESULTS = 50
_SSCC = re.compile(r"^(?:\]C1)?(?:\(00\)|00)?(?P<sscc>[0-9]{18})\Z")


@dataclass(frozen=True, slots=True)
class Found:
    kind: str
    """`unit`, `lot` or `container`."""
    label: str
    href: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    query: str
    results: list[Found] = field(default_factory=list)
    problem: str = ""
    """Why nothing was found, in words (an unreadable UDI names what was wrong)."""

    @property
    def redirect(self) -> str | None:
        """Exactly one thing found: go straight to it."""
        return self.results[0].href if len(self.results) == 1 else None


@dataclass(frozen=True, slots=True)
class ContainerUnit:
    udi: str
    status: str
    inside: str
    """The SSCC the unit sits in (this container or one inside it)."""


@dataclass(frozen=True, slots=True)
class ContainerView:
    sscc: str
    first_seen_at: datetime
    box: Box | None
    """Its pallet and the shipment that carried it."""
    containers: list[str]
    units: list[ContainerUnit]


@dataclass(frozen=True, slots=True)
class LotView:
    di: str
    lot: str
    known: bool
    """The lot has a row of its own (received, or made by a transformation)."""
    supplier: str = ""
    quantity: float | None = None
    uom: str = ""
    inspection_state: str = ""
    expiry: date | None = None
    received_at: datetime | None = None
    unit_count: int = 0
    """Units carrying this lot in their UDI."""
    holds: list[HoldOut] = field(default_factory=list)


def sscc_of(text: str) -> str | None:
    """An 18-digit SSCC, bare or as `(00)...` / `00...` (a scanned GS1-128 label).

    >>> sscc_of("(00)005391230000000110"), sscc_of("12345")
    ('005391230000000110', None)
    """
    found = _SSCC.match(text.replace(" ", ""))
    return found["sscc"] if found else None


class Finder:
    def __init__(self, db: Database, trace: TraceService) -> None:
        self.db = db
        self.trace = trace

    async def search(self, query: str) -> SearchOutcome:
        text = query.strip()
        if not text:
            return SearchOutcome(query=text)
        async with self.db.sessions() as session:
            sscc = sscc_of(text)
            if sscc is not None and await _container_id(session, sscc) is not None:
                return SearchOutcome(text, [Found("container", sscc, container_link(sscc))])
            problem = ""
            try:
                key = parse_unit_id(text, field="q")
            except DomainError as exc:
                key, problem = None, exc.message
            if key is not None:
                try:
                    unit = await self.trace.find_unit(session, text)
                except NotFoundError:
                    unit = None
                if unit is not None:
                    return SearchOutcome(text, [_unit_found(unit.udi, unit.status)])
                lot = key.ident[2:] if key.ident.startswith("L:") else None
                found = await _lots(session, lot, di=key.di) if lot else []
                return SearchOutcome(
                    text,
                    found,
                    "" if found else f"no unit {key.di} {key.ident[2:]} has been recorded",
                )
            found = [
                *await _units_by_serial(session, text),
                *await _lots(session, text),
                *await _containers(session, text),
            ]
        return SearchOutcome(
            text,
            found[:MAX_RESULTS],
            ""
            if found
            else f"no unit, lot or container is called {text!r}"
            + (f" (read as a UDI: {problem})" if problem and not text.isalnum() else ""),
        )

    async def container(self, sscc: str) -> ContainerView:
        """What a case or pallet holds now (two levels: cases on a pallet and their units)."""
        async with self.db.sessions() as session:
            row = (
                await session.execute(
                    select(Container.id, Container.first_seen_at).where(Container.sscc == sscc)
                )
            ).first()
            if row is None:
                raise NotFoundError("container", "sscc", sscc)
            container_id, first_seen = row
            open_ = Containment.packed_at.is_not(None) & Containment.unpacked_at.is_(None)
            inner = (
                await session.execute(
                    select(Container.id, Container.sscc)
                    .join(Containment, Containment.child_id == Container.id)
                    .where(
                        Containment.container_id == container_id,
                        Containment.child_kind == "container",
                        open_,
                    )
                    .order_by(Container.sscc)
                )
            ).all()
            where = {container_id: sscc, **{i: s for i, s in inner}}
            units = (
                await session.execute(
                    select(Unit.di, Unit.serial, Unit.lot, Unit.status, Containment.container_id)
                    .join(Containment, Containment.child_id == Unit.id)
                    .where(
                        Containment.child_kind == "unit",
                        Containment.container_id.in_(list(where)),
                        open_,
                    )
                    .order_by(Containment.container_id, Unit.di, Unit.ident)
                    .limit(5000)
                )
            ).all()
            box = (await boxes(session, {container_id})).get(container_id)
        return ContainerView(
            sscc=sscc,
            first_seen_at=first_seen,
            box=box,
            containers=[s for _, s in inner],
            units=[
                ContainerUnit(udi_text(di, serial=serial, lot=lot), status, where[cid])
                for di, serial, lot, status, cid in units
            ],
        )

    async def lot(self, di: str, lot: str) -> LotView:
        """A lot's own record (supplier, quantity, inspection), its units, its holds."""
        async with self.db.sessions() as session:
            row = await session.scalar(select(Lot).where(Lot.di == di, Lot.lot == lot))
            count = await session.scalar(
                select(func.count()).select_from(Unit).where(Unit.di == di, Unit.lot == lot)
            )
            holds = (
                await session.scalars(
                    select(Hold)
                    .where(Hold.scope == "lot", Hold.di == di, Hold.lot == lot)
                    .order_by(Hold.id)
                )
            ).all()
        if row is None and not count:
            raise NotFoundError("lot", "lot", f"{di}/{lot}")
        return LotView(
            di=di,
            lot=lot,
            known=row is not None,
            supplier=row.supplier if row else "",
            quantity=row.quantity if row else None,
            uom=row.uom if row else "",
            inspection_state=row.inspection_state if row else "",
            expiry=row.expiry if row else None,
            received_at=row.received_at if row else None,
            unit_count=int(count or 0),
            holds=[hold_out(h) for h in holds],
        )


def _unit_found(udi: str, status: str) -> Found:
    return Found("unit", udi, unit_link(udi), status)


async def _container_id(session: AsyncSession, sscc: str) -> int | None:
    return await session.scalar(select(Container.id).where(Container.sscc == sscc))


async def _units_by_serial(session: AsyncSession, serial: str) -> list[Found]:
    rows = await session.execute(
        select(Unit.di, Unit.serial, Unit.lot, Unit.status)
        .where(Unit.ident == f"S:{serial}")
        .order_by(Unit.di)
        .limit(MAX_RESULTS)
    )
    return [_unit_found(udi_text(d, serial=s, lot=lt), st) for d, s, lt, st in rows]


async def _lots(session: AsyncSession, lot: str | None, *, di: str | None = None) -> list[Found]:
    """Lots of that number: their own rows, and lots known only from units' UDIs."""
    if lot is None:
        return []
    own = select(Lot.di).where(Lot.lot == lot)
    carried = select(Unit.di).where(Unit.lot == lot)
    if di is not None:
        own, carried = own.where(Lot.di == di), carried.where(Unit.di == di)
    dis = sorted(set((await session.scalars(own.union(carried).limit(MAX_RESULTS))).all()))
    return [Found("lot", f"{d} lot {lot}", lot_link(d, lot)) for d in dis]


async def _containers(session: AsyncSession, text: str) -> list[Found]:
    found = await session.scalars(select(Container.sscc).where(Container.sscc == text))
    return [Found("container", s, container_link(s)) for s in found]
