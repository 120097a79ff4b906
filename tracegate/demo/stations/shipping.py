"""Shipping: the pallet goes to a customer. The shipment is created in the cloud and
announced to the dock door (`cmd/shipment`); the forklift driver's scan of the pallet's SSCC
label ships it (`container.shipped`), the door checking first that nothing inside is held."""

from __future__ import annotations

import asyncio
from pathlib import Path

from edge.checkpoint.state import LocalState
from edge.sim.containers import CONTAINER_AIM, label_text
from edge.sim.plc import OutputWrite
from protocols.events import ContainerShipped
from tracegate.demo.errors import DemoError
from tracegate.demo.seed import CUSTOMERS
from tracegate.demo.stations.base import StationCheck, StationContext, StationDriver

SHIPMENT = "SHP-DEMO-0001"
ORDER = "SO-DEMO-0001"
DOCK = "dock"


class ShippingDriver(StationDriver):
    role = "shipping"

    def __init__(self, checkpoint: str, context: StationContext) -> None:
        super().__init__(checkpoint, context)
        self._verdicts: list[OutputWrite] = []

    def on_write(self, checkpoint: str, write: OutputWrite) -> None:
        if checkpoint == self.checkpoint and write.name in ("pass", "reject") and write.value:
            self._verdicts.append(write)

    async def after_line(self) -> None:
        pallets = self.context.facts.get("pallets") or []
        if not pallets:
            self.run.notes.add("nothing packed on a pallet: nothing to ship")
            return
        api, plant = self.run.api, self.run.plant
        assert api is not None and plant is not None
        customer = CUSTOMERS[0]
        await api.post(
            "/api/shipments",
            {
                "number": SHIPMENT,
                "customer": customer["code"],
                "order_ref": ORDER,
                "containers": list(pallets),
            },
        )
        await api.post(
            f"/api/shipments/{SHIPMENT}/announce",
            {
                "site": plant.config.site.id,
                "line": plant.config.line.id,
                "checkpoint": self.checkpoint,
            },
        )
        await self._until_announced(plant.config.checkpoint(self.checkpoint).state_path)
        dock = self.run.station(self.checkpoint).scanners[DOCK]
        for pallet in pallets:
            before = len(self._verdicts)
            await dock.emit(label_text(pallet), symbology_id=CONTAINER_AIM)
            verdict = await self._verdict(after=before)
            self.run.notes.add(
                f"pallet {pallet} scanned at the dock: {verdict}"
                + (f" (shipped on {SHIPMENT} to {customer['name']})" if verdict == "pass" else "")
            )
            await asyncio.sleep(0.5)
        self.context.facts["shipment"] = SHIPMENT

    async def _until_announced(self, state_path: Path, *, timeout_s: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            state = await LocalState.open(state_path)
            try:
                known = {s.shipment_id for s in await state.shipments()}
            finally:
                await state.close()
            if SHIPMENT in known:
                # The agent reads its state on each scan; nothing more to wait for.
                return
            if loop.time() > deadline:
                raise DemoError(f"the dock door never got shipment {SHIPMENT}")
            await asyncio.sleep(0.2)

    async def _verdict(self, *, after: int, timeout_s: float = 10.0) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(self._verdicts) <= after:
            if loop.time() > deadline:
                raise DemoError("the dock door gave no verdict on the pallet")
            await asyncio.sleep(0.02)
        return self._verdicts[after].name

    async def checks(self) -> list[StationCheck]:
        pallets = set(self.context.facts.get("pallets") or [])
        shipped = {
            sscc
            for e in self.run.recorded_events(self.checkpoint)
            if isinstance(e, ContainerShipped) and e.shipment_id == SHIPMENT
            for sscc in e.containers
        }
        api = self.run.api
        assert api is not None
        status = "-"
        if pallets:
            status = (await api.get(f"/api/shipments/{SHIPMENT}"))["status"]
        return [
            StationCheck(
                name="shipment",
                ok=bool(pallets) and shipped == pallets,
                detail=f"{len(shipped)} of {len(pallets)} pallets shipped on {SHIPMENT}"
                f" (cloud status {status})",
            )
        ]
