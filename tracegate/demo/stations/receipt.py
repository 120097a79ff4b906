"""Goods receipt: the supplier lots are scanned in at the bench (quarantined, as the plant
books them), then released by incoming inspection through the cloud's API, which sends the
verdict to the assembly station."""

from __future__ import annotations

import asyncio

from protocols.events import LotReceived
from tracegate.demo.api import ApiError
from tracegate.demo.stations.base import StationCheck, StationDriver
from tracegate.demo.stations.materials import DemoMaterials

LABEL_GAP_S = 0.6
"""Labels further apart than the bench's read window (300 ms): each its own receipt."""
SUPPLIER_AIM = "]C1"


class GoodsReceiptDriver(StationDriver):
    role = "goods_receipt"

    async def before_line(self) -> None:
        materials = self.context.facts.setdefault(
            "materials", DemoMaterials.make(seed=self.run.options.seed)
        )
        assert isinstance(materials, DemoMaterials)
        bench = self.run.station(self.checkpoint).scanners["handheld"]
        for lot in materials.received:
            await bench.emit(lot.label(), symbology_id=SUPPLIER_AIM)
            await asyncio.sleep(LABEL_GAP_S)
        self.run.notes.add(
            f"goods receipt booked in {len(materials.received)} supplier lots (quarantined)"
        )
        for lot in materials.received:
            await self._accept(lot.di, lot.lot)
        self.run.notes.add("incoming inspection released them (POST /api/lots/.../accept)")

    async def _accept(self, di: str, lot: str, *, timeout_s: float = 30.0) -> None:
        """Accept the lot once the cloud knows it (its lot.received is ingested)."""
        api = self.run.api
        assert api is not None
        plant = self.run.plant
        assert plant is not None
        body = {
            "reason": "Incoming inspection IR-DEMO passed",
            "site": plant.config.site.id,
            "line": plant.config.line.id,
        }
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            try:
                await api.post(f"/api/lots/{di}/{lot}/accept", body)
                return
            except ApiError as exc:
                if exc.status != 404 or loop.time() > deadline:
                    raise
            await asyncio.sleep(0.2)

    async def checks(self) -> list[StationCheck]:
        materials = self.context.facts.get("materials")
        assert isinstance(materials, DemoMaterials)
        recorded = self.run.recorded_events(self.checkpoint)
        received = {(e.di, e.lot) for e in recorded if isinstance(e, LotReceived)}
        wanted = {(lot.di, lot.lot) for lot in materials.received}
        missing = wanted - received
        return [
            StationCheck(
                name="supplier lots booked in",
                ok=not missing,
                detail=f"{len(wanted & received)} of {len(wanted)} lots received in the cloud"
                + (f"; missing {sorted(missing)}" if missing else ""),
            )
        ]
