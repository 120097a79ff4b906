"""Holds: the filtered list, one hold with its signed dispositions, and signing a new one
through the e-signature flow of `DispositionService.decide` (password entered again)."""

from __future__ import annotations

import json
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from cloud.domain.auth.controllers import principal_of
from cloud.domain.errors import DomainError
from cloud.domain.holds.services import HoldService
from cloud.domain.signatures.dispositions import DispositionService
from cloud.domain.signatures.meanings import DISPOSITION_MEANINGS
from cloud.domain.signatures.schemas import DispositionIn
from cloud.domain.signatures.services import SignatureService
from cloud.domain.trace.labels import udi_text
from cloud.web.forms import read_form, text
from cloud.web.holdboard import HoldBoard
from cloud.web.render import lot_link, page, unit_link
from cloud.web.session import PREFIX
from cloud.web.validation import convert_form

DECISIONS = ("release", "scrap", "rework", "quarantine")


class HoldPagesController(Controller):
    path = PREFIX
    tags = ("console",)

    @get("/holds")
    async def holds(
        self,
        request: Request[Any, Any, Any],
        hold_board: NamedDependency[HoldBoard],
        status: FromQuery[str] = "open",
        line: FromQuery[str] = "",
        checkpoint: FromQuery[str] = "",
        reason: FromQuery[str] = "",
    ) -> Response[str]:
        view = await hold_board.holds(
            status=status if status in ("open", "closed") else None,
            line=line,
            checkpoint=checkpoint,
            reason=reason,
        )
        return page(
            request,
            "holds.html",
            active="holds",
            view=view,
            chosen={"status": status, "line": line, "checkpoint": checkpoint, "reason": reason},
        )

    @get("/holds/{hold_id:str}")
    async def hold(
        self,
        request: Request[Any, Any, Any],
        hold_service: NamedDependency[HoldService],
        disposition_service: NamedDependency[DispositionService],
        hold_id: FromPath[str],
    ) -> Response[str]:
        return await _hold_page(request, hold_service, disposition_service, hold_id)

    @post("/holds/{hold_id:str}/dispositions", status_code=303)
    async def sign(
        self,
        request: Request[Any, Any, Any],
        hold_service: NamedDependency[HoldService],
        disposition_service: NamedDependency[DispositionService],
        hold_id: FromPath[str],
    ) -> Response[Any]:
        """Release, scrap, rework or quarantine, signed (21 CFR 11.50, 11.200)."""
        form = await read_form(request)
        fields = {k: text(form, k) for k in ("decision", "meaning", "reason", "username")} | {
            "password": form.get("password") or ""
        }
        try:
            data = convert_form(fields, DispositionIn)
            result = await disposition_service.decide(principal_of(request), hold_id, data)
        except DomainError as exc:
            return await _hold_page(
                request,
                hold_service,
                disposition_service,
                hold_id,
                error=exc.message,
                status_code=exc.status_code,
                entered={k: v for k, v in fields.items() if k != "password"},
            )
        return Redirect(
            f"{PREFIX}/holds/{hold_id}?signed={result.disposition.disposition_id}",
            status_code=303,
        )

    @get("/signatures/{signature_id:int}")
    async def signature(
        self,
        request: Request[Any, Any, Any],
        signature_service: NamedDependency[SignatureService],
        signature_id: FromPath[int],
    ) -> Response[str]:
        """A signature, what was signed, and whether it still matches its hash."""
        record = await signature_service.get(signature_id)
        content = json.dumps(json.loads(bytes(record.content)), indent=2, ensure_ascii=False)
        return page(request, "signature.html", active="holds", s=record, content=content)


async def _hold_page(
    request: Request[Any, Any, Any],
    hold_service: HoldService,
    disposition_service: DispositionService,
    hold_id: str,
    *,
    error: str = "",
    status_code: int = 200,
    entered: dict[str, str] | None = None,
) -> Response[str]:
    hold = await hold_service.get(hold_id)
    summary = await disposition_service.list(hold_id)
    subject = (
        unit_link(udi_text(hold.di, serial=hold.serial, lot=hold.lot))
        if hold.scope == "unit"
        else lot_link(hold.di, hold.lot or "")
    )
    signed = request.query_params.get("signed", "")
    return page(
        request,
        "hold.html",
        status_code=status_code,
        active="holds",
        hold=hold,
        summary=summary,
        subject=subject,
        decisions=DECISIONS,
        meanings=json.dumps(DISPOSITION_MEANINGS),
        error=error,
        signed=signed,
        entered=entered or {},
    )
