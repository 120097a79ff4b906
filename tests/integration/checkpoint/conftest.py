"""Fixtures of the checkpoint tests; the helpers live in checkpoint_plant.py."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

# Tests are not a package (pytest runs with --import-mode=importlib): put the helpers on the path.
sys.path.insert(0, str(Path(__file__).parent))

from checkpoint_plant import FAR_FUTURE_S, EventTap, MakePlant, SimPlant
from engine_rig import rig

from edge.adapters.framing import Framing
from edge.sim.plc import SimPlc
from edge.sim.scanner import SimScanner
from edge.sim.units import LineClock, SimLine

__all__ = ["rig"]  # the engine rig's fixture, for every test here


@pytest.fixture
def prefix() -> str:
    return f"tgtest/{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def make_plant(tmp_path: Path, prefix: str) -> AsyncIterator[MakePlant]:
    """Start a simulated PLC and scanner for a line: `plant = await make_plant(line)`."""
    made: list[SimPlant] = []

    async def make(line: SimLine, **options: object) -> SimPlant:
        # The conveyor stands still until the test starts it.
        plc = SimPlc(line=line, clock=LineClock(start_monotonic_s=time.monotonic() + FAR_FUTURE_S))
        await plc.start()
        scanner = SimScanner.over_tcp(framing=Framing.named("cr"))
        await scanner.start()
        plant = SimPlant(tmp=tmp_path, line=line, plc=plc, scanner=scanner, prefix=prefix)
        for key, value in options.items():
            setattr(plant, key, value)
        made.append(plant)
        return plant

    yield make
    for plant in made:
        await plant.scanner.stop()
        await plant.plc.stop()


@pytest.fixture
def tap(prefix: str) -> Iterator[EventTap]:
    tap = EventTap(prefix)
    tap.start()
    yield tap
    tap.stop()
