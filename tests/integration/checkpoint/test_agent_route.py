"""Route knowledge without the cloud: the sealing agent hears assembly's decisions on the broker
and holds a unit that skipped assembly or was held there."""

from __future__ import annotations

import asyncio
import datetime as dt

import msgspec
import paho.mqtt.client as mqtt
from checkpoint_plant import (
    BROKER,
    EventTap,
    MakePlant,
    by_serial,
    make_line,
    reason_codes,
    running_agent,
)
from paho.mqtt.enums import CallbackAPIVersion

from edge.sim.units import SimLine
from protocols.codec import encode_event, event_hash
from protocols.events import ParsedUdi, Reason, UnitInspected
from protocols.ids import uuid7
from protocols.topics import event_topic

UNITS = 8


def assembly_events(line: SimLine, decisions: dict[int, str]) -> list[bytes]:
    """Assembly's event chain for the units in `decisions` (unit index -> pass/hold)."""
    encoded: list[bytes] = []
    for seq, (index, decision) in enumerate(sorted(decisions.items()), start=1):
        udi = line.unit(index).udi
        event = UnitInspected(
            event_id=uuid7(),
            device_id="edge-t-assembly",
            occurred_at=dt.datetime.now(dt.UTC),
            site="plant-t",
            line="line-t",
            checkpoint="assembly",
            udi=ParsedUdi(issuer="GS1", di=udi.di, lot=udi.lot, serial=udi.serial),
            decision="pass" if decision == "pass" else "hold",
            reasons=() if decision == "pass" else (Reason(code="parameter_out_of_limits"),),
            ruleset_version="tracegate-rules/1",
        )
        event = msgspec.structs.replace(
            event, seq=seq, prev_hash=event_hash(encoded[-1]) if encoded else ""
        )
        encoded.append(encode_event(event))
    return encoded


def publish(prefix: str, payloads: list[bytes]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(*BROKER)
    client.loop_start()
    try:
        topic = event_topic("plant-t", "line-t", "assembly", prefix=prefix)
        for payload in payloads:
            client.publish(topic, payload, qos=1).wait_for_publish(5)
    finally:
        client.disconnect()
        client.loop_stop()


async def test_a_unit_that_skipped_or_was_held_at_the_predecessor_is_held(
    make_plant: MakePlant, tap: EventTap, prefix: str
) -> None:
    plant = await make_plant(make_line(units=UNITS), route=True)
    # Unit 3 never passed assembly; unit 5 was held there.
    decisions = {i: "pass" for i in range(UNITS) if i != 3}
    decisions[5] = "hold"
    async with running_agent(plant) as agent:
        assert agent.route is not None
        await asyncio.to_thread(publish, prefix, assembly_events(plant.line, decisions))
        async with asyncio.timeout(5):
            while agent.route.counters.recorded < len(decisions):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        await plant.run_line(units=UNITS)
        events = await tap.wait_for(UNITS)

    assert plant.outcomes(UNITS) == ["pass"] * 3 + ["reject", "pass", "reject", "pass", "pass"]
    units = by_serial(events)
    (skipped,) = units[plant.serial(3)]
    assert reason_codes(skipped) == ["route_unknown"]
    assert skipped.reasons[0].text == "No record that the unit passed assembly (policy: hold)."
    (held,) = units[plant.serial(5)]
    assert [r.text for r in held.reasons] == ["The unit was held at assembly."]
