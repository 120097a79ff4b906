"""The trigger as the PLC's count of photo-eye edges (`edge: count`), against the simulated
PLC's `units_seen` counter: units whose pulse no poll saw, polls a stalled CPU delayed, the
counter's wrap, and units that went by while the agent was away."""

from __future__ import annotations

import asyncio
import time

import pytest
from checkpoint_plant import (
    PHOTO_EYE,
    UNIT_COUNTER,
    EventTap,
    MakePlant,
    SimPlant,
    by_serial,
    reason_codes,
    running_agent,
    until_line_time,
)

from edge.checkpoint.status_report import gather_status, render_status
from edge.sim.units import SimLine

UNITS = 12


def short_pulses(units: int = UNITS) -> SimLine:
    """10 units/s whose photo-eye pulse (1 ms) is far shorter than the trigger poll period
    (5 ms): the PLC scanning its input every millisecond sees each, a poll mostly not."""
    return SimLine(
        seed=5, rate_per_s=10.0, first_arrival_s=0.2, photo_eye_pulse_ms=1, unit_count=units
    )


def codes(plant: SimPlant, tap: EventTap) -> list[tuple[int, str, list[str]]]:
    return [(e.seq, e.udi.serial if e.udi else "-", reason_codes(e)) for e in tap.inspected()]


@pytest.mark.parametrize("trigger", ["edge", "count"])
async def test_short_pulses_are_missed_by_edges_and_counted_by_the_plc(
    make_plant: MakePlant, tap: EventTap, trigger: str
) -> None:
    plant = await make_plant(
        short_pulses(), trigger=UNIT_COUNTER if trigger == "count" else PHOTO_EYE
    )
    async with running_agent(plant) as agent:
        await plant.run_line(units=UNITS)
        events = await tap.wait_for(UNITS)
        assert agent.engine is not None and agent.plc is not None
        counters = agent.engine.counters
        unwatched = agent.plc.units_unwatched

    outcomes = plant.outcomes(UNITS)
    if trigger == "count":
        assert outcomes == ["pass"] * UNITS, codes(plant, tap)
        assert [e.decision for e in events] == ["pass"] * UNITS
        assert counters.units == UNITS and counters.orphan_reads == 0
        assert unwatched == 0
    else:
        # Most pulses fall between two polls: those units are read without a trigger, held.
        missed = [e for e in events if "no_trigger" in reason_codes(e)]
        assert len(missed) >= 3, codes(plant, tap)
        assert outcomes.count("pass") <= UNITS - len(missed)


async def test_units_counted_during_a_stall_get_a_window_each_in_order(
    make_plant: MakePlant, tap: EventTap
) -> None:
    # 40 units/s; the whole process (agent, PLC, scanner) stalls for 45 ms while two units
    # pass the photo-eye: the first poll after it counts both, and their reads, in conveyor
    # order, go to their windows in that order.
    units = 16
    line = SimLine(
        seed=5, rate_per_s=40.0, first_arrival_s=0.2, photo_eye_pulse_ms=10, unit_count=units
    )
    plant = await make_plant(line, trigger=UNIT_COUNTER)
    async with running_agent(plant) as agent:
        clock = plant.start_line()
        following = asyncio.create_task(
            plant.scanner.follow(plant.line, clock=clock, read_delay_ms=8, units=units)
        )
        await until_line_time(clock, line.arrival_s(7) + 0.018)
        time.sleep(0.045)  # noqa: ASYNC251 - the stall is the point
        await following
        events = await tap.wait_for(units)
        assert agent.engine is not None
        batched = agent.engine.counters.batched_units

    assert batched >= 2, codes(plant, tap)
    # Each unit recorded once, passed on its own read: no read went to the other unit of the
    # batch (a unit with no read or two different ones would be held).
    assert [e.decision for e in events] == ["pass"] * units, codes(plant, tap)
    assert sorted(by_serial(events)) == sorted(plant.serial(i) for i in range(units))
    assert all(len(e.reads) == 1 for e in events)
    # Units 8 and 9 arrived during the stall, 25 ms apart, and were decided after it: the
    # simulated PLC credits an output to the unit at the photo-eye when it arrives, so unit 8's
    # pass may reach unit 9 (the 90 ms deadline of this config is longer than the pitch).
    outcomes = plant.outcomes(units)
    assert outcomes[:8] == ["pass"] * 8 and outcomes[10:] == ["pass"] * 6, codes(plant, tap)


@pytest.mark.parametrize(
    ("trigger", "offset"),
    [
        (UNIT_COUNTER, 2**32 - 5),
        # The low word of the simulated PLC's uint32 counter: a uint16 counter.
        (
            UNIT_COUNTER.replace("address: 4", "address: 5").replace("uint32", "uint16"),
            7 * 2**16 - 5,
        ),
    ],
    ids=["uint32", "uint16"],
)
async def test_the_counter_wraps_without_a_lost_or_phantom_unit(
    make_plant: MakePlant, tap: EventTap, trigger: str, offset: int
) -> None:
    plant = await make_plant(short_pulses(), trigger=trigger)
    plant.plc.counter_offset = offset
    async with running_agent(plant) as agent:
        await plant.run_line(units=UNITS)
        events = await tap.wait_for(UNITS)
        assert agent.plc is not None and agent.plc.counter is not None
        resets, value = agent.plc.counter_resets, agent.plc.counter.value

    assert plant.outcomes(UNITS) == ["pass"] * UNITS, codes(plant, tap)
    assert len(events) == UNITS and resets == 0
    assert value == UNITS - 5


async def test_units_that_pass_while_the_agent_is_away_are_reported_not_windowed(
    make_plant: MakePlant, tap: EventTap
) -> None:
    units = 30
    plant = await make_plant(short_pulses(units), trigger=UNIT_COUNTER)
    line = plant.line
    async with running_agent(plant, status_period_s=0.1) as first:
        clock = plant.start_line()
        following = asyncio.create_task(
            plant.scanner.follow(line, clock=clock, read_delay_ms=15, units=units)
        )
        await until_line_time(clock, line.arrival_s(9) + 0.06)
        clock.pause()
        await tap.wait_for(10)
        assert first.engine is not None
        first_units = first.engine.counters.units
    # Units 10-19 pass with no agent running; the conveyor stops again before unit 20.
    clock.resume()
    await until_line_time(clock, line.arrival_s(19) + 0.06)
    clock.pause()
    async with running_agent(plant, status_period_s=0.1, work_order=False) as second:
        await asyncio.sleep(0.1)  # the first poll: the baseline
        clock.resume()
        await following
        events = await tap.wait_for(20)
        await asyncio.sleep(0.3)
        assert second.engine is not None and second.plc is not None
        second_units = second.engine.counters.units
        unwatched = second.plc.units_unwatched
        alarms = [(a.code, a.message) for a in second.alarms.recent]
        report = await gather_status(second.checkpoint)

    assert (first_units, unwatched, second_units) == (10, 10, 10), codes(plant, tap)
    assert alarms == [
        (
            "units_unwatched",
            f"10 units passed the photo-eye while the agent was not watching (the PLC's unit"
            f" counter, 127.0.0.1:{plant.plc.port}): no decision and no record was made for"
            " them",
        )
    ]
    outcomes = plant.outcomes(units)
    assert outcomes == ["pass"] * 10 + ["none"] * 10 + ["pass"] * 10, codes(plant, tap)
    assert len(events) == 20 and all(e.decision == "pass" for e in events)
    assert report.agent is not None and report.agent.counters["units_unwatched"] == 10
    assert (
        "units unwatched: 10 (the PLC counted them while the agent was not watching)"
        in render_status(report)
    )


async def test_a_plc_link_outage_makes_the_next_poll_a_baseline_and_reports_the_gap(
    make_plant: MakePlant, tap: EventTap
) -> None:
    units = 20
    plant = await make_plant(short_pulses(units), trigger=UNIT_COUNTER)
    line = plant.line
    async with running_agent(plant) as agent:
        assert agent.plc is not None
        clock = plant.start_line()
        following = asyncio.create_task(
            plant.scanner.follow(line, clock=clock, read_delay_ms=15, units=units)
        )
        await until_line_time(clock, line.arrival_s(5) + 0.05)
        # The PLC is gone for 0.35 s: units 6-8 pass unseen (their reads are held, no trigger).
        await plant.plc.restart(down_s=0.35)
        await following
        events = await tap.wait_for(units - 3, timeout_s=8)
        await asyncio.sleep(0.3)
        unwatched, reconnects = agent.plc.units_unwatched, agent.plc.reconnects
        alarms = [a.code for a in agent.alarms.recent]

    assert reconnects >= 1
    held = [e for e in events if e.decision == "hold"]
    # Units the agent saw no edge for were counted by the PLC: no phantom window for them.
    assert 1 <= unwatched <= 5, codes(plant, tap)
    assert "units_unwatched" in alarms
    assert all("no_read" not in reason_codes(e) for e in events), codes(plant, tap)
    assert len(events) - len(held) >= units - 6
