"""The decision deadline, on the engine alone: a real outbox, local state and simulated PLC, with
the record or the facts made late on purpose."""

from __future__ import annotations

from engine_rig import Rig


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
