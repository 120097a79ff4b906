"""HTTP routes of shipments."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post

from cloud.domain.shipments.schemas import AnnounceIn, ShipmentIn, ShipmentOut, ShipmentPatch
from cloud.domain.shipments.services import ShipmentService


class ShipmentController(Controller):
    path = "/api/shipments"
    tags = ("shipments",)

    @get("/")
    async def list_shipments(self, shipment_service: ShipmentService) -> list[ShipmentOut]:
        return await shipment_service.list()

    @post("/")
    async def create_shipment(
        self, shipment_service: ShipmentService, data: ShipmentIn
    ) -> ShipmentOut:
        return await shipment_service.create(data)

    @get("/{number:str}")
    async def get_shipment(self, shipment_service: ShipmentService, number: str) -> ShipmentOut:
        return await shipment_service.get(number)

    @patch("/{number:str}")
    async def update_shipment(
        self, shipment_service: ShipmentService, number: str, data: ShipmentPatch
    ) -> ShipmentOut:
        return await shipment_service.update(number, data)

    @delete("/{number:str}")
    async def delete_shipment(self, shipment_service: ShipmentService, number: str) -> None:
        await shipment_service.delete(number)

    @post("/{number:str}/announce")
    async def announce_shipment(
        self, shipment_service: ShipmentService, number: str, data: AnnounceIn
    ) -> ShipmentOut:
        """Send `cmd/shipment` to the shipping checkpoint."""
        return await shipment_service.announce(number, data)
