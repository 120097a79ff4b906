"""HTTP routes of trace: device history records, backward and forward traces."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from cloud.domain.errors import InvalidFieldError
from cloud.domain.trace.schemas import BackwardTrace, ForwardTrace, UnitHistory
from cloud.domain.trace.services import TraceService


class UnitController(Controller):
    path = "/api/units"
    tags = ("trace",)

    @get("/")
    async def find_unit(
        self,
        trace_service: NamedDependency[TraceService],
        di: FromQuery[str],
        serial: FromQuery[str | None] = None,
        lot: FromQuery[str | None] = None,
    ) -> UnitHistory:
        """A unit's device history record by DI and serial (or DI and lot, lot-controlled)."""
        if serial is None and lot is None:
            raise InvalidFieldError("serial", "give the unit's serial (or its lot), got neither")
        return await trace_service.history(f"{di}:{serial}" if serial else f"(01){di}(10){lot}")

    @get("/{unit_id:path}")
    async def get_unit(
        self, trace_service: NamedDependency[TraceService], unit_id: FromPath[str]
    ) -> UnitHistory:
        """The device history record. `unit_id`: a UDI in any form `tracegate udi parse`
        reads (URL-encoded; a GS may be written `\\x1d`), or `DI:SERIAL`."""
        return await trace_service.history(_path_id(unit_id))


class TraceController(Controller):
    path = "/api/trace"
    tags = ("trace",)

    @get("/backward/{unit_id:path}")
    async def backward(
        self, trace_service: NamedDependency[TraceService], unit_id: FromPath[str]
    ) -> BackwardTrace:
        """Everything that went into the unit, at every level, with each step's process data."""
        return await trace_service.backward(_path_id(unit_id))

    @get("/forward")
    async def forward(
        self,
        trace_service: NamedDependency[TraceService],
        di: FromQuery[str | None] = None,
        lot: FromQuery[str | None] = None,
        unit: FromQuery[str | None] = None,
    ) -> ForwardTrace:
        """Every unit that contains a lot (`di` + `lot`) or a component unit (`unit`), at any
        level, with its container, status and shipment recipient."""
        if unit is not None:
            if di is not None or lot is not None:
                raise InvalidFieldError("unit", "give either unit, or di and lot, not both")
            return await trace_service.forward_from_unit(unit)
        if di is None or lot is None:
            raise InvalidFieldError(
                "lot" if di else "di", "give di and lot (or unit), got only part of it"
            )
        return await trace_service.forward_from_lot(di, lot)


def _path_id(unit_id: str) -> str:
    """A `{unit_id:path}` parameter keeps the slash that starts it."""
    return unit_id.removeprefix("/")
