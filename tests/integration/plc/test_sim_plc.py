"""The simulated PLC answers "what happened to unit 17", and runs from the CLI."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from edge.adapters.plc import ModbusPlc
from edge.adapters.plc_types import TriggerSpec
from edge.sim.plc import SimPlc
from edge.sim.plc_layout import SimPlcLayout
from edge.sim.units import Fault, LineClock, SimLine

PlcFactory = Callable[..., ModbusPlc]
"""The `make_plc` fixture of conftest.py."""


@pytest.fixture
async def faulty_line_sim() -> AsyncIterator[SimPlc]:
    line = SimLine(
        seed=5,
        rate_per_s=20.0,
        first_arrival_s=0.1,
        photo_eye_pulse_ms=25,
        faults={17: {Fault.SEAL_EXCURSION}, 5: {Fault.SKIPS_CHECKPOINT}},
    )
    sim = SimPlc(line=line)
    await sim.start()
    yield sim
    await sim.stop()


async def _run_checkpoint(plc: ModbusPlc, sim: SimPlc, *, last_unit: int) -> None:
    """A minimal checkpoint: on each photo-eye edge, reject if the seal was too hot."""
    edges = plc.edges()
    await plc.start()
    assert await plc.wait_up(timeout_s=5.0)
    # The line starts once the checkpoint watches it (a loaded machine may take longer to
    # connect than the first unit's lead).
    sim.clock = LineClock()
    async with asyncio.timeout(5):
        async for _edge in edges:
            seal = (await plc.read("seal_temp")).value
            await plc.write("reject" if seal > 185 else "pass", True)
            if (await plc.read("unit_at_checkpoint")).value == last_unit + 1:
                return


async def test_what_happened_to_unit_17(faulty_line_sim: SimPlc, make_plc: PlcFactory) -> None:
    sim = faulty_line_sim
    plc = make_plc(
        port=sim.port,
        registers=sim.layout.register_map(),
        trigger=TriggerSpec(register="photo_eye", period_ms=2),
    )
    await _run_checkpoint(plc, sim, last_unit=19)

    unit_17 = sim.unit_history(17)
    assert unit_17.outcome == "reject"
    assert Fault.SEAL_EXCURSION in unit_17.unit.faults
    reject = unit_17.first("reject")
    assert reject is not None
    assert 0 <= reject.line_s - unit_17.unit.arrival_s < 1 / 20  # inside its reject window
    assert sim.unit_history(5).outcome == "none"  # never reached the photo-eye
    assert [sim.unit_history(i).outcome for i in (*range(5), *range(6, 17), 18, 19)] == [
        "pass"
    ] * 18
    assert (await plc.read("units_seen")).value == 19


async def test_a_sim_plc_keeping_no_history_still_reports_each_write(
    make_plc: PlcFactory,
) -> None:
    line = SimLine(seed=5, rate_per_s=20.0, first_arrival_s=0.1, photo_eye_pulse_ms=25)
    seen: list[tuple[str, bool | int]] = []
    sim = SimPlc(line=line, keep_writes=False, on_write=lambda w: seen.append((w.name, w.value)))
    await sim.start()
    try:
        plc = make_plc(port=sim.port, registers=sim.layout.register_map())
        await plc.start()
        assert await plc.wait_up(timeout_s=5.0)
        assert (await plc.write("pass", True)).verified
        assert (await plc.write("reject", False)).verified
    finally:
        await sim.stop()
    assert seen == [("pass", True), ("reject", False)]
    assert sim.writes == []
    assert sim.requests == 4  # two writes, two read-backs
    with pytest.raises(RuntimeError, match="keeps no history"):
        sim.unit_history(0)


async def test_sim_plc_from_the_cli(tmp_path: Path, unused_tcp_port: int) -> None:
    config = tmp_path / "plc.yaml"
    config.write_text(
        "host: 127.0.0.1\n"
        f"port: {unused_tcp_port}\n"
        "line:\n"
        "  seed: 3\n"
        "  rate_per_s: 5\n"
        "  faults: {2: [seal_excursion]}\n",
        encoding="utf-8",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tracegate.cli",
        "sim",
        "plc",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        async with asyncio.timeout(10):
            banner = (await proc.stdout.readline()).decode()
        assert banner == f"sim plc: Modbus TCP on 127.0.0.1:{unused_tcp_port}\n"
        plc = ModbusPlc(
            "cli-plc",
            host="127.0.0.1",
            port=unused_tcp_port,
            registers=SimPlcLayout.default().register_map(),
        )
        await plc.start()
        try:
            assert await plc.wait_up(timeout_s=2.0)
            assert (await plc.read("seal_temp")).value == pytest.approx(180, abs=2.5)
            assert (await plc.write("pass", True)).verified
        finally:
            await plc.close()
        async with asyncio.timeout(5):
            line = (await proc.stdout.readline()).decode()
        assert line.split()[-1] == "pass=True"
    finally:
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            code = await proc.wait()
    assert code == 0
