"""HTTP routes of work orders."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post

from cloud.domain.production.schemas import WorkOrderIn, WorkOrderOut, WorkOrderPatch
from cloud.domain.production.services import WorkOrderService


class WorkOrderController(Controller):
    path = "/api/work-orders"
    tags = ("work orders",)

    @get("/")
    async def list_work_orders(
        self, work_order_service: WorkOrderService, status: str | None = None
    ) -> list[WorkOrderOut]:
        return await work_order_service.list(status=status)

    @post("/")
    async def create_work_order(
        self, work_order_service: WorkOrderService, data: WorkOrderIn
    ) -> WorkOrderOut:
        return await work_order_service.create(data)

    @get("/{number:str}")
    async def get_work_order(
        self, work_order_service: WorkOrderService, number: str
    ) -> WorkOrderOut:
        return await work_order_service.get(number)

    @patch("/{number:str}")
    async def update_work_order(
        self, work_order_service: WorkOrderService, number: str, data: WorkOrderPatch
    ) -> WorkOrderOut:
        return await work_order_service.update(number, data)

    @delete("/{number:str}")
    async def delete_work_order(self, work_order_service: WorkOrderService, number: str) -> None:
        await work_order_service.delete(number)

    @post("/{number:str}/activate")
    async def activate_work_order(
        self, work_order_service: WorkOrderService, number: str
    ) -> WorkOrderOut:
        """Make it the line's current order and send `cmd/workorder` to the line's edges."""
        return await work_order_service.activate(number)

    @post("/{number:str}/close")
    async def close_work_order(
        self, work_order_service: WorkOrderService, number: str
    ) -> WorkOrderOut:
        return await work_order_service.close(number)
