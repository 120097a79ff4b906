"""HTTP routes of recalls."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from cloud.domain.auth.controllers import principal_of
from cloud.domain.recall.exports import recipients_csv, units_csv
from cloud.domain.recall.schemas import (
    AcknowledgementIn,
    Impact,
    ImpactUnit,
    Notice,
    NoticeIn,
    RecallCloseIn,
    RecallIn,
    RecallOut,
    RecallScope,
    RecipientOut,
    SnapshotCheck,
)
from cloud.domain.recall.services import RecallService

Format = Literal["json", "csv"]


def _csv(text: str, filename: str) -> Response[str]:
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class RecallController(Controller):
    path = "/api/recalls"
    tags = ("recalls",)

    @get("/")
    async def list_recalls(self, recall_service: NamedDependency[RecallService]) -> list[RecallOut]:
        return await recall_service.list_recalls()

    @post("/preview", status_code=200)
    async def preview(
        self, recall_service: NamedDependency[RecallService], data: JSONBody[RecallScope]
    ) -> Impact:
        """What a scope would recall: units by stage, containers, recipients, regions."""
        return await recall_service.preview(data)

    @post("/")
    async def create_recall(
        self,
        request: Request[Any, Any, Any],
        recall_service: NamedDependency[RecallService],
        data: JSONBody[RecallIn],
    ) -> RecallOut:
        """Freeze the affected units and recipients (hashed) and hold the in-house units at
        the line (`cmd/hold`); `mode: mock` runs and times the same steps, holding nothing."""
        return await recall_service.create(principal_of(request), data)

    @get("/{number:str}")
    async def get_recall(
        self, recall_service: NamedDependency[RecallService], number: FromPath[str]
    ) -> RecallOut:
        return await recall_service.get(number)

    @get("/{number:str}/units")
    async def recall_units(
        self,
        recall_service: NamedDependency[RecallService],
        number: FromPath[str],
        format: FromQuery[Format] = "json",
    ) -> Response[list[ImpactUnit]] | Response[str]:
        units = await recall_service.units(number)
        if format == "csv":
            return _csv(units_csv(units), f"{number}-units.csv")
        return Response(units)

    @get("/{number:str}/recipients")
    async def recall_recipients(
        self,
        recall_service: NamedDependency[RecallService],
        number: FromPath[str],
        format: FromQuery[Format] = "json",
    ) -> Response[list[RecipientOut]] | Response[str]:
        """The consignee list with name, address, ship date, quantity and UDIs (806.10)."""
        recipients = await recall_service.recipients(number)
        if format == "csv":
            return _csv(recipients_csv(recipients), f"{number}-recipients.csv")
        return Response(recipients)

    @get("/{number:str}/verify", cache=False)
    async def verify_snapshot(
        self, recall_service: NamedDependency[RecallService], number: FromPath[str]
    ) -> SnapshotCheck:
        """Recompute the snapshot's hash from the stored lists."""
        return await recall_service.verify(number)

    @post("/{number:str}/notices", status_code=200)
    async def send_notices(
        self,
        request: Request[Any, Any, Any],
        recall_service: NamedDependency[RecallService],
        number: FromPath[str],
        data: JSONBody[NoticeIn],
    ) -> list[Notice]:
        """Mark recipients notified and return their notices."""
        return await recall_service.notify(principal_of(request), number, data)

    @post("/{number:str}/recipients/{recipient_id:int}/acknowledge", status_code=200)
    async def acknowledge(
        self,
        recall_service: NamedDependency[RecallService],
        number: FromPath[str],
        recipient_id: FromPath[int],
        data: JSONBody[AcknowledgementIn],
    ) -> RecipientOut:
        return await recall_service.acknowledge(number, recipient_id, data)

    @post("/{number:str}/close", status_code=200)
    async def close_recall(
        self,
        request: Request[Any, Any, Any],
        recall_service: NamedDependency[RecallService],
        number: FromPath[str],
        data: JSONBody[RecallCloseIn],
    ) -> RecallOut:
        """Close, signed ("recall completed" or "recall terminated")."""
        return await recall_service.close(principal_of(request), number, data)
