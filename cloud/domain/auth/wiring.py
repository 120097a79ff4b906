"""What issue 8 adds to the app: its routes, their services, and the guard on every route.

`create_app` calls `issue8_parts(runtime)` once; everything here is built from
the runtime passed in, nothing at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar.di import Provide
from litestar.middleware import DefineMiddleware

if TYPE_CHECKING:
    from cloud.runtime import Runtime


@dataclass(frozen=True)
class AppParts:
    route_handlers: list[Any]
    dependencies: dict[str, Provide]
    middleware: list[DefineMiddleware]
    guards: list[Any]


def issue8_parts(rt: Runtime) -> AppParts:
    from cloud.domain.audit import capture
    from cloud.domain.audit.controllers import AuditController
    from cloud.domain.audit.services import AuditService
    from cloud.domain.auth.controllers import (
        AuthController,
        DeviceCredentialController,
        UserController,
    )
    from cloud.domain.auth.middleware import AuthMiddleware, route_roles_guard
    from cloud.domain.auth.services import AuthService
    from cloud.domain.epcis.controllers import EpcisController
    from cloud.domain.epcis.services import EpcisService
    from cloud.domain.quality.controllers import CapaController, NonconformanceController
    from cloud.domain.quality.services import QualityService
    from cloud.domain.recall.controllers import RecallController
    from cloud.domain.recall.services import RecallService
    from cloud.domain.signatures.controllers import DispositionController, SignatureController
    from cloud.domain.signatures.dispositions import DispositionService
    from cloud.domain.signatures.services import SignatureService
    from cloud.domain.trace.controllers import TraceController, UnitController
    from cloud.domain.trace.services import TraceService

    capture.install()
    auth = AuthService(rt.db)
    signatures = SignatureService(rt.db, auth)

    def provide(value: Any) -> Provide:
        return Provide(lambda: value, sync_to_thread=False)

    return AppParts(
        route_handlers=[
            AuthController,
            UserController,
            DeviceCredentialController,
            AuditController,
            UnitController,
            TraceController,
            DispositionController,
            SignatureController,
            NonconformanceController,
            CapaController,
            RecallController,
            EpcisController,
        ],
        dependencies={
            "auth_service": provide(auth),
            "audit_service": provide(AuditService(rt.db)),
            "trace_service": provide(TraceService(rt.db)),
            "signature_service": provide(signatures),
            "disposition_service": provide(
                DispositionService(rt.db, signatures, rt.commands, rt.settings)
            ),
            "quality_service": provide(QualityService(rt.db, signatures)),
            "epcis_service": provide(EpcisService(rt.db)),
            "recall_service": provide(RecallService(rt.db, signatures, rt.commands, rt.settings)),
        },
        middleware=[DefineMiddleware(AuthMiddleware, auth=auth)],
        guards=[route_roles_guard],
    )
