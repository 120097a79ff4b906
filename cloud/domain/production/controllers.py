"""HTTP routes of work orders."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from cloud.domain.production.schemas import WorkOrderIn, WorkOrderOut, WorkOrderPatch
from cloud.domain.production.services import WorkOrderService


class WorkOrderController(Controller):
    path = "/api/work-orders"
    tags = ("work orders",)

    @get("/")
    async def list_work_orders(
        self,
        work_order_service: NamedDependency[WorkOrderService],
        status: FromQuery[str | None] = None,
    ) -> list[WorkOrderOut]:
        return await work_order_service.list(status=status)

    @post("/")
    async def create_work_order(
        self, work_order_service: NamedDependency[WorkOrderService], data: JSONBody[WorkOrderIn]
    ) -> WorkOrderOut:
        return await work_order_service.create(data)

    @get("/{number:str}")
    async def get_work_order(
        self, work_order_service: NamedDependency[WorkOrderService], number: FromPath[str]
    ) -> WorkOrderOut:
        return await work_order_service.get(number)

    @patch("/{number:str}")
    async def update_work_order(
        self,
        work_order_service: NamedDependency[WorkOrderService],
        number: FromPath[str],
        data: JSONBody[WorkOrderPatch],
    ) -> WorkOrderOut:
        return await work_order_service.update(number, data)

    @delete("/{number:str}")
    async def delete_work_order(
        self, work_order_service: NamedDependency[WorkOrderService], number: FromPath[str]
    ) -> None:
        await work_order_service.delete(number)

    @post("/{number:str}/activate")
    async def activate_work_order(
        self, work_order_service: NamedDependency[WorkOrderService], number: FromPath[str]
    ) -> WorkOrderOut:
        """Make it the line's current order and send `cmd/workorder` to the line's edges."""
        return await work_order_service.activate(number)

    @post("/{number:str}/close")
    async def close_work_order(
        self, work_order_service: NamedDependency[WorkOrderService], number: FromPath[str]
    ) -> WorkOrderOut:
        return await work_order_service.close(number)
