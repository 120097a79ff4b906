"""The recall cockpit: build a scope and see its impact, freeze it (which quarantines the
in-house units), record notices and acknowledgements, watch returns and effectiveness,
export the frozen lists as CSV, close with a signature. Every step is `RecallService`'s."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from cloud.domain.auth.controllers import principal_of
from cloud.domain.errors import DomainError
from cloud.domain.recall.exports import recipients_csv, units_csv
from cloud.domain.recall.schemas import AcknowledgementIn, Impact, NoticeIn, RecallCloseIn
from cloud.domain.recall.services import RecallService
from cloud.domain.signatures.meanings import RECALL_CLOSE_MEANINGS
from cloud.web.forms import read_form, text
from cloud.web.recall_form import FIELDS, ScopeForm, recall_from, scope_from
from cloud.web.recall_view import RecallCockpit
from cloud.web.render import page
from cloud.web.session import PREFIX
from cloud.web.validation import convert_form


def _csv(body: str, filename: str) -> Response[str]:
    return Response(
        body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class RecallPagesController(Controller):
    path = PREFIX
    tags = ("console",)

    @get("/recalls")
    async def recalls(
        self,
        request: Request[Any, Any, Any],
        recall_service: NamedDependency[RecallService],
        lots: FromQuery[str] = "",
    ) -> Response[str]:
        return await _scope_page(request, recall_service, ScopeForm({"lots": lots}))

    @post("/recalls/preview", status_code=200)
    async def preview(
        self, request: Request[Any, Any, Any], recall_service: NamedDependency[RecallService]
    ) -> Response[str]:
        """The impact of the scope as typed: nothing is recorded."""
        form = await _scope_form(request)
        try:
            impact = await recall_service.preview(scope_from(form))
        except DomainError as exc:
            return await _scope_page(
                request, recall_service, form, error=exc.message, status_code=exc.status_code
            )
        return await _scope_page(request, recall_service, form, impact=impact)

    @post("/recalls", status_code=303)
    async def create(
        self, request: Request[Any, Any, Any], recall_service: NamedDependency[RecallService]
    ) -> Response[Any]:
        """Freeze the scope's units and recipients (hashed) and hold the in-house units."""
        form = await _scope_form(request)
        try:
            created = await recall_service.create(principal_of(request), recall_from(form))
        except DomainError as exc:
            return await _scope_page(
                request, recall_service, form, error=exc.message, status_code=exc.status_code
            )
        return Redirect(f"{PREFIX}/recalls/{created.number}", status_code=303)

    @get("/recalls/{number:str}")
    async def cockpit(
        self,
        request: Request[Any, Any, Any],
        recall_cockpit: NamedDependency[RecallCockpit],
        recall_service: NamedDependency[RecallService],
        number: FromPath[str],
    ) -> Response[str]:
        return await _cockpit(request, recall_cockpit, recall_service, number)

    @get("/recalls/{number:str}/units.csv")
    async def units_export(
        self, recall_service: NamedDependency[RecallService], number: FromPath[str]
    ) -> Response[str]:
        return _csv(units_csv(await recall_service.units(number)), f"{number}-units.csv")

    @get("/recalls/{number:str}/recipients.csv")
    async def recipients_export(
        self, recall_service: NamedDependency[RecallService], number: FromPath[str]
    ) -> Response[str]:
        recipients = await recall_service.recipients(number)
        return _csv(recipients_csv(recipients), f"{number}-recipients.csv")

    @post("/recalls/{number:str}/notices", status_code=303)
    async def notify(
        self,
        request: Request[Any, Any, Any],
        recall_cockpit: NamedDependency[RecallCockpit],
        recall_service: NamedDependency[RecallService],
        number: FromPath[str],
    ) -> Response[Any]:
        """Mark the chosen recipient (or every one not yet notified) notified."""
        form = await read_form(request)
        chosen = text(form, "recipient")
        try:
            ids = [int(chosen)] if chosen else []
            notices = await recall_service.notify(
                principal_of(request), number, NoticeIn(recipients=ids)
            )
        except (DomainError, ValueError) as exc:
            message = exc.message if isinstance(exc, DomainError) else f"recipient: {exc}"
            return await _cockpit(
                request, recall_cockpit, recall_service, number, error=message, status_code=422
            )
        return await _cockpit(request, recall_cockpit, recall_service, number, notices=notices)

    @post("/recalls/{number:str}/recipients/{recipient_id:int}/acknowledge", status_code=303)
    async def acknowledge(
        self,
        request: Request[Any, Any, Any],
        recall_cockpit: NamedDependency[RecallCockpit],
        recall_service: NamedDependency[RecallService],
        number: FromPath[str],
        recipient_id: FromPath[int],
    ) -> Response[Any]:
        form = await read_form(request)
        try:
            data = convert_form(
                {"acknowledged_by": text(form, "acknowledged_by"), "note": text(form, "note")},
                AcknowledgementIn,
            )
            await recall_service.acknowledge(number, recipient_id, data)
        except DomainError as exc:
            return await _cockpit(
                request,
                recall_cockpit,
                recall_service,
                number,
                error=exc.message,
                status_code=exc.status_code,
            )
        return Redirect(f"{PREFIX}/recalls/{number}#recipients", status_code=303)

    @post("/recalls/{number:str}/close", status_code=303)
    async def close(
        self,
        request: Request[Any, Any, Any],
        recall_cockpit: NamedDependency[RecallCockpit],
        recall_service: NamedDependency[RecallService],
        number: FromPath[str],
    ) -> Response[Any]:
        """Close, signed ("recall completed" or "recall terminated")."""
        form = await read_form(request)
        fields = {k: text(form, k) for k in ("meaning", "reason", "username")}
        try:
            data = convert_form(fields | {"password": form.get("password") or ""}, RecallCloseIn)
            await recall_service.close(principal_of(request), number, data)
        except DomainError as exc:
            return await _cockpit(
                request,
                recall_cockpit,
                recall_service,
                number,
                error=exc.message,
                status_code=exc.status_code,
            )
        return Redirect(f"{PREFIX}/recalls/{number}", status_code=303)


async def _scope_form(request: Request[Any, Any, Any]) -> ScopeForm:
    form = await read_form(request)
    return ScopeForm({name: text(form, name) for name in FIELDS})


async def _scope_page(
    request: Request[Any, Any, Any],
    recall_service: RecallService,
    form: ScopeForm,
    *,
    impact: Impact | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response[str]:
    return page(
        request,
        "recalls.html",
        status_code=status_code,
        active="recalls",
        recalls=await recall_service.list_recalls(),
        form=form,
        impact=impact,
        error=error,
    )


async def _cockpit(
    request: Request[Any, Any, Any],
    recall_cockpit: RecallCockpit,
    recall_service: RecallService,
    number: str,
    *,
    error: str = "",
    status_code: int = 200,
    notices: list[Any] | None = None,
) -> Response[str]:
    view = await recall_cockpit.view(number)
    check = await recall_service.verify(number)
    return page(
        request,
        "recall.html",
        status_code=status_code,
        active="recalls",
        v=view,
        r=view.recall,
        check=check,
        error=error,
        notices=notices or [],
        close_meanings=RECALL_CLOSE_MEANINGS,
    )
