"""HTTP routes of customers."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from cloud.domain.customers.schemas import CustomerIn, CustomerOut, CustomerPatch
from cloud.domain.customers.services import CustomerService


class CustomerController(Controller):
    path = "/api/customers"
    tags = ("customers",)

    @get("/")
    async def list_customers(
        self, customer_service: NamedDependency[CustomerService]
    ) -> list[CustomerOut]:
        return await customer_service.list()

    @post("/")
    async def create_customer(
        self, customer_service: NamedDependency[CustomerService], data: JSONBody[CustomerIn]
    ) -> CustomerOut:
        return await customer_service.create(data)

    @get("/{code:str}")
    async def get_customer(
        self, customer_service: NamedDependency[CustomerService], code: FromPath[str]
    ) -> CustomerOut:
        return await customer_service.get(code)

    @patch("/{code:str}")
    async def update_customer(
        self,
        customer_service: NamedDependency[CustomerService],
        code: FromPath[str],
        data: JSONBody[CustomerPatch],
    ) -> CustomerOut:
        return await customer_service.update(code, data)

    @delete("/{code:str}")
    async def delete_customer(
        self, customer_service: NamedDependency[CustomerService], code: FromPath[str]
    ) -> None:
        await customer_service.delete(code)
