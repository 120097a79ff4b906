"""Customers: who products ship to, and who a recall notice must reach."""

from __future__ import annotations

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.database import Database
from cloud.domain.customers.models import Customer
from cloud.domain.customers.schemas import CustomerIn, CustomerOut, CustomerPatch
from cloud.domain.errors import ConflictError, NotFoundError


def customer_out(customer: Customer) -> CustomerOut:
    return msgspec.convert(customer, CustomerOut, from_attributes=True)


def postal_address(customer: Customer) -> str:
    """The address as it goes on a shipment and a recall notice, one part per line."""
    town = " ".join(part for part in (customer.postal_code, customer.city) if part)
    parts = (customer.street, town, customer.region, customer.country)
    return "\n".join(part for part in parts if part)


class CustomerService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(self) -> list[CustomerOut]:
        async with self.db.sessions() as session:
            rows = (await session.scalars(select(Customer).order_by(Customer.code))).all()
        return [customer_out(c) for c in rows]

    async def get(self, code: str) -> CustomerOut:
        async with self.db.sessions() as session:
            return customer_out(await _customer(session, code))

    async def create(self, data: CustomerIn) -> CustomerOut:
        async with self.db.sessions.begin() as session:
            if await session.scalar(select(Customer.id).where(Customer.code == data.code)):
                raise ConflictError(f"customer {data.code!r} already exists", field="code")
            customer = Customer(**msgspec.structs.asdict(data))
            session.add(customer)
            await session.flush()
            await session.refresh(customer)
        return customer_out(customer)

    async def update(self, code: str, patch: CustomerPatch) -> CustomerOut:
        async with self.db.sessions.begin() as session:
            customer = await _customer(session, code)
            for name, value in msgspec.structs.asdict(patch).items():
                if value is not msgspec.UNSET:
                    setattr(customer, name, value)
        return customer_out(customer)

    async def delete(self, code: str) -> None:
        try:
            async with self.db.sessions.begin() as session:
                await session.delete(await _customer(session, code))
        except IntegrityError as exc:
            raise ConflictError(
                f"customer {code!r} has shipments and cannot be deleted", field="code"
            ) from exc


async def _customer(session: AsyncSession, code: str) -> Customer:
    customer = await session.scalar(select(Customer).where(Customer.code == code))
    if customer is None:
        raise NotFoundError("customer", "code", code)
    return customer
