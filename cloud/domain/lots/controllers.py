"""HTTP routes of lots: incoming inspection's verdict, and transformations."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from cloud.domain.lots.schemas import LotVerdictIn, LotVerdictOut, TransformIn, TransformOut
from cloud.domain.lots.services import LotService


class LotController(Controller):
    path = "/api/lots"
    tags = ("lots",)

    @post("/{di:str}/{lot:str}/accept", status_code=200)
    async def accept_lot(
        self,
        lot_service: NamedDependency[LotService],
        di: FromPath[str],
        lot: FromPath[str],
        data: JSONBody[LotVerdictIn],
    ) -> LotVerdictOut:
        """Release a received lot from incoming quarantine and send `cmd/lotinspection`."""
        return await lot_service.verdict(di, lot, data, accepted=True)

    @post("/{di:str}/{lot:str}/reject", status_code=200)
    async def reject_lot(
        self,
        lot_service: NamedDependency[LotService],
        di: FromPath[str],
        lot: FromPath[str],
        data: JSONBody[LotVerdictIn],
    ) -> LotVerdictOut:
        """Reject a received lot: assembly refuses to load it."""
        return await lot_service.verdict(di, lot, data, accepted=False)

    @post("/transform")
    async def transform_lots(
        self, lot_service: NamedDependency[LotService], data: JSONBody[TransformIn]
    ) -> TransformOut:
        """Record a split, merge or rework as `lot.transformed` (genealogy lot to lot)."""
        return await lot_service.transform(data)
