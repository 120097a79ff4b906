"""Nonconformances (linked to the holds they explain) and CAPAs; closing either is signed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.database import Database
from cloud.db.types import utc_now
from cloud.domain.auth.principal import Principal
from cloud.domain.errors import ConflictError, InvalidFieldError, NotFoundError
from cloud.domain.holds.services import hold_number
from cloud.domain.quality.models import Capa, Nonconformance, NonconformanceHold
from cloud.domain.quality.schemas import (
    CapaIn,
    CapaOut,
    NonconformanceIn,
    NonconformanceOut,
)
from cloud.domain.signatures.dispositions import find_hold
from cloud.domain.signatures.meanings import CLOSE_MEANINGS
from cloud.domain.signatures.schemas import SignIn
from cloud.domain.signatures.services import SignatureService, sign, signatures_of
from cloud.domain.trace.services import signature_out


def nc_number(nc_id: int) -> str:
    return f"NC{nc_id}"


def capa_number(capa_id: int) -> str:
    return f"CAPA{capa_id}"


def _id(number: str, prefix: str, resource: str) -> int:
    digits = number.removeprefix(prefix)
    if not digits.isdigit():
        raise NotFoundError(resource, "number", number)
    return int(digits)


class QualityService:
    def __init__(self, db: Database, signatures: SignatureService) -> None:
        self.db = db
        self.signatures = signatures

    async def open_nonconformance(
        self, principal: Principal, data: NonconformanceIn
    ) -> NonconformanceOut:
        async with self.db.sessions.begin() as session:
            nc = Nonconformance(
                title=data.title, description=data.description, opened_by=principal.name
            )
            session.add(nc)
            await session.flush()
            for hold_id in dict.fromkeys(data.holds):
                await _link(session, nc, hold_id, principal.name)
        return await self.nonconformance(nc_number(nc.id))

    async def link_hold(self, principal: Principal, number: str, hold_id: str) -> NonconformanceOut:
        async with self.db.sessions.begin() as session:
            nc = await _nonconformance(session, number)
            _require_open(nc.status, number)
            await _link(session, nc, hold_id, principal.name)
        return await self.nonconformance(number)

    async def nonconformances(self, *, status: str | None = None) -> list[NonconformanceOut]:
        query = select(Nonconformance.id).order_by(Nonconformance.id)
        if status is not None:
            query = query.where(Nonconformance.status == status)
        async with self.db.sessions() as session:
            ids = (await session.scalars(query)).all()
        return [await self.nonconformance(nc_number(i)) for i in ids]

    async def nonconformance(self, number: str) -> NonconformanceOut:
        async with self.db.sessions() as session:
            nc = await _nonconformance(session, number)
            holds = (
                await session.scalars(
                    select(NonconformanceHold.hold_id)
                    .where(NonconformanceHold.nonconformance_id == nc.id)
                    .order_by(NonconformanceHold.hold_id)
                )
            ).all()
            signed = await signatures_of(session, "nonconformance", [str(nc.id)])
        return NonconformanceOut(
            number=nc_number(nc.id),
            title=nc.title,
            description=nc.description,
            status=nc.status,
            holds=[hold_number(h) for h in holds],
            capa=capa_number(nc.capa_id) if nc.capa_id else None,
            opened_at=nc.opened_at,
            opened_by=nc.opened_by,
            closed_at=nc.closed_at,
            closed_by=nc.closed_by,
            signatures=[signature_out(s) for s in signed.get(str(nc.id), [])],
        )

    async def close_nonconformance(
        self, principal: Principal, number: str, data: SignIn
    ) -> NonconformanceOut:
        signer = await self.signatures.signer(
            principal,
            data,
            meanings=CLOSE_MEANINGS,
            role="quality",
            request=f"POST /api/nonconformances/{number}/close",
        )
        async with self.db.sessions.begin() as session:
            nc = await _nonconformance(session, number)
            _require_open(nc.status, number)
            nc.status, nc.closed_at, nc.closed_by = "closed", utc_now(), signer.username
            await sign(
                session,
                signer,
                meaning=data.meaning,
                reason=data.reason,
                record_type="nonconformance",
                record_id=str(nc.id),
                content={
                    "number": number,
                    "title": nc.title,
                    "description": nc.description,
                    "opened_at": nc.opened_at,
                    "opened_by": nc.opened_by,
                    "closed_at": nc.closed_at,
                },
            )
        return await self.nonconformance(number)

    async def open_capa(self, principal: Principal, data: CapaIn) -> CapaOut:
        async with self.db.sessions.begin() as session:
            capa = Capa(title=data.title, description=data.description, opened_by=principal.name)
            session.add(capa)
            await session.flush()
            for number in dict.fromkeys(data.nonconformances):
                nc = await _nonconformance(session, number, field="nonconformances")
                nc.capa_id = capa.id
        return await self.capa(capa_number(capa.id))

    async def capas(self) -> list[CapaOut]:
        async with self.db.sessions() as session:
            ids = (await session.scalars(select(Capa.id).order_by(Capa.id))).all()
        return [await self.capa(capa_number(i)) for i in ids]

    async def capa(self, number: str) -> CapaOut:
        async with self.db.sessions() as session:
            capa = await _capa(session, number)
            ncs = (
                await session.scalars(
                    select(Nonconformance.id)
                    .where(Nonconformance.capa_id == capa.id)
                    .order_by(Nonconformance.id)
                )
            ).all()
            signed = await signatures_of(session, "capa", [str(capa.id)])
        return CapaOut(
            number=capa_number(capa.id),
            title=capa.title,
            description=capa.description,
            status=capa.status,
            nonconformances=[nc_number(i) for i in ncs],
            opened_at=capa.opened_at,
            opened_by=capa.opened_by,
            closed_at=capa.closed_at,
            closed_by=capa.closed_by,
            signatures=[signature_out(s) for s in signed.get(str(capa.id), [])],
        )

    async def close_capa(self, principal: Principal, number: str, data: SignIn) -> CapaOut:
        signer = await self.signatures.signer(
            principal,
            data,
            meanings=CLOSE_MEANINGS,
            role="quality",
            request=f"POST /api/capas/{number}/close",
        )
        async with self.db.sessions.begin() as session:
            capa = await _capa(session, number)
            _require_open(capa.status, number)
            open_ncs = (
                await session.scalars(
                    select(Nonconformance.id).where(
                        Nonconformance.capa_id == capa.id, Nonconformance.status == "open"
                    )
                )
            ).all()
            if open_ncs:
                raise ConflictError(
                    f"{number} still has open nonconformances "
                    f"{[nc_number(i) for i in open_ncs]}: close them first",
                    field="number",
                )
            capa.status, capa.closed_at, capa.closed_by = "closed", utc_now(), signer.username
            await sign(
                session,
                signer,
                meaning=data.meaning,
                reason=data.reason,
                record_type="capa",
                record_id=str(capa.id),
                content={
                    "number": number,
                    "title": capa.title,
                    "description": capa.description,
                    "opened_at": capa.opened_at,
                    "closed_at": capa.closed_at,
                },
            )
        return await self.capa(number)


def _require_open(status: str, number: str) -> None:
    if status != "open":
        raise ConflictError(f"{number} is closed: it can no longer be changed", field="number")


async def _nonconformance(
    session: AsyncSession, number: str, *, field: str = "number"
) -> Nonconformance:
    nc = await session.get(Nonconformance, _id(number, "NC", "nonconformance"))
    if nc is None:
        if field != "number":
            raise InvalidFieldError(field, f"no nonconformance {number!r}")
        raise NotFoundError("nonconformance", "number", number)
    return nc


async def _capa(session: AsyncSession, number: str) -> Capa:
    capa = await session.get(Capa, _id(number, "CAPA", "capa"))
    if capa is None:
        raise NotFoundError("capa", "number", number)
    return capa


async def _link(session: AsyncSession, nc: Nonconformance, hold_id: str, by: str) -> None:
    try:
        hold = await find_hold(session, hold_id)
    except NotFoundError:
        raise InvalidFieldError("hold_id", f"no hold {hold_id!r}") from None
    exists = await session.get(NonconformanceHold, (nc.id, hold.id))
    if exists is None:
        session.add(NonconformanceHold(nonconformance_id=nc.id, hold_id=hold.id, linked_by=by))
