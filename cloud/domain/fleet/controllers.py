"""HTTP route of the agents' status."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from cloud.domain.fleet.queries import FleetStatusService
from cloud.domain.fleet.schemas import FleetStatusOut


class FleetController(Controller):
    path = "/api"
    tags = ("plant",)

    @get("/devices/status")
    async def device_status(
        self,
        fleet_status: NamedDependency[FleetStatusService],
        site: FromQuery[str | None] = None,
        line: FromQuery[str | None] = None,
    ) -> FleetStatusOut:
        """Each registered edge agent: online, silent, offline or unknown, with its links,
        outbox figures and config hash as its last `device.status` reported them."""
        return await fleet_status.snapshot(site=site, line=line)
