"""An adapter and a simulated PLC built from the same checkpoint of the example plant."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.adapters.plc import ModbusPlc
from edge.sim.plc import SimPlc
from edge.sim.plc_layout import SimPlcLayout
from edge.sim.units import Fault, SimLine
from protocols.config.loader import load_plant_file
from protocols.config.schema import Checkpoint

LINE_1 = Path(__file__).parents[3] / "device-configs" / "line-1.yaml"


@pytest.fixture(scope="module")
def sealing() -> Checkpoint:
    plant = load_plant_file(LINE_1)
    return next(cp for cp in plant.checkpoints if cp.id == "sealing")


@pytest.fixture
async def sealing_sim(sealing: Checkpoint) -> AsyncIterator[SimPlc]:
    assert sealing.plc is not None
    line = SimLine(
        seed=2,
        rate_per_s=10.0,
        first_arrival_s=0.1,
        photo_eye_pulse_ms=30,
        faults={3: {Fault.SEAL_EXCURSION}},
    )
    sim = SimPlc(line=line, layout=SimPlcLayout.from_config(sealing.plc, sealing.interlock))
    await sim.start()
    yield sim
    await sim.stop()


async def test_adapter_from_config_reads_what_the_sim_from_config_serves(
    sealing: Checkpoint, sealing_sim: SimPlc
) -> None:
    assert sealing.plc is not None
    plc = ModbusPlc.from_config(
        "sealing",
        sealing.plc.model_copy(update={"port": sealing_sim.port}),
        interlock=sealing.interlock,
    )
    edges = plc.edges()
    await plc.start()
    try:
        async with asyncio.timeout(3):
            while (await edges.get()).seq < 4:
                pass  # unit 3 (the fourth) is at the photo-eye, with its seal excursion
        hot = await plc.read_many(["seal_temp", "seal_pressure", "dwell_time", "cycle_count"])
        assert hot["seal_temp"].value > 185.0
        assert hot["seal_temp"].unit == "°C"
        assert 4.5 <= hot["seal_pressure"].value <= 5.5
        assert 900 <= hot["dwell_time"].value <= 1100
        assert hot["cycle_count"].value == 4
        result = await plc.write("reject", True)
        assert result.verified
        assert sealing_sim.unit_history(3).outcome == "reject"
        await asyncio.sleep(0.25)  # past unit 3, so the next poll is of a normal seal
        cool = plc.latest("seal_temp")  # polled every 100 ms by the config
        assert cool is not None and 175.0 <= cool.value <= 185.0
        assert any(w.name == "heartbeat" for w in sealing_sim.writes)
    finally:
        await plc.close()
