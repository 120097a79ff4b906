"""The decision deadline, on the engine alone: a real outbox, local state and simulated PLC, with
the record or the facts made late on purpose."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from engine_rig import INTERLOCK, Rig

from edge.adapters.plc import ModbusPlc
from edge.adapters.plc_types import PlcTooLateError, Value, WriteResult
from edge.checkpoint.interlock import Interlock
from edge.checkpoint.plc_map import output_name


async def test_a_unit_passes_when_everything_is_in_time(rig: Rig) -> None:
    outcome = await rig.inspect_one(rig.engine())
    assert (outcome.decision, outcome.reasons, outcome.seq) == ("pass", (), 1)
    assert rig.outputs() == [("pass", True)]
    (event,) = await rig.recorded()
    assert event.decision == "pass"
    assert event.interlock is not None
    assert (event.interlock.output, event.interlock.written) == ("pass", False)


async def test_a_decision_not_ready_by_the_deadline_is_a_hold(rig: Rig) -> None:
    rig.state.delay_s = 0.1
    outcome = await rig.inspect_one(rig.engine())
    assert (outcome.decision, outcome.reasons) == ("hold", ("deadline_missed",))
    assert rig.outputs() == [("reject", True)]
    (event,) = await rig.recorded()
    assert [r.text for r in event.reasons] == [
        "No decision within the decision deadline (60 ms after the trigger)."
    ]
    assert event.udi is not None and event.udi.serial == "SN0001"


async def test_a_pass_not_recorded_by_the_deadline_is_held_then_corrected(rig: Rig) -> None:
    outcome = await rig.inspect_one(rig.engine(commit_delay_s=0.15))
    assert (outcome.decision, outcome.reasons, outcome.corrected) == (
        "hold",
        ("deadline_missed",),
        True,
    )
    assert rig.outputs() == [("reject", True)]
    first, correction = await rig.recorded()
    assert (first.seq, first.decision) == (1, "pass")
    assert (correction.seq, correction.decision, correction.corrects) == (
        2,
        "hold",
        first.event_id,
    )
    assert correction.interlock is not None and correction.interlock.output == "reject"
    assert rig.alarms.counts["deadline_missed"] == 1


class SlowPort:
    """The real PLC adapter, reached `delay_s` late for every write (a busy link)."""

    def __init__(self, plc: ModbusPlc, *, delay_s: float) -> None:
        self.plc = plc
        self.delay_s = delay_s

    async def write(self, name: str, value: Value, **options: Any) -> WriteResult:
        await asyncio.sleep(self.delay_s)
        return await self.plc.write(name, value, **options)


async def test_a_pass_output_the_link_cannot_send_by_the_deadline_is_not_sent(rig: Rig) -> None:
    # Sent late, the pass would reach the PLC while the next unit is at the station.
    slow = Interlock(SlowPort(rig.plc, delay_s=0.1), INTERLOCK, alarm=rig.alarms.raise_alarm)
    outcome = await rig.inspect_one(rig.engine(interlock=slow))
    await slow.close()
    assert (outcome.decision, outcome.reasons, outcome.corrected) == (
        "hold",
        ("deadline_missed",),
        True,
    )
    assert ("pass", True) not in rig.outputs()
    assert ("reject", True) in rig.outputs()
    first, correction = await rig.recorded()
    assert (first.decision, correction.decision, correction.corrects) == (
        "pass",
        "hold",
        first.event_id,
    )


async def test_the_adapter_refuses_a_write_past_its_deadline(rig: Rig) -> None:
    with pytest.raises(PlcTooLateError, match=r"not sent: [0-9.]+ ms past its deadline"):
        await rig.plc.write(output_name("pass"), True, not_after_s=time.monotonic() - 0.01)
    assert rig.outputs() == []
