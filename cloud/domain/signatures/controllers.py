"""HTTP routes of dispositions (signed) and of signatures."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from cloud.domain.auth.controllers import principal_of
from cloud.domain.signatures.dispositions import DispositionService
from cloud.domain.signatures.schemas import DispositionIn, DispositionResult, SignedRecord
from cloud.domain.signatures.services import SignatureService
from cloud.domain.trace.schemas import HoldSummary


class DispositionController(Controller):
    path = "/api/holds/{hold_id:str}/dispositions"
    tags = ("holds",)

    @get("/")
    async def list_dispositions(
        self, disposition_service: NamedDependency[DispositionService], hold_id: FromPath[str]
    ) -> HoldSummary:
        """The hold with its dispositions, each shown with its signature."""
        return await disposition_service.list(hold_id)

    @post("/")
    async def decide(
        self,
        request: Request[Any, Any, Any],
        disposition_service: NamedDependency[DispositionService],
        hold_id: FromPath[str],
        data: JSONBody[DispositionIn],
    ) -> DispositionResult:
        """Release, scrap, rework or quarantine: signed with the re-entered password, a
        meaning and a reason (21 CFR 11.50, 11.200)."""
        return await disposition_service.decide(principal_of(request), hold_id, data)


class SignatureController(Controller):
    path = "/api/signatures"
    tags = ("holds",)

    @get("/{signature_id:int}")
    async def get_signature(
        self, signature_service: NamedDependency[SignatureService], signature_id: FromPath[int]
    ) -> SignedRecord:
        """A signature, what was signed, and whether it still matches the signed hash."""
        return await signature_service.get(signature_id)
