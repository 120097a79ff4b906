"""The simulated plant in the demo's process: one PLC per checkpoint (a pymodbus server
serving exactly the checkpoint's register map), its readers (TCP scanners), all on the one
shared line clock, following the plan's line as each checkpoint sees it.

The camera is not here: it renders inside its agent's process (tracegate/demo/camera_agent.py),
following the same clock through its file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.adapters.framing import STX, Framing
from edge.sim.plc import OutputWrite, SimPlc
from edge.sim.plc_layout import SimPlcLayout
from edge.sim.scanner import SimScanner
from edge.sim.units import SimLine
from protocols.config import Checkpoint, ScannerConfig
from tracegate.demo.clock import SharedLineClock
from tracegate.demo.plan import LinePlan
from tracegate.demo.plant import DemoPlant

READ_DELAY_MS = 40.0
"""A fixed reader reports a unit this long after it reaches the photo-eye."""

UNIT_SCANNER = "unit"
"""The scanner that reads the passing unit's own label; other scanners of a checkpoint
read station labels (a reel at the feeder), which a role's simulator drives."""


@dataclass
class SimStation:
    """The simulated devices of one checkpoint."""

    checkpoint: Checkpoint
    line: SimLine | None
    """The line as this checkpoint sees it (None: not a unit checkpoint)."""
    plc: SimPlc | None = None
    scanners: dict[str, SimScanner] = field(default_factory=dict)
    station_writes: list[OutputWrite] = field(default_factory=list)
    """Outputs written for station scans (a reel loaded), not for the unit then at the
    photo-eye: left out of the units' outcomes."""

    @property
    def name(self) -> str:
        return self.checkpoint.id

    def outcomes(self) -> dict[int, str]:
        """Unit index -> what the PLC was told for it (pass, reject, both, none), for every
        unit that passed the photo-eye."""
        if self.plc is None or self.line is None:
            return {}
        found = {}
        excluded = {id(w) for w in self.station_writes}
        for unit in self.line.seen_units():
            writes = [
                w
                for w in self.plc.unit_history(unit.index).writes
                if w.value and id(w) not in excluded
            ]
            passed = any(w.name == "pass" for w in writes)
            rejected = any(w.name == "reject" for w in writes)
            found[unit.index] = (
                "both"
                if passed and rejected
                else "pass"
                if passed
                else "reject"
                if rejected
                else "none"
            )
        return found


class SimPlant:
    """Every simulated device of the demo line."""

    def __init__(
        self,
        plant: DemoPlant,
        plan: LinePlan,
        clock: SharedLineClock,
        *,
        on_write: Callable[[str, OutputWrite], None] | None = None,
    ) -> None:
        self.plant = plant
        self.plan = plan
        self.clock = clock
        self._on_write = on_write
        self.stations: dict[str, SimStation] = {}
        self._tasks: list[asyncio.Task[object]] = []

    async def start(self) -> None:
        """Listen on every PLC and scanner port of the derived config."""
        # pymodbus logs every frame at debug level: thousands of records a second here.
        logging.getLogger("pymodbus").setLevel(logging.WARNING)
        stage_ids = {s.checkpoint for s in self.plan.stages}
        for cp in self.plant.config.checkpoints:
            line = self.plan.line_for(cp.id) if cp.id in stage_ids else None
            station = SimStation(checkpoint=cp, line=line)
            self.stations[cp.id] = station
            if cp.plc is not None:
                # A station without units of its own (the dock door) still has a PLC for
                # its stack light; it follows the first checkpoint's line.
                station.plc = SimPlc(
                    line=line or self.plan.line_for(self.plan.stages[0].checkpoint),
                    clock=self.clock,
                    port=self.plant.plc_ports[cp.id],
                    layout=SimPlcLayout.from_config(cp.plc, cp.interlock),
                    on_write=self._writes_of(cp.id),
                )
                await station.plc.start()
            for scanner in cp.scanners:
                sim = SimScanner.over_tcp(
                    port=self.plant.scanner_ports[(cp.id, scanner.name)],
                    framing=_framing(scanner),
                )
                await sim.start()
                station.scanners[scanner.name] = sim

    def _writes_of(self, checkpoint: str) -> Callable[[OutputWrite], None] | None:
        callback = self._on_write
        if callback is None:
            return None

        def forward(write: OutputWrite) -> None:
            callback(checkpoint, write)

        return forward

    def run_line(self) -> None:
        """Start the conveyor: the clock starts and every unit reader follows its line."""
        self.clock.start()
        for station in self.stations.values():
            reader = station.scanners.get(UNIT_SCANNER)
            if reader is not None and station.line is not None:
                task = asyncio.create_task(
                    reader.follow(station.line, clock=self.clock, read_delay_ms=READ_DELAY_MS),
                    name=f"scanner {station.name}",
                )
                self._tasks.append(task)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for station in self.stations.values():
            for scanner in station.scanners.values():
                with contextlib.suppress(Exception):
                    await scanner.stop()
            if station.plc is not None:
                with contextlib.suppress(Exception):
                    await station.plc.stop()


def _framing(config: ScannerConfig) -> Framing:
    return Framing(terminator=config.terminator, prefix=STX if config.framing == "etx" else b"")
