"""Shipments: planned through the API, confirmed by `container.shipped` events."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from cloud.db.database import Database
from cloud.db.dialect import insert_for
from cloud.domain.customers.models import Customer
from cloud.domain.customers.services import postal_address
from cloud.domain.errors import ConflictError, InvalidFieldError, NotFoundError
from cloud.domain.genealogy.models import Container, Unit
from cloud.domain.shipments.models import Shipment, ShipmentItem
from cloud.domain.shipments.schemas import (
    AnnounceIn,
    ShipmentIn,
    ShipmentItemOut,
    ShipmentOut,
    ShipmentPatch,
)
from cloud.mqtt.commands import CommandPublisher, queue_command
from cloud.settings import Settings
from protocols import commands
from protocols.ids import uuid7
from protocols.parts import Party


class ShipmentService:
    def __init__(self, db: Database, publisher: CommandPublisher, settings: Settings) -> None:
        self.db = db
        self.publisher = publisher
        self.settings = settings

    async def list(self) -> list[ShipmentOut]:
        async with self.db.sessions() as session:
            shipments = (
                await session.scalars(
                    select(Shipment)
                    .options(selectinload(Shipment.customer))
                    .order_by(Shipment.number)
                )
            ).all()
            return [await _out(session, s) for s in shipments]

    async def get(self, number: str) -> ShipmentOut:
        async with self.db.sessions() as session:
            return await _out(session, await _shipment(session, number))

    async def create(self, data: ShipmentIn) -> ShipmentOut:
        async with self.db.sessions.begin() as session:
            if await session.scalar(select(Shipment.id).where(Shipment.number == data.number)):
                raise ConflictError(f"shipment {data.number!r} already exists", field="number")
            customer = await _customer(session, data.customer)
            shipment = Shipment(
                number=data.number,
                customer_id=customer.id,
                recipient_name=customer.name,
                recipient_address=postal_address(customer),
                order_ref=data.order_ref,
                ship_date=data.ship_date,
            )
            session.add(shipment)
            await session.flush()
            await _plan_containers(session, shipment, data.containers)
        return await self.get(data.number)

    async def update(self, number: str, patch: ShipmentPatch) -> ShipmentOut:
        async with self.db.sessions.begin() as session:
            shipment = await _shipment(session, number)
            _require_planned(shipment)
            if not isinstance(patch.customer, msgspec.UnsetType):
                customer = await _customer(session, patch.customer)
                shipment.customer_id = customer.id
                shipment.recipient_name = customer.name
                shipment.recipient_address = postal_address(customer)
            if not isinstance(patch.order_ref, msgspec.UnsetType):
                shipment.order_ref = patch.order_ref
            if not isinstance(patch.ship_date, msgspec.UnsetType):
                shipment.ship_date = patch.ship_date
            if not isinstance(patch.containers, msgspec.UnsetType):
                await session.execute(
                    delete(ShipmentItem).where(ShipmentItem.shipment_id == shipment.id)
                )
                await _plan_containers(session, shipment, patch.containers)
        return await self.get(number)

    async def delete(self, number: str) -> None:
        async with self.db.sessions.begin() as session:
            shipment = await _shipment(session, number)
            _require_planned(shipment)
            await session.delete(shipment)

    async def announce(
        self, number: str, where: AnnounceIn, *, issued_by: str = "cloud"
    ) -> ShipmentOut:
        """Send `cmd/shipment` to the shipping checkpoint: which containers go to whom."""
        async with self.db.sessions.begin() as session:
            shipment = await _shipment(session, number)
            _require_planned(shipment)
            customer = shipment.customer
            if customer is None:
                raise InvalidFieldError("customer", f"shipment {number!r} has no customer")
            ssccs = (
                await session.scalars(
                    select(Container.sscc)
                    .join(ShipmentItem, ShipmentItem.container_id == Container.id)
                    .where(ShipmentItem.shipment_id == shipment.id)
                    .order_by(Container.sscc)
                )
            ).all()
            command = commands.Shipment(
                command_id=uuid7(),
                issued_at=datetime.now(UTC),
                issued_by=issued_by,
                shipment_id=shipment.number,
                order=shipment.order_ref or shipment.number,
                recipient=Party(
                    name=customer.name,
                    address_lines=tuple(
                        line
                        for line in (
                            customer.street,
                            f"{customer.postal_code} {customer.city}".strip(),
                        )
                        if line
                    ),
                    country_code=customer.country,
                    region=customer.region or None,
                ),
                expected_containers=tuple(ssccs),
            )
            queue_command(
                session,
                command,
                site=where.site,
                line=where.line,
                checkpoint=where.checkpoint,
                prefix=self.settings.topic_prefix,
            )
        self.publisher.wake()
        return msgspec.structs.replace(await self.get(number), commands_queued=1)


def _require_planned(shipment: Shipment) -> None:
    if shipment.status != "planned":
        raise ConflictError(
            f"shipment {shipment.number!r} has shipped: it can no longer be changed",
            field="status",
        )


async def _shipment(session: AsyncSession, number: str) -> Shipment:
    shipment = await session.scalar(
        select(Shipment).options(selectinload(Shipment.customer)).where(Shipment.number == number)
    )
    if shipment is None:
        raise NotFoundError("shipment", "number", number)
    return shipment


async def _customer(session: AsyncSession, code: str) -> Customer:
    customer = await session.scalar(select(Customer).where(Customer.code == code))
    if customer is None:
        raise InvalidFieldError("customer", f"no customer with code {code!r}")
    return customer


async def _plan_containers(session: AsyncSession, shipment: Shipment, ssccs: list[str]) -> None:
    if not ssccs:
        return
    now = datetime.now(UTC)
    await session.execute(
        insert_for(session, Container).on_conflict_do_nothing(),
        [{"sscc": sscc, "first_seen_at": now} for sscc in sorted(set(ssccs))],
    )
    found = await session.execute(
        select(Container.sscc, Container.id).where(Container.sscc.in_(ssccs))
    )
    ids = {sscc: container_id for sscc, container_id in found}
    for sscc in dict.fromkeys(ssccs):
        session.add(ShipmentItem(shipment_id=shipment.id, container_id=ids[sscc], quantity=1))


async def _out(session: AsyncSession, shipment: Shipment) -> ShipmentOut:
    rows = (
        await session.execute(
            select(ShipmentItem, Container.sscc, Unit.di, Unit.serial)
            .outerjoin(Container, ShipmentItem.container_id == Container.id)
            .outerjoin(Unit, ShipmentItem.unit_id == Unit.id)
            .where(ShipmentItem.shipment_id == shipment.id)
            .order_by(ShipmentItem.id)
        )
    ).all()
    return ShipmentOut(
        number=shipment.number,
        customer=shipment.customer.code if shipment.customer else None,
        recipient_name=shipment.recipient_name,
        recipient_address=shipment.recipient_address,
        order_ref=shipment.order_ref,
        ship_date=shipment.ship_date,
        status=shipment.status,
        shipped_at=shipment.shipped_at,
        items=[
            ShipmentItemOut(
                sscc=sscc,
                unit_di=di,
                unit_serial=serial,
                quantity=item.quantity,
                shipped=item.event_id is not None,
            )
            for item, sscc, di, serial in rows
        ],
    )
