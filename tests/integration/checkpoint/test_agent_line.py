"""A line runs past the sealing agent: what the simulated PLC saw for each unit, and what was
recorded and published for it."""

from __future__ import annotations

import asyncio

from checkpoint_plant import (
    EventTap,
    MakePlant,
    by_serial,
    make_line,
    reason_codes,
    running_agent,
    until_line_time,
)

from edge.checkpoint.status_report import gather_status, render_status
from edge.sim.units import Fault

UNITS = 12


async def test_units_pass_or_are_held_for_what_is_wrong_with_them(
    make_plant: MakePlant, tap: EventTap
) -> None:
    line = make_line(
        faults={
            2: [Fault.SEAL_EXCURSION],
            4: [Fault.DUPLICATE_SERIAL],
            6: [Fault.NO_READ],
            8: [Fault.MISREAD],
            10: [Fault.PRESSURE_EXCURSION],
        }
    )
    plant = await make_plant(line)
    async with running_agent(plant, status_period_s=0.1) as agent:
        await plant.run_line(units=UNITS)
        events = await tap.wait_for(UNITS)
        assert agent.engine is not None
        counters = agent.engine.counters
        await asyncio.sleep(0.2)
        report = await gather_status(agent.checkpoint)

    assert plant.outcomes(UNITS) == [
        "pass", "pass", "reject", "pass", "reject", "pass",
        "reject", "pass", "reject", "pass", "reject", "pass",
    ], [(e.seq, reason_codes(e)) for e in events]  # fmt: skip
    assert [e.seq for e in events] == list(range(1, UNITS + 1))
    assert [e.decision for e in events] == [
        "pass" if o == "pass" else "hold" for o in plant.outcomes(UNITS)
    ]
    assert [reason_codes(e) for e in events if e.decision == "hold"] == [
        ["parameter_out_of_limits"],
        ["duplicate_serial"],
        ["no_read"],
        ["invalid_udi"],
        ["parameter_out_of_limits"],
    ]
    units = by_serial(events)
    seal = units[plant.serial(2)][0]
    assert seal.reasons[0].text.startswith("seal_temp = 19")
    duplicate = units[plant.serial(3)]
    assert [e.decision for e in duplicate] == ["pass", "hold"]
    assert duplicate[1].reasons[0].text == (
        f"Serial {plant.serial(3)} of {line.product.di} was already seen at this checkpoint"
        f" (event seq {duplicate[0].seq})."
    )
    passed = units[plant.serial(0)][0]
    assert passed.work_order == "WO-T1"
    assert [p.name for p in passed.parameters] == ["seal_temp", "seal_pressure", "dwell_time"]
    assert all(p.in_limits and p.age_ms <= 500 for p in passed.parameters)
    assert passed.interlock is not None and passed.interlock.output == "pass"
    assert passed.reads[0].symbology_id == "]d2"
    held = units[plant.serial(2)][0]
    assert held.interlock is not None
    assert (held.interlock.output, held.interlock.written, held.interlock.verified) == (
        "reject",
        True,
        True,
    )
    assert counters.units == UNITS and counters.passed == 7 and counters.held == 5
    assert counters.orphan_reads == 0

    # What `tracegate edge status` shows of the running agent.
    assert report.running and report.agent is not None
    status = report.agent
    assert (status.counters["units"], status.counters["passed"], status.counters["held"]) == (
        12,
        7,
        5,
    )
    assert status.reasons == {
        "parameter_out_of_limits": 2,
        "duplicate_serial": 1,
        "no_read": 1,
        "invalid_udi": 1,
    }
    assert {(link.name, link.state) for link in status.links} == {
        ("plc", "up"),
        ("unit", "up"),
        ("mqtt-in", "up"),
    }
    assert status.work_order == "WO-T1"
    assert [d.decision for d in status.last_decisions[:2]] == ["pass", "hold"]
    assert report.outbox is not None and report.outbox.last_seq == UNITS
    lines = render_status(report)
    assert lines[2:4] == [
        f"work order: WO-T1 ({line.product.di}, lot {line.lot}, 1000 units)",
        "holds: none",
    ]
    assert "units: 12 (7 passed, 5 held, 0 corrected, 0 unrecorded)" in lines


async def test_a_hold_arriving_over_mqtt_holds_the_units_it_names_while_the_line_runs(
    make_plant: MakePlant, tap: EventTap
) -> None:
    import asyncio

    from edge.checkpoint.cli_commands import hold_command, release_command
    from edge.checkpoint.command_publish import publish_command

    plant = await make_plant(make_line())
    async with running_agent(plant) as agent:
        assert agent.state is not None
        config = agent.plant
        di = plant.line.product.di
        hold = hold_command(
            hold_id="H-7",
            reason="seal supplier notice",
            units=[f"{di}:{plant.serial(6)}", f"{di}:{plant.serial(7)}"],
        )
        release = release_command(hold_id="H-7", signed_by="qa.lead", reason="investigated")
        clock = plant.start_line()
        following = asyncio.create_task(
            plant.scanner.follow(plant.line, clock=clock, read_delay_ms=15, units=UNITS)
        )
        # Sent while unit 2 is at the checkpoint; released after the run, so that a
        # loaded machine delaying the release cannot hold the units after 7.
        await until_line_time(clock, plant.line.arrival_s(2))
        await asyncio.to_thread(
            publish_command, config.mqtt, hold, site="plant-t", line="line-t", checkpoint="sealing"
        )
        await following
        events = await tap.wait_for(UNITS)
        await asyncio.to_thread(
            publish_command,
            config.mqtt,
            release,
            site="plant-t",
            line="line-t",
            checkpoint="sealing",
        )
        for _ in range(200):
            if not await agent.state.holds():
                break
            await asyncio.sleep(0.025)
        holds_left = await agent.state.holds()

    outcomes = plant.outcomes(UNITS)
    assert [i for i, o in enumerate(outcomes) if o != "pass"] == [6, 7], [
        (e.seq, reason_codes(e)) for e in events
    ]
    held = [e for e in events if e.decision == "hold"]
    assert [r.text for e in held for r in e.reasons] == [
        "The unit is on hold H-7: seal supplier notice",
        "The unit is on hold H-7: seal supplier notice",
    ]
    assert holds_left == []


async def test_process_values_polled_before_the_trigger_are_read_again(
    make_plant: MakePlant, tap: EventTap
) -> None:
    # Values polled every 2 s mostly describe a unit that has left: the engine reads them
    # again after each trigger, so the excursion of unit 2 is the one held.
    units = 5
    line = make_line(units=units, faults={2: [Fault.SEAL_EXCURSION]})
    plant = await make_plant(line, poll_ms=2000, max_age_ms=10_000)
    async with running_agent(plant) as agent:
        await plant.run_line(units=units)
        events = await tap.wait_for(units)
        assert agent.engine is not None
        rereads = agent.engine.counters.parameter_rereads

    assert plant.outcomes(units) == ["pass", "pass", "reject", "pass", "pass"], [
        (e.seq, reason_codes(e)) for e in events
    ]
    held = by_serial(events)[plant.serial(2)][0]
    assert reason_codes(held) == ["parameter_out_of_limits"]
    assert held.reasons[0].text.startswith("seal_temp = 19")
    assert rereads >= 3  # most units came between two polls
