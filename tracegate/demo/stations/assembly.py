"""Assembly: the work order's bill of materials, the reels loaded before the run, and a reel
change mid-run; afterwards, every kit records the lots it was built from, split exactly at
the reel change.

The bill of materials is the cloud work order's (`seed`): the station has it from the
`cmd/workorder` the cloud sent when the order was activated, before the line is prepared.
Loads are station scans: their pass/reject outputs are the load's, not a unit's, so they
are kept out of the units' PLC record. The reel change stops the line while the operator
swaps the reel (as a cell is stopped for it), so no unit's output mixes with the load's.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from edge.checkpoint.roles.assembly_commands import store_path_of
from edge.checkpoint.roles.assembly_store import AssemblyStore
from edge.sim.materials import SupplierLot
from edge.sim.plc import OutputWrite
from protocols.config import Checkpoint
from protocols.events import UnitAssembled
from protocols.parts import LotQuantity
from tracegate.demo.errors import DemoError
from tracegate.demo.stations.base import StationCheck, StationContext, StationDriver
from tracegate.demo.stations.materials import TUBING, DemoMaterials

FEEDER = "feeder"
REEL_AIM = "]C1"
LOAD_GAP_S = 0.4
"""Loads further apart than the station's read window (120 ms): each a window of its own."""
REEL_CHANGE_AT = 0.35
"""Where in the run the tubing reel runs out (a fraction of the units)."""


class AssemblyDriver(StationDriver):
    role = "assembly"

    def __init__(self, checkpoint: str, context: StationContext) -> None:
        super().__init__(checkpoint, context)
        self.load_writes: list[OutputWrite] = []
        """Outputs the station wrote for loads (not for units)."""
        self._loading = False
        self.reel_change_after: int | None = None
        """The last unit built from the first tubing reel."""
        self._unit_done: dict[int, asyncio.Event] = {}

    @property
    def materials(self) -> DemoMaterials:
        found = self.context.facts.setdefault(
            "materials", DemoMaterials.make(seed=self.run.options.seed)
        )
        assert isinstance(found, DemoMaterials)
        return found

    def on_write(self, checkpoint: str, write: OutputWrite) -> None:
        if checkpoint != self.checkpoint or write.name not in ("pass", "reject"):
            return
        if self._loading:
            self.load_writes.append(write)
            self.run.station(self.checkpoint).station_writes.append(write)
        elif write.value and write.unit_index in self._unit_done:
            self._unit_done[write.unit_index].set()

    async def before_line(self) -> None:
        store_path = store_path_of(self._checkpoint())
        for lot in self.materials.received:
            await _until_accepted(store_path, lot)
        for lot in self.materials.first_loads:
            await self._load(lot)
        self.run.notes.add(
            "assembly loaded tubing lot "
            f"{self.materials.tubing_first.lot} and connector lot {self.materials.connector.lot}"
        )

    async def during_line(self) -> None:
        plan = self.run.plan
        assert plan is not None
        troubled = {i.unit + d for i in plan.injections for d in (-1, 0, 1)}
        unit = round(plan.units * REEL_CHANGE_AT)
        while unit in troubled:
            unit += 1
        done = self._unit_done.setdefault(unit, asyncio.Event())
        await done.wait()
        clock = self.run.clock
        clock.pause()
        self.run.notes.add(f"line stopped after unit {unit} to change the tubing reel")
        await self._load(self.materials.tubing_second)
        self.reel_change_after = unit
        clock.resume()
        self.run.notes.add(
            f"tubing reel changed to lot {self.materials.tubing_second.lot}; line restarted"
        )

    async def _load(self, lot: SupplierLot) -> None:
        """Scan a reel onto its feeder and wait for the station's verdict (a pass output)."""
        feeder = self.run.station(self.checkpoint).scanners[FEEDER]
        before = len(self.load_writes)
        self._loading = True
        try:
            await feeder.emit(lot.label(quantity=100), symbology_id=REEL_AIM)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10.0
            while not any(w.value for w in self.load_writes[before:]):
                if loop.time() > deadline:
                    raise DemoError(f"assembly gave no verdict on the load of lot {lot.lot}")
                await asyncio.sleep(0.02)
            await asyncio.sleep(LOAD_GAP_S)
        finally:
            self._loading = False
        verdict = next(w for w in self.load_writes[before:] if w.value)
        if verdict.name != "pass":
            raise DemoError(
                f"assembly refused the load of {lot.di} lot {lot.lot}: see its log"
                f" ({self.run.workdir / 'logs' / f'agent-{self.checkpoint}.log'})"
            )

    def _checkpoint(self) -> Checkpoint:
        plant = self.run.plant
        assert plant is not None
        return plant.config.checkpoint(self.checkpoint)

    async def checks(self) -> list[StationCheck]:
        plan = self.run.plan
        assert plan is not None
        line = plan.line_for(self.checkpoint)
        index_of = {line.serial_of(i): i for i in range(plan.units)}
        events = self.run.recorded_events(self.checkpoint)
        built = [e for e in events if isinstance(e, UnitAssembled)]
        first, second = self.materials.tubing_first.lot, self.materials.tubing_second.lot
        change = self.reel_change_after
        wrong = []
        for event in built:
            index = index_of.get(event.parent.serial or "")
            tubing = {
                c.lot for c in event.components if isinstance(c, LotQuantity) and c.di == TUBING
            }
            before = change is None or (index is not None and index <= change)
            expected = first if before else second
            if tubing != {expected}:
                wrong.append(f"{event.parent.serial}: {sorted(tubing)}")
        return [
            StationCheck(
                name="reel change",
                ok=change is not None and bool(built) and not wrong,
                detail=f"{len(built)} kits record their lots; tubing {first} up to unit {change},"
                f" {second} after" + (f"; wrong: {', '.join(wrong[:3])}" if wrong else ""),
            )
        ]


async def _until_accepted(store_path: Path, lot: SupplierLot, *, timeout_s: float = 30.0) -> None:
    """Wait until the station's store has incoming inspection's release of `lot`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        state = "unknown"
        if store_path.exists():  # noqa: ASYNC240 - one stat every 200 ms
            store = await AssemblyStore.open(store_path)
            try:
                state = (await store.lot_status(lot.di, lot.lot)).state
            finally:
                await store.close()
        if state == "accepted":
            return
        if loop.time() > deadline:
            raise DemoError(f"assembly never learned that lot {lot.lot} is released ({state})")
        await asyncio.sleep(0.2)
