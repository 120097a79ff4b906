"""A simulated PLC (a real pymodbus TCP server) and adapters connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from edge.adapters.plc import ModbusPlc
from edge.sim.plc import SimPlc
from edge.sim.units import SimLine

PlcFactory = Callable[..., ModbusPlc]


@pytest.fixture
async def sim() -> AsyncIterator[SimPlc]:
    line = SimLine(seed=11, rate_per_s=10.0, first_arrival_s=0.3, photo_eye_pulse_ms=30)
    plc = SimPlc(line=line)
    await plc.start()
    yield plc
    await plc.stop()


@pytest.fixture
async def make_plc() -> AsyncIterator[PlcFactory]:
    """Build adapters (closed at teardown): `make_plc(port=..., registers=..., ...)`."""
    made: list[ModbusPlc] = []

    def make(**kwargs: Any) -> ModbusPlc:
        kwargs.setdefault("host", "127.0.0.1")
        kwargs.setdefault("timeout_s", 0.5)
        plc = ModbusPlc(kwargs.pop("name", "test-plc"), **kwargs)
        made.append(plc)
        return plc

    yield make
    for plc in made:
        await plc.close()


@pytest.fixture
async def plc(sim: SimPlc, make_plc: PlcFactory) -> ModbusPlc:
    """An adapter on the simulated PLC's full register map, connected, nothing polled."""
    adapter = make_plc(port=sim.port, registers=sim.layout.register_map())
    await adapter.start()
    assert await adapter.wait_up(timeout_s=2.0)
    return adapter
