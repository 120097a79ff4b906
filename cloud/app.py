"""`create_app(settings)`: the Litestar application, built from settings passed in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response
from litestar.di import Provide
from litestar.exceptions import ValidationException
from litestar.openapi import OpenAPIConfig

from cloud.domain.auth.wiring import issue8_parts
from cloud.domain.errors import DomainError
from cloud.runtime import Runtime
from cloud.settings import Settings
from cloud.web.wiring import console_parts


def create_app(settings: Settings, *, runtime: Runtime | None = None) -> Litestar:
    """The service; `runtime` may be passed in by tests that want to reach its parts."""
    from cloud.domain.catalog.controllers import CatalogController
    from cloud.domain.catalog.services import CatalogService
    from cloud.domain.customers.controllers import CustomerController
    from cloud.domain.customers.services import CustomerService
    from cloud.domain.events.controllers import EventController
    from cloud.domain.events.queries import EventQueryService
    from cloud.domain.fleet.controllers import FleetController
    from cloud.domain.holds.controllers import HoldController
    from cloud.domain.holds.services import HoldService
    from cloud.domain.lots.controllers import LotController
    from cloud.domain.lots.services import LotService
    from cloud.domain.plant.controllers import PlantController
    from cloud.domain.plant.services import PlantService
    from cloud.domain.production.controllers import WorkOrderController
    from cloud.domain.production.services import WorkOrderService
    from cloud.domain.shipments.controllers import ShipmentController
    from cloud.domain.shipments.services import ShipmentService
    from cloud.domain.system.controllers import HealthController

    rt = runtime or Runtime.build(settings)
    # Issue 8: its routes, and authentication + a role check on every route.
    issue8 = issue8_parts(rt)
    # Issue 10: the web console; its cookie middleware runs before the auth middleware.
    console = console_parts(rt)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await rt.start()
        try:
            yield
        finally:
            await rt.stop()

    lots = LotService(rt.db, rt.commands, rt.settings, rt.events)

    def provide(factory: Any) -> Provide:
        return Provide(lambda: factory(rt), sync_to_thread=False)

    return Litestar(
        route_handlers=[
            HealthController,
            PlantController,
            CatalogController,
            WorkOrderController,
            CustomerController,
            ShipmentController,
            HoldController,
            LotController,
            EventController,
            FleetController,
            *issue8.route_handlers,
            console.router,
        ],
        dependencies={
            "runtime": Provide(lambda: rt, sync_to_thread=False),
            "plant_service": provide(lambda r: PlantService(r.db)),
            "catalog_service": provide(lambda r: CatalogService(r.db)),
            "work_order_service": provide(lambda r: WorkOrderService(r.db, r.commands, r.settings)),
            "customer_service": provide(lambda r: CustomerService(r.db)),
            "shipment_service": provide(lambda r: ShipmentService(r.db, r.commands, r.settings)),
            "hold_service": provide(lambda r: HoldService(r.db, r.commands, r.settings)),
            # One instance: it orders the API's own lot.transformed chains.
            "lot_service": Provide(lambda: lots, sync_to_thread=False),
            "event_query_service": provide(lambda r: EventQueryService(r.db)),
            "fleet_status": Provide(lambda: rt.fleet_status(), sync_to_thread=False),
            **issue8.dependencies,
        },
        middleware=[console.middleware, *issue8.middleware],
        guards=issue8.guards,
        exception_handlers={
            DomainError: _domain_error,
            ValidationException: _validation_error,
        },
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="Tracegate cloud", version="1", path="/schema", use_handler_docstrings=True
        ),
        debug=False,
    )


def _domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"status_code": exc.status_code, "detail": exc.message}
    if exc.field is not None:
        body["extra"] = [{"key": exc.field, "message": exc.message}]
    return Response(body, status_code=exc.status_code)


def _validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    # 422: well-formed but invalid. Litestar reports body problems under the key
    # "data"; the field is inside msgspec's message, so it is moved into `key`.
    extra = [_name_field(item) for item in exc.extra] if isinstance(exc.extra, list) else exc.extra
    return Response({"status_code": 422, "detail": exc.detail, "extra": extra}, status_code=422)


_MISSING_FIELD = re.compile(r"missing required field `(?P<field>[^`]+)`")
_AT_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")


def _name_field(item: Any) -> Any:
    if not isinstance(item, dict) or item.get("key") != "data":
        return item
    message = str(item.get("message", ""))
    at = _AT_PATH.search(message)
    path = at["path"] if at else ""
    missing = _MISSING_FIELD.search(message)
    if missing:
        path = f"{path}.{missing['field']}" if path else missing["field"]
    return {**item, "key": path or "body"} if path or item.get("source") == "body" else item
