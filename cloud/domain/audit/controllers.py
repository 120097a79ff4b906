"""HTTP routes of the audit trail: entries, verification and the inspector's export."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from cloud.domain.audit.schemas import AuditEntryOut, AuditExport, VerifyReport
from cloud.domain.audit.services import AuditService


class AuditController(Controller):
    path = "/api/audit"
    tags = ("audit",)

    @get("/entries")
    async def list_entries(
        self,
        audit_service: NamedDependency[AuditService],
        record_type: FromQuery[str | None] = None,
        record_id: FromQuery[str | None] = None,
        after_seq: Annotated[int, QueryParameter(ge=0)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 100,
    ) -> list[AuditEntryOut]:
        return await audit_service.entries(
            record_type=record_type, record_id=record_id, after_seq=after_seq, limit=limit
        )

    @get("/verify", cache=False)
    async def verify(
        self,
        audit_service: NamedDependency[AuditService],
        devices: FromQuery[bool] = True,
        device_id: FromQuery[str | None] = None,
    ) -> VerifyReport:
        """Walk the audit chain and the device event chains; name what was altered,
        removed or reordered."""
        return await audit_service.verify(devices=devices, device_id=device_id)

    @get("/export", cache=False)
    async def export(
        self,
        audit_service: NamedDependency[AuditService],
        format: FromQuery[Literal["json", "csv"]] = "json",
    ) -> Response[AuditExport] | Response[str]:
        """The whole chain with its hashes and head, as JSON or CSV."""
        if format == "csv":
            return Response(
                await audit_service.export_csv(),
                media_type="text/csv",
                headers={"Content-Disposition": 'attachment; filename="audit-trail.csv"'},
            )
        return Response(await audit_service.export())
