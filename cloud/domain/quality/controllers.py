"""HTTP routes of nonconformances and CAPAs."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from cloud.domain.auth.controllers import principal_of
from cloud.domain.quality.schemas import (
    CapaIn,
    CapaOut,
    HoldLinkIn,
    NonconformanceIn,
    NonconformanceOut,
)
from cloud.domain.quality.services import QualityService
from cloud.domain.signatures.schemas import SignIn


class NonconformanceController(Controller):
    path = "/api/nonconformances"
    tags = ("quality",)

    @get("/")
    async def list_nonconformances(
        self, quality_service: NamedDependency[QualityService], status: FromQuery[str | None] = None
    ) -> list[NonconformanceOut]:
        return await quality_service.nonconformances(status=status)

    @post("/")
    async def open_nonconformance(
        self,
        request: Request[Any, Any, Any],
        quality_service: NamedDependency[QualityService],
        data: JSONBody[NonconformanceIn],
    ) -> NonconformanceOut:
        return await quality_service.open_nonconformance(principal_of(request), data)

    @get("/{number:str}")
    async def get_nonconformance(
        self, quality_service: NamedDependency[QualityService], number: FromPath[str]
    ) -> NonconformanceOut:
        return await quality_service.nonconformance(number)

    @post("/{number:str}/holds")
    async def link_hold(
        self,
        request: Request[Any, Any, Any],
        quality_service: NamedDependency[QualityService],
        number: FromPath[str],
        data: JSONBody[HoldLinkIn],
    ) -> NonconformanceOut:
        return await quality_service.link_hold(principal_of(request), number, data.hold_id)

    @post("/{number:str}/close", status_code=200)
    async def close_nonconformance(
        self,
        request: Request[Any, Any, Any],
        quality_service: NamedDependency[QualityService],
        number: FromPath[str],
        data: JSONBody[SignIn],
    ) -> NonconformanceOut:
        """Close, signed (meaning "reviewed and closed" or "approved")."""
        return await quality_service.close_nonconformance(principal_of(request), number, data)


class CapaController(Controller):
    path = "/api/capas"
    tags = ("quality",)

    @get("/")
    async def list_capas(self, quality_service: NamedDependency[QualityService]) -> list[CapaOut]:
        return await quality_service.capas()

    @post("/")
    async def open_capa(
        self,
        request: Request[Any, Any, Any],
        quality_service: NamedDependency[QualityService],
        data: JSONBody[CapaIn],
    ) -> CapaOut:
        return await quality_service.open_capa(principal_of(request), data)

    @get("/{number:str}")
    async def get_capa(
        self, quality_service: NamedDependency[QualityService], number: FromPath[str]
    ) -> CapaOut:
        return await quality_service.capa(number)

    @post("/{number:str}/close", status_code=200)
    async def close_capa(
        self,
        request: Request[Any, Any, Any],
        quality_service: NamedDependency[QualityService],
        number: FromPath[str],
        data: JSONBody[SignIn],
    ) -> CapaOut:
        """Close, signed; every linked nonconformance must be closed first."""
        return await quality_service.close_capa(principal_of(request), number, data)
