"""The decision deadline, on the engine alone: a real outbox, local state and simulated PLC, with
the record or the facts made late on purpose.

Past its deadline a unit may have left the checkpoint: neither its pass nor its reject output
is written then (the PLC would apply it to the next unit). The PLC passes only a unit that got
the pass output, so a held unit whose reject came too late is diverted all the same."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from engine_rig import INTERLOCK, TEXT, Rig

from edge.adapters.plc import ModbusPlc
from edge.adapters.plc_codec import Value
from edge.adapters.plc_types import PlcTooLateError, WriteResult
from edge.checkpoint.interlock import Interlock
from edge.checkpoint.plc_map import output_name
from protocols.config import InterlockConfig


async def test_a_unit_passes_when_everything_is_in_time(rig: Rig) -> None:
    outcome = await rig.inspect_one(rig.engine())
    assert (outcome.decision, outcome.reasons, outcome.seq) == ("pass", (), 1)
    assert rig.outputs() == [("pass", True)]
    (event,) = await rig.recorded()
    assert event.decision == "pass"
    assert event.interlock is not None
    assert (event.interlock.output, event.interlock.written) == ("pass", False)


async def test_a_decision_not_ready_by_the_deadline_is_a_hold_without_a_late_reject(
    rig: Rig,
) -> None:
    rig.state.delay_s = 0.1
    outcome = await rig.inspect_one(rig.engine())
    assert (outcome.decision, outcome.reasons) == ("hold", ("deadline_missed", "reject_too_late"))
    assert rig.outputs() == []
    (event,) = await rig.recorded()
    assert [r.code for r in event.reasons] == ["deadline_missed", "reject_too_late"]
    assert event.reasons[0].text == (
        "No decision within the decision deadline (60 ms after the trigger)."
    )
    assert event.reasons[1].text.startswith(
        "The reject output was not written: the unit's decision deadline had passed and the"
        " PLC would have applied it to the next unit (PLC 127.0.0.1:"
    )
    assert "ms past its deadline" in event.reasons[1].text
    assert event.interlock is not None
    assert (event.interlock.output, event.interlock.written) == ("reject", False)
    assert event.udi is not None and event.udi.serial == "SN0001"
    assert rig.alarms.counts["reject_too_late"] == 1
    assert rig.interlock.line_stop_requested is None


async def test_a_pass_not_recorded_by_the_deadline_is_held_then_corrected(rig: Rig) -> None:
    outcome = await rig.inspect_one(rig.engine(commit_delay_s=0.15))
    assert (outcome.decision, outcome.reasons, outcome.corrected) == (
        "hold",
        ("deadline_missed", "reject_too_late"),
        True,
    )
    assert rig.outputs() == []
    first, correction = await rig.recorded()
    assert (first.seq, first.decision) == (1, "pass")
    assert (correction.seq, correction.decision, correction.corrects) == (
        2,
        "hold",
        first.event_id,
    )
    assert [r.code for r in correction.reasons] == ["deadline_missed", "reject_too_late"]
    assert correction.interlock is not None
    assert (correction.interlock.output, correction.interlock.written) == ("reject", False)
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
        ("deadline_missed", "reject_too_late"),
        True,
    )
    # Neither output reached the PLC: the unit got no pass, and the PLC diverts it.
    assert rig.outputs() == []
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


async def test_a_hold_in_time_gets_its_reject(rig: Rig) -> None:
    other_product = TEXT.replace("09506000134352", "09506000134376")
    outcome = await rig.inspect_one(rig.engine(), other_product)
    assert (outcome.decision, outcome.reasons) == ("hold", ("not_work_order_product",))
    assert rig.outputs() == [("reject", True)]
    (event,) = await rig.recorded()
    assert event.interlock is not None
    assert (event.interlock.output, event.interlock.written, event.interlock.verified) == (
        "reject",
        True,
        True,
    )


async def test_a_late_reject_without_a_pass_output_stops_the_line(rig: Rig) -> None:
    # Without a pass output the PLC lets every unit through that is not rejected: a reject
    # too late for its unit cannot be left out quietly, so the line is stopped.
    reject_only = InterlockConfig.model_validate(
        {"reject": {"table": "coil", "address": 1}, "line_stop": {"table": "coil", "address": 2}}
    )
    interlock = Interlock(rig.plc, reject_only, alarm=rig.alarms.raise_alarm)
    rig.state.delay_s = 0.1
    outcome = await rig.inspect_one(rig.engine(interlock=interlock))
    await interlock.close()
    assert (outcome.decision, outcome.reasons) == ("hold", ("deadline_missed", "reject_too_late"))
    assert rig.outputs() == [("stop", True)]
    assert interlock.line_stop_requested is not None
    assert interlock.line_stop_requested.startswith(
        "a held unit (deadline_missed) could not be rejected by its deadline"
    )
    assert rig.alarms.counts["line_stop_requested"] == 1
    assert "reject_too_late" not in rig.alarms.counts
