"""Work orders: created as drafts, activated on a line (sent to its edges), closed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from cloud.db.database import Database
from cloud.domain.catalog.models import Product
from cloud.domain.errors import ConflictError, InvalidFieldError, NotFoundError
from cloud.domain.plant.models import Checkpoint, Line, Site
from cloud.domain.production import bom
from cloud.domain.production.models import WorkOrder
from cloud.domain.production.schemas import WorkOrderIn, WorkOrderOut, WorkOrderPatch
from cloud.mqtt.commands import CommandPublisher, queue_command
from cloud.settings import Settings
from protocols import commands
from protocols.ids import uuid7


def _out(order: WorkOrder, *, commands_queued: int = 0) -> WorkOrderOut:
    return WorkOrderOut(
        number=order.number,
        product=order.product.di,
        site=order.line.site.code,
        line=order.line.code,
        lot=order.lot,
        quantity=order.quantity,
        expiry=order.expiry,
        production_date=order.production_date,
        route=list(order.route),
        bom=bom.from_stored(order.bom),
        status=order.status,
        created_at=order.created_at,
        activated_at=order.activated_at,
        closed_at=order.closed_at,
        commands_queued=commands_queued,
    )


def _query() -> Select[WorkOrder]:
    return select(WorkOrder).options(
        joinedload(WorkOrder.product), joinedload(WorkOrder.line).joinedload(Line.site)
    )


class WorkOrderService:
    def __init__(self, db: Database, publisher: CommandPublisher, settings: Settings) -> None:
        self.db = db
        self.publisher = publisher
        self.settings = settings

    async def list(self, *, status: str | None = None) -> list[WorkOrderOut]:
        query = _query().order_by(WorkOrder.number)
        if status is not None:
            query = query.where(WorkOrder.status == status)
        async with self.db.sessions() as session:
            return [_out(order) for order in (await session.scalars(query)).all()]

    async def get(self, number: str) -> WorkOrderOut:
        async with self.db.sessions() as session:
            return _out(await _order(session, number))

    async def create(self, data: WorkOrderIn) -> WorkOrderOut:
        async with self.db.sessions.begin() as session:
            if await session.scalar(select(WorkOrder.id).where(WorkOrder.number == data.number)):
                raise ConflictError(f"work order {data.number!r} already exists", field="number")
            product_id = await session.scalar(select(Product.id).where(Product.di == data.product))
            if product_id is None:
                raise InvalidFieldError("product", f"no product with di {data.product!r}")
            line = await session.scalar(
                select(Line).join(Site).where(Site.code == data.site, Line.code == data.line)
            )
            if line is None:
                raise InvalidFieldError("line", f"no line {data.line!r} at site {data.site!r}")
            await _check_route(session, line, data.route)
            await bom.check_bom(session, data.bom, product_di=data.product)
            _check_dates(data.production_date, data.expiry)
            session.add(
                WorkOrder(
                    number=data.number,
                    product_id=product_id,
                    line_id=line.id,
                    lot=data.lot,
                    quantity=data.quantity,
                    expiry=data.expiry,
                    production_date=data.production_date,
                    route=list(data.route),
                    bom=bom.stored(data.bom),
                )
            )
        return await self.get(data.number)

    async def update(self, number: str, patch: WorkOrderPatch) -> WorkOrderOut:
        async with self.db.sessions.begin() as session:
            order = await _order(session, number)
            if order.status != "draft":
                raise ConflictError(
                    f"work order {number!r} is {order.status}: only a draft can be changed",
                    field="status",
                )
            changes = {
                k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET
            }
            if "route" in changes:
                await _check_route(session, order.line, changes["route"])
            if not isinstance(patch.bom, msgspec.UnsetType):
                await bom.check_bom(session, patch.bom, product_di=order.product.di)
                changes["bom"] = bom.stored(patch.bom)
            _check_dates(
                changes.get("production_date", order.production_date),
                changes.get("expiry", order.expiry),
            )
            for name, value in changes.items():
                setattr(order, name, value)
        return await self.get(number)

    async def delete(self, number: str) -> None:
        async with self.db.sessions.begin() as session:
            order = await _order(session, number)
            if order.status != "draft":
                raise ConflictError(
                    f"work order {number!r} is {order.status}: only a draft can be deleted",
                    field="status",
                )
            await session.delete(order)

    async def activate(self, number: str, *, issued_by: str = "cloud") -> WorkOrderOut:
        """Make the order the line's current one and send `cmd/workorder` to its edges.

        The command is retained on each checkpoint's topic, so an edge that
        starts later still learns the line's current order.
        """
        now = datetime.now(UTC)
        async with self.db.sessions.begin() as session:
            order = await _order(session, number)
            if order.status == "closed":
                raise ConflictError(f"work order {number!r} is closed", field="status")
            for previous in (
                await session.scalars(
                    select(WorkOrder).where(
                        WorkOrder.line_id == order.line_id,
                        WorkOrder.status == "active",
                        WorkOrder.id != order.id,
                    )
                )
            ).all():
                previous.status, previous.closed_at = "closed", now
            order.status, order.activated_at = "active", now
            checkpoints = (
                await session.scalars(
                    select(Checkpoint.code)
                    .where(Checkpoint.line_id == order.line_id)
                    .order_by(Checkpoint.code)
                )
            ).all()
            command = commands.WorkOrder(
                command_id=uuid7(),
                issued_at=now,
                issued_by=issued_by,
                work_order=order.number,
                products=(order.product.di,),
                lot=order.lot,
                expiry=order.expiry,
                production_date=order.production_date,
                quantity=order.quantity,
                route=tuple(order.route),
                bom=bom.on_the_wire(order.bom),
            )
            for checkpoint in checkpoints:
                queue_command(
                    session,
                    command,
                    site=order.line.site.code,
                    line=order.line.code,
                    checkpoint=checkpoint,
                    prefix=self.settings.topic_prefix,
                    retain=True,
                )
        self.publisher.wake()
        return msgspec.structs.replace(await self.get(number), commands_queued=len(checkpoints))

    async def close(self, number: str) -> WorkOrderOut:
        async with self.db.sessions.begin() as session:
            order = await _order(session, number)
            if order.status == "closed":
                raise ConflictError(f"work order {number!r} is already closed", field="status")
            order.status, order.closed_at = "closed", datetime.now(UTC)
        return await self.get(number)


async def _order(session: AsyncSession, number: str) -> WorkOrder:
    order = await session.scalar(_query().where(WorkOrder.number == number))
    if order is None:
        raise NotFoundError("work order", "number", number)
    return order


async def _check_route(session: AsyncSession, line: Line, route: list[str]) -> None:
    known = set(
        (await session.scalars(select(Checkpoint.code).where(Checkpoint.line_id == line.id))).all()
    )
    for index, code in enumerate(route):
        if code not in known:
            raise InvalidFieldError(
                f"route[{index}]",
                f"no checkpoint {code!r} on line {line.code!r} "
                f"(it has {', '.join(sorted(known)) or 'none'})",
            )


def _check_dates(production: date | None, expiry: date | None) -> None:
    if production is not None and expiry is not None and expiry < production:
        raise InvalidFieldError(
            "expiry", f"expected a date on or after production_date {production}, got {expiry}"
        )
