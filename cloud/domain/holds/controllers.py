"""HTTP routes of holds."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from cloud.domain.holds.schemas import HoldIn, HoldOut
from cloud.domain.holds.services import HoldService


class HoldController(Controller):
    path = "/api/holds"
    tags = ("holds",)

    @get("/")
    async def list_holds(
        self, hold_service: NamedDependency[HoldService], status: FromQuery[str | None] = None
    ) -> list[HoldOut]:
        return await hold_service.list(status=status)

    @post("/")
    async def place_hold(
        self, hold_service: NamedDependency[HoldService], data: JSONBody[HoldIn]
    ) -> HoldOut:
        """Hold a unit or a lot and send `cmd/hold` to the edges so the line stops it."""
        return await hold_service.place(data)

    @get("/{hold_id:str}")
    async def get_hold(
        self, hold_service: NamedDependency[HoldService], hold_id: FromPath[str]
    ) -> HoldOut:
        return await hold_service.get(hold_id)
