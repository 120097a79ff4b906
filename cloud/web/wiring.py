"""What the console adds to the app: its router (pages, their error pages, its services) and
the middleware that reads the session cookie. `create_app` calls `console_parts(runtime)`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar import Router
from litestar.di import Provide
from litestar.middleware import DefineMiddleware

if TYPE_CHECKING:
    from cloud.runtime import Runtime


@dataclass(frozen=True)
class ConsoleParts:
    router: Router
    middleware: DefineMiddleware
    """Goes before the auth middleware: it turns the cookie into the bearer header."""


def console_parts(rt: Runtime) -> ConsoleParts:
    from cloud.domain.auth.services import AuthService
    from cloud.domain.quality.services import QualityService
    from cloud.domain.recall.services import RecallService
    from cloud.domain.signatures.services import SignatureService
    from cloud.domain.trace.services import TraceService
    from cloud.web.controllers.access import AccessController
    from cloud.web.controllers.holds import HoldPagesController
    from cloud.web.controllers.insight import InsightController
    from cloud.web.controllers.recalls import RecallPagesController
    from cloud.web.controllers.trace import TraceController
    from cloud.web.errors import EXCEPTION_HANDLERS
    from cloud.web.finder import Finder
    from cloud.web.genealogy import GenealogyService
    from cloud.web.holdboard import HoldBoard
    from cloud.web.kpi import KpiService
    from cloud.web.lines import LineStatus
    from cloud.web.recall_view import cockpit_for
    from cloud.web.session import ConsoleSessionMiddleware

    def provide(value: Any) -> Provide:
        return Provide(lambda: value, sync_to_thread=False)

    trace = TraceService(rt.db)
    # The KPIs only read through these (no signing, no command): instances of their own.
    signatures = SignatureService(rt.db, AuthService(rt.db))
    recalls = RecallService(rt.db, signatures, rt.commands, rt.settings)

    router = Router(
        path="/",
        route_handlers=[
            AccessController,
            TraceController,
            HoldPagesController,
            RecallPagesController,
            InsightController,
        ],
        dependencies={
            "finder": provide(Finder(rt.db, trace)),
            "genealogy_service": provide(GenealogyService(rt.db, trace)),
            "hold_board": provide(HoldBoard(rt.db)),
            "line_status": provide(LineStatus(rt.db, rt.fleet_status())),
            "kpi_service": provide(
                KpiService(rt.db, trace, recalls, QualityService(rt.db, signatures))
            ),
            # Built per request from the app's own recall service (a dependency of its own).
            "recall_cockpit": Provide(cockpit_for, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
    return ConsoleParts(router=router, middleware=DefineMiddleware(ConsoleSessionMiddleware))
