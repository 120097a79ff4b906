"""HTTP routes of shipments."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from cloud.domain.shipments.schemas import AnnounceIn, ShipmentIn, ShipmentOut, ShipmentPatch
from cloud.domain.shipments.services import ShipmentService


class ShipmentController(Controller):
    path = "/api/shipments"
    tags = ("shipments",)

    @get("/")
    async def list_shipments(
        self, shipment_service: NamedDependency[ShipmentService]
    ) -> list[ShipmentOut]:
        return await shipment_service.list()

    @post("/")
    async def create_shipment(
        self, shipment_service: NamedDependency[ShipmentService], data: JSONBody[ShipmentIn]
    ) -> ShipmentOut:
        return await shipment_service.create(data)

    @get("/{number:str}")
    async def get_shipment(
        self, shipment_service: NamedDependency[ShipmentService], number: FromPath[str]
    ) -> ShipmentOut:
        return await shipment_service.get(number)

    @patch("/{number:str}")
    async def update_shipment(
        self,
        shipment_service: NamedDependency[ShipmentService],
        number: FromPath[str],
        data: JSONBody[ShipmentPatch],
    ) -> ShipmentOut:
        return await shipment_service.update(number, data)

    @delete("/{number:str}")
    async def delete_shipment(
        self, shipment_service: NamedDependency[ShipmentService], number: FromPath[str]
    ) -> None:
        await shipment_service.delete(number)

    @post("/{number:str}/announce")
    async def announce_shipment(
        self,
        shipment_service: NamedDependency[ShipmentService],
        number: FromPath[str],
        data: JSONBody[AnnounceIn],
    ) -> ShipmentOut:
        """Send `cmd/shipment` to the shipping checkpoint."""
        return await shipment_service.announce(number, data)
