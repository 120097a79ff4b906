"""Faults around the sealing agent while the line runs: the PLC link cut, the scanner gone, a
pass output that does not take, a full outbox. What the PLC saw, and what was recorded."""

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

from edge.outbox import Outbox
from protocols.codec import decode_event
from protocols.events import UnitInspected

UNITS = 12


async def test_units_passing_while_the_plc_link_is_cut_are_recorded_as_held(
    make_plant: MakePlant, tap: EventTap
) -> None:
    plant = await make_plant(make_line())
    async with running_agent(plant) as agent:
        clock = plant.start_line()
        following = asyncio.create_task(
            plant.scanner.follow(plant.line, clock=clock, read_delay_ms=15, units=UNITS)
        )
        await until_line_time(clock, plant.line.arrival_s(4) - 0.03)
        await plant.plc.stop()
        await until_line_time(clock, plant.line.arrival_s(6) + 0.04)
        await plant.plc.start()
        await following
        await asyncio.sleep(0.15)
        events = await tap.wait_for(UNITS)
        assert agent.engine is not None

    outcomes = plant.outcomes(UNITS)
    assert outcomes[:4] == ["pass"] * 4, plant.writes(UNITS)
    assert outcomes[4:6] == ["none"] * 2
    # Unit 6 passed the photo-eye unseen; the link may be back in time for its reject.
    assert outcomes[6] in ("none", "reject")
    # Unit 7 may still be decided (held) when unit 8 is in front of the photo-eye, on a link
    # that has just come back: its reject then reaches unit 8 too.
    assert outcomes[8] in ("pass", "both"), plant.writes(UNITS)
    assert outcomes[9:] == ["pass"] * 3, plant.writes(UNITS)
    units = by_serial(events)
    for index in (4, 5, 6):
        (held,) = units[plant.serial(index)]
        assert held.decision == "hold"
        assert "no_trigger" in reason_codes(held)
    for index in (4, 5):
        (held,) = units[plant.serial(index)]
        assert reason_codes(held)[0] == "link_down"
        assert held.interlock is not None and not held.interlock.written
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert agent.alarms.counts["line_stop_requested"] >= 1


async def test_units_are_held_while_the_scanner_is_gone(
    make_plant: MakePlant, tap: EventTap
) -> None:
    plant = await make_plant(make_line())
    async with running_agent(plant):
        clock = plant.start_line()
        following = asyncio.create_task(
            plant.scanner.follow(plant.line, clock=clock, read_delay_ms=15, units=UNITS)
        )
        await until_line_time(clock, plant.line.arrival_s(3) - 0.03)
        await plant.scanner.unplug()
        await until_line_time(clock, plant.line.arrival_s(6) - 0.09)
        await plant.scanner.replug()
        await following
        await asyncio.sleep(0.15)
        events = await tap.wait_for(UNITS)

    outcomes = plant.outcomes(UNITS)
    assert outcomes[:3] == ["pass"] * 3
    assert outcomes[3:6] == ["reject"] * 3
    assert outcomes[7:] == ["pass"] * 5
    held = [e for e in events[3:6]]
    assert [reason_codes(e) for e in held] == [["no_read", "link_down"]] * 3
    assert held[0].reasons[1].text == "Link down: scanner unit."


async def test_a_pass_output_that_does_not_take_is_corrected_and_stops_the_line(
    make_plant: MakePlant, tap: EventTap
) -> None:
    plant = await make_plant(make_line())
    async with running_agent(plant) as agent:
        clock = plant.start_line()
        following = asyncio.create_task(
            plant.scanner.follow(plant.line, clock=clock, read_delay_ms=15, units=UNITS)
        )
        await until_line_time(clock, plant.line.arrival_s(3) - 0.03)
        plant.plc.force_output("pass", False)
        events = await tap.wait_for(5)
        following.cancel()
        line_stopped = clock.paused
        alarms = dict(agent.alarms.counts)

    assert plant.outcomes(3) == ["pass"] * 3
    history = plant.plc.unit_history(3)
    assert history.outcome == "both"  # the pass was written, did not take, then the reject
    assert [(w.name, w.value) for w in history.writes if w.name in ("stop", "reject")][:2] == [
        ("reject", True),
        ("stop", True),
    ]
    assert line_stopped
    first, correction = events[3], events[4]
    assert (first.decision, correction.decision) == ("pass", "hold")
    assert correction.corrects == first.event_id
    assert correction.udi == first.udi and correction.reads == first.reads
    assert reason_codes(correction) == ["interlock_unverified"]
    assert correction.reasons[0].text.startswith("The pass output was not verified (read back")
    assert correction.interlock is not None
    assert (correction.interlock.output, correction.interlock.verified) == ("pass", False)
    assert alarms["interlock_unverified"] == 1 and alarms["line_stop_requested"] == 1


async def test_a_full_outbox_holds_every_unit_and_no_pass_goes_unrecorded(
    make_plant: MakePlant,
) -> None:
    # No broker to drain to, and room for about three events.
    plant = await make_plant(make_line(units=8), broker_url="mqtt://127.0.0.1:9", outbox_bytes=3000)
    async with running_agent(plant) as agent:
        await plant.run_line(units=8)
        alarms = dict(agent.alarms.counts)
        assert agent.engine is not None
        counters = agent.engine.counters
    outbox = await Outbox.open(
        plant.tmp / "outbox.sqlite3", device_id="edge-t-sealing", max_bytes=10**6, max_age_s=3600
    )
    try:
        records = await outbox.peek(100)
    finally:
        await outbox.close()
    recorded = [e for r in records if isinstance(e := decode_event(r.payload), UnitInspected)]
    assert len(recorded) == len(records)

    outcomes = plant.outcomes(8)
    passed = outcomes.count("pass")
    assert passed >= 1
    assert outcomes == ["pass"] * passed + ["reject"] * (8 - passed)
    assert [e.decision for e in recorded] == ["pass"] * passed
    assert [e.udi.serial for e in recorded if e.udi] == [plant.serial(i) for i in range(passed)]
    assert alarms["outbox_full"] == 2 * (8 - passed)  # the refused pass and the refused hold
    assert counters.reasons["outbox_full"] == 8 - passed
    assert counters.unrecorded == 8 - passed


async def test_while_a_critical_task_is_down_units_are_held_and_the_heartbeat_stops(
    make_plant: MakePlant, tap: EventTap
) -> None:
    plant = await make_plant(make_line(units=6))

    async def crashing() -> None:
        raise RuntimeError("probe failed")

    async with running_agent(plant) as agent:
        await asyncio.sleep(0.5)  # heartbeats while healthy
        beats_before = len([w for w in plant.plc.writes if w.name == "heartbeat"])
        agent.supervisor.start("probe", crashing, critical=True)
        await plant.run_line(units=6)
        beats_during = len([w for w in plant.plc.writes if w.name == "heartbeat"]) - beats_before
        events = await tap.wait_for(6)
        health = {h.name: h for h in agent.supervisor.health()}

    assert plant.outcomes(6) == ["reject"] * 6
    assert {r.text for e in events for r in e.reasons if r.code == "link_down"} == {
        "Link down: task probe."
    }
    assert beats_before >= 2 and beats_during == 0
    assert health["probe"].restarts >= 3
    assert health["probe"].last_error == "RuntimeError: probe failed"
