"""HTTP routes of the plant: sites, lines, checkpoints and devices."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from cloud.domain.plant.schemas import (
    CheckpointIn,
    CheckpointOut,
    DeviceIn,
    DeviceOut,
    LineIn,
    LineOut,
    SiteIn,
    SiteOut,
)
from cloud.domain.plant.services import PlantService


class PlantController(Controller):
    path = "/api"
    tags = ("plant",)

    @get("/sites")
    async def list_sites(self, plant_service: NamedDependency[PlantService]) -> list[SiteOut]:
        return await plant_service.list_sites()

    @post("/sites")
    async def create_site(
        self, plant_service: NamedDependency[PlantService], data: JSONBody[SiteIn]
    ) -> SiteOut:
        return await plant_service.create_site(data)

    @post("/sites/{site:str}/lines")
    async def create_line(
        self,
        plant_service: NamedDependency[PlantService],
        site: FromPath[str],
        data: JSONBody[LineIn],
    ) -> LineOut:
        return await plant_service.create_line(site, data)

    @post("/sites/{site:str}/lines/{line:str}/checkpoints")
    async def create_checkpoint(
        self,
        plant_service: NamedDependency[PlantService],
        site: FromPath[str],
        line: FromPath[str],
        data: JSONBody[CheckpointIn],
    ) -> CheckpointOut:
        return await plant_service.create_checkpoint(site, line, data)

    @get("/devices")
    async def list_devices(self, plant_service: NamedDependency[PlantService]) -> list[DeviceOut]:
        return await plant_service.list_devices()

    @post("/devices")
    async def register_device(
        self, plant_service: NamedDependency[PlantService], data: JSONBody[DeviceIn]
    ) -> DeviceOut:
        return await plant_service.register_device(data)
