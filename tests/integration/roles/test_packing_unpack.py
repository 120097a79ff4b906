"""Packing: a unit taken out of its case for rework (`tracegate edge unpack`) and packed again
into another case, a unit packed twice refused, and a unit held at final inspection kept out
of the cases (the route rule, fed by the inspection agent's events on the broker)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from assembly_plant import EventTap, prefix, running, tap
from containers_plant import (
    WAIT_S,
    ContainersPlant,
    MakeStation,
    inspected,
    inspection_event,
    make_line,
    packed,
    plant,
    publish,
    serials,
    stations,
    unpacked,
    until,
    work_order,
)
from typer.testing import CliRunner

from edge.sim.containers import SimPacker
from protocols.parts import Reason
from tracegate.cli import app

__all__ = ["plant", "prefix", "stations", "tap"]

PACKING = """
packing:
  case_size: 3
  sscc_source: generated
"""
RULES = """
route_predecessor: {enabled: false}
duplicate_serial: {enabled: false}
"""


async def cli(*args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    return result.exit_code, result.output


async def test_a_unit_taken_out_is_packed_again_into_another_case(
    plant: ContainersPlant, stations: MakeStation, tap: EventTap
) -> None:
    device = plant.device("packing")
    packer = SimPacker(case_size=3)
    station = await stations("packing", make_line(units=6), packer=packer)
    plant.checkpoint(station, role="packing", section=PACKING, rules=RULES)
    config = plant.config()
    yaml = str(plant.tmp / "plant.yaml")
    di, taken_out = station.line.product.di, station.serial(1)
    async with running(config, "packing", station.scanner, plc=True) as run:
        assert run.agent.state is not None
        await run.agent.state.apply(work_order(station.line))
        await station.run_line(units=6)
        await run.wait_outcomes(6)
        case_a, case_b = packed(await tap.wait_for(device, 6 + 2, timeout_s=WAIT_S))

        code, output = await cli(
            "edge", "unpack", yaml, "-c", "packing", "--unit", f"{di}:{taken_out}",
            "--note", "Seal wrinkled: resealed at rework.",
        )  # fmt: skip
        assert code == 0, output
        assert f"out of {case_a.container}" in output
        packer.take_out(1)
        code, output = await cli("edge", "unpack", yaml, "-c", "packing", "--unit", f"{di}:NOPE")
        assert code == 1 and "is in no container packed at packing" in output

        # Back from rework: unit 1 comes again, and unit 0 (never taken out) by mistake.
        await station.run_line(units=2, line=make_line(units=2))
        again = await run.wait_outcomes(8)
        assert [(o.decision, o.reasons) for o in again[6:]] == [
            ("hold", ("already_packed",)),
            ("pass", ()),
        ]
        code, output = await cli("edge", "close-case", yaml, "-c", "packing")
        assert code == 0, output
        events = await tap.wait_for(device, 6 + 2 + 1 + 2 + 1, timeout_s=WAIT_S)

    (out,) = unpacked(events)
    assert out.container == case_a.container
    assert serials(out.children) == [taken_out]
    assert out.reason == Reason(code="rework", text="Seal wrinkled: resealed at rework.")
    _, _, case_c = packed(events)
    assert serials(case_c.children) == [taken_out]
    assert case_c.container not in (case_a.container, case_b.container)
    assert out.seq < case_c.seq


async def test_a_unit_held_at_final_inspection_is_not_packed(
    plant: ContainersPlant, stations: MakeStation, tap: EventTap
) -> None:
    device = plant.device("packing")
    station = await stations("packing", make_line(units=4))
    inspection = await stations("final-inspection", station.line)
    plant.checkpoint(inspection, role="inspection")
    plant.checkpoint(
        station,
        role="packing",
        section=PACKING,
        rules="duplicate_serial: {enabled: false}",
        predecessors="final-inspection",
    )
    async with running(plant.config(), "packing", station.scanner, plc=True) as run:
        assert run.agent.state is not None and run.agent.route is not None
        await run.agent.state.apply(work_order(station.line))
        for index, decision in enumerate(["pass", "pass", "hold", "pass"]):
            publish(plant.prefix, inspection_event(station.line, index, decision, index + 1))
        route = run.agent.route
        await until(lambda: route.counters.recorded >= 4)
        await station.run_line(units=4)
        outcomes = await run.wait_outcomes(4)
        events = await tap.wait_for(device, 4 + 1, timeout_s=WAIT_S)
    assert [(o.decision, o.reasons) for o in outcomes] == [
        ("pass", ()),
        ("pass", ()),
        ("hold", ("route_held",)),
        ("pass", ()),
    ]
    assert station.plc.unit_history(2).outcome == "reject"
    (case,) = packed(events)
    assert serials(case.children) == [station.serial(i) for i in (0, 1, 3)]
    held = next(e for e in inspected(events) if e.udi and e.udi.serial == station.serial(2))
    assert held.decision == "hold"
