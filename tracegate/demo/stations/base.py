"""The interface of a station driver and what it is given."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from edge.sim.plc import OutputWrite

if TYPE_CHECKING:
    from tracegate.demo.run import DemoPlantRun


@dataclass(frozen=True, slots=True, kw_only=True)
class StationCheck:
    """One thing a station's trouble or work must have left in the cloud."""

    name: str
    ok: bool
    detail: str


@dataclass
class StationContext:
    """What a driver may use: the run (simulators, agents, API, plan, notes) and facts the
    drivers share (the component lots, the SSCCs)."""

    run: DemoPlantRun
    facts: dict[str, Any] = field(default_factory=dict)


class StationDriver:
    """A driver that does nothing; subclasses override what their role needs."""

    role: str = ""
    checkpoint: str = ""

    def __init__(self, checkpoint: str, context: StationContext) -> None:
        self.checkpoint = checkpoint
        self.context = context

    @property
    def run(self) -> DemoPlantRun:
        return self.context.run

    async def before_line(self) -> None:
        """Before the conveyor starts (every agent is ready)."""

    def on_write(self, checkpoint: str, write: OutputWrite) -> None:
        """Every output any agent writes to its PLC (called in the event loop)."""

    async def during_line(self) -> None:
        """Runs while the units run; cancelled if still running when the line ends."""

    async def after_line(self) -> None:
        """After the last unit left the last checkpoint, in line order of the drivers."""

    async def checks(self) -> list[StationCheck]:
        """Asked once the cloud has every event."""
        return []
