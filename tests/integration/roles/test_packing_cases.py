"""Packing on the simulated line: units into cases by count, cases onto pallets, a short case
closed by the PLC's close-case button, and an open case that outlives a restart. The PLC is
a pymodbus server, the unit reader a TCP scanner, the events come through Mosquitto."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from assembly_plant import EventTap, prefix, running, tap
from containers_plant import (
    CLOSE_COIL,
    COMPANY_PREFIX,
    WAIT_S,
    ContainersPlant,
    MakeStation,
    inspected,
    make_line,
    packed,
    plant,
    serials,
    stations,
    unpacked,
    work_order,
)

from edge.sim.containers import SimPacker, press_button
from protocols.parts import ContainerRef
from protocols.sscc import check_sscc

__all__ = ["plant", "prefix", "stations", "tap"]

PACKING = f"""
packing:
  case_size: 3
  sscc_source: generated
  sscc_extension_digit: 7
  cases_per_pallet: 2
  close_case_input: {{table: coil, address: {CLOSE_COIL}, poll_period_ms: 20}}
"""
RULES = """
route_predecessor: {enabled: false}
duplicate_serial: {enabled: false}
"""


async def test_cases_close_by_count_and_fill_a_pallet(
    plant: ContainersPlant, stations: MakeStation, tap: EventTap
) -> None:
    device = plant.device("packing")
    packer = SimPacker(case_size=3, cases_per_pallet=2)
    station = await stations("packing", make_line(units=7), packer=packer)
    plant.checkpoint(station, role="packing", section=PACKING, rules=RULES)
    async with running(plant.config(), "packing", station.scanner, plc=True) as run:
        assert run.agent.state is not None
        await run.agent.state.apply(work_order(station.line))
        await station.run_line(units=7)
        outcomes = await run.wait_outcomes(7)
        events = await tap.wait_for(device, 7 + 3, timeout_s=WAIT_S)
    assert [o.decision for o in outcomes] == ["pass"] * 7
    assert [station.plc.unit_history(i).outcome for i in range(7)] == ["pass"] * 7

    case_1, case_2, pallet = packed(events)
    assert serials(case_1.children) == [station.serial(i) for i in (0, 1, 2)]
    assert serials(case_2.children) == [station.serial(i) for i in (3, 4, 5)]
    assert pallet.children == (
        ContainerRef(sscc=case_1.container),
        ContainerRef(sscc=case_2.container),
    )
    assert case_1.parent_container == case_2.parent_container == pallet.container
    assert pallet.parent_container is None
    for sscc in (case_1.container, case_2.container, pallet.container):
        assert check_sscc(sscc).startswith("7" + COMPANY_PREFIX)
    assert len({case_1.container, case_2.container, pallet.container}) == 3

    # Each case is recorded right after the unit that filled it, before its pass output
    # (record before release); the pallet right after its last case.
    by_serial = {e.udi.serial: e for e in inspected(events) if e.udi is not None}
    assert case_1.seq == by_serial[station.serial(2)].seq + 1
    assert case_2.seq == by_serial[station.serial(5)].seq + 1
    assert pallet.seq == case_2.seq + 1
    # The simulated packer boxed the same units the same way.
    assert [c.units for c in packer.cases] == [[0, 1, 2], [3, 4, 5]]
    assert packer.open_case.units == [6]


async def test_a_short_case_closes_on_the_plc_signal(
    plant: ContainersPlant, stations: MakeStation, tap: EventTap
) -> None:
    device = plant.device("packing")
    packer = SimPacker(case_size=3, cases_per_pallet=2)
    station = await stations("packing", make_line(units=5), packer=packer)
    plant.checkpoint(station, role="packing", section=PACKING, rules=RULES)
    async with running(plant.config(), "packing", station.scanner, plc=True) as run:
        assert run.agent.state is not None
        await run.agent.state.apply(work_order(station.line))
        await station.run_line(units=5)
        await run.wait_outcomes(5)
        events = await tap.wait_for(device, 5 + 1, timeout_s=WAIT_S)
        assert len(packed(events)) == 1, "only the first case is full"
        await press_button("127.0.0.1", station.plc.port, coil=CLOSE_COIL)
        packer.close_case()
        # The short case is the pallet's second: the pallet is full too.
        events = await tap.wait_for(device, 5 + 3, timeout_s=WAIT_S)
    full, short, pallet = packed(events)
    assert serials(full.children) == [station.serial(i) for i in (0, 1, 2)]
    assert serials(short.children) == [station.serial(i) for i in (3, 4)]
    assert short.parent_container == full.parent_container == pallet.container
    assert serials(pallet.children) == [full.container, short.container]
    assert short.seq > max(e.seq for e in inspected(events))
    assert [c.units for c in packer.cases] == [[0, 1, 2], [3, 4]]


async def test_an_open_case_survives_a_restart(
    plant: ContainersPlant, stations: MakeStation, tap: EventTap
) -> None:
    device = plant.device("packing")
    station = await stations("packing", make_line(units=2))
    plant.checkpoint(station, role="packing", section=PACKING, rules=RULES)
    config = plant.config()
    async with running(config, "packing", station.scanner, plc=True) as run:
        assert run.agent.state is not None
        await run.agent.state.apply(work_order(station.line))
        await station.run_line(units=2)
        before = await run.wait_outcomes(2)
    assert [(o.decision, o.reasons) for o in before] == [("pass", ())] * 2
    first_two = [station.serial(i) for i in (0, 1)]
    # The third unit comes after the agent restarted: the case it fills is the same one.
    third = make_line(units=1, serial_start=3)
    async with running(config, "packing", station.scanner, plc=True) as run:
        await station.run_line(units=1, line=third)
        (outcome,) = await run.wait_outcomes(1)
        events = await tap.wait_for(device, 3 + 1, timeout_s=WAIT_S)
    assert outcome.decision == "pass"
    (case,) = packed(events)
    assert serials(case.children) == [*first_two, third.unit(0).udi.serial]


async def test_a_unit_whose_pass_output_fails_is_taken_back_out_of_its_case(
    plant: ContainersPlant, stations: MakeStation, tap: EventTap
) -> None:
    device = plant.device("packing")
    station = await stations("packing", make_line(units=2))
    # One unit to a case: the first unit closes its case before its pass output fails.
    section = "packing: {case_size: 1, sscc_source: generated}"
    plant.checkpoint(station, role="packing", section=section, rules=RULES)
    async with running(plant.config(), "packing", station.scanner, plc=True) as run:
        assert run.agent.state is not None and run.agent.outbox is not None
        await run.agent.state.apply(work_order(station.line))
        station.plc.force_output("pass", False)  # the pass output does not take
        clock = station.start_line()
        follow = station.scanner.follow(station.line, clock=clock, read_delay_ms=15, units=2)
        units = asyncio.create_task(follow)
        await run.wait_outcomes(1, timeout_s=WAIT_S)
        station.plc.release_output("pass")
        clock.resume()  # the agent stopped the line: the operator restarts it
        await units
        outcomes = await run.wait_outcomes(2, timeout_s=WAIT_S)
        assert [(o.decision, o.reasons, o.corrected) for o in outcomes] == [
            ("hold", ("interlock_unverified",), True),
            ("pass", (), False),
        ]
        events = await tap.wait_for(device, run.agent.outbox.last_seq, timeout_s=WAIT_S)
        alarms = run.agent.alarms.counts
    first, second = packed(events)
    assert serials(first.children) == [station.serial(0)]
    (out,) = unpacked(events)
    assert (out.container, serials(out.children)) == (first.container, [station.serial(0)])
    assert out.reason is not None and out.reason.code == "held_after_packing"
    assert out.seq > first.seq
    # The unit was diverted: its case, one short on the packer, took the next unit.
    assert (second.container, serials(second.children)) == (first.container, [station.serial(1)])
    assert second.seq > out.seq
    assert alarms["held_after_packing"] == 1
