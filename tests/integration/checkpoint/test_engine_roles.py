"""The role hook of the engine (edge/checkpoint/roles/base.py), on the engine rig: station
scans judged by the role, role records committed after the unit's own and before its pass
output, and a failing role holding the unit. The role here is a small test double: the
roles themselves are tested with the simulated plant."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

from engine_rig import GTIN, STATION, TEXT, Rig

from edge.checkpoint.facts import Facts
from edge.checkpoint.roles import StationRole, StationScan
from edge.checkpoint.verdict import Outcome
from edge.reads import CodeRead
from protocols.events import Event, LotReceived, Reason, UnitInspected
from protocols.ids import uuid7
from protocols.parts import Decision

LOAD = "LOAD:LOT-A"


def lot_record(lot: str) -> LotReceived:
    return LotReceived(
        event_id=uuid7(),
        device_id=STATION.device_id,
        occurred_at=dt.datetime.now(dt.UTC),
        site=STATION.site,
        line=STATION.line,
        checkpoint=STATION.checkpoint,
        di=GTIN,
        lot=lot,
        quantity=1,
        supplier="test",
        inspection_state="accepted",
    )


class LoadingRole(StationRole):
    """Claims `LOAD:` reads; refuses lots named in `refused`; records one lot per unit."""

    name = "loading"

    def __init__(self, *, refused: Sequence[str] = (), fail_on_unit: bool = False) -> None:
        self.refused = set(refused)
        self.fail_on_unit = fail_on_unit
        self.loaded: list[str] = []
        self.claimed_with_unit: list[tuple[str, ...]] = []
        self.settled_outcomes: list[Outcome] = []

    def claims(self, read: CodeRead) -> bool:
        return read.text.startswith("LOAD:")

    async def station_scan(self, reads: Sequence[CodeRead]) -> StationScan:
        lot = reads[0].text.removeprefix("LOAD:")
        if lot in self.refused:
            reason = Reason(code="lot_refused", text=f"Lot {lot} may not be loaded.")
            return StationScan(label=f"lot {lot}", reasons=(reason,), line_stop="wrong lot")
        self.loaded.append(lot)
        return StationScan(label=f"lot {lot}", events=(lot_record(lot),))

    async def unit_events(
        self, facts: Facts, decision: Decision, claimed: Sequence[CodeRead]
    ) -> tuple[Event, ...]:
        if self.fail_on_unit:
            raise RuntimeError("bill of materials unreadable")
        self.claimed_with_unit.append(tuple(read.text for read in claimed))
        return (lot_record(self.loaded[-1]),) if decision == "pass" and self.loaded else ()

    async def settled(self, facts: Facts | None, outcome: Outcome) -> None:
        self.settled_outcomes.append(outcome)


async def test_an_accepted_station_scan_is_recorded_then_passed(rig: Rig) -> None:
    role = LoadingRole()
    outcome = await rig.inspect_one(rig.engine(role=role), LOAD)
    assert (outcome.decision, outcome.unit, outcome.seq) == ("pass", "lot LOT-A", 1)
    assert rig.outputs() == [("pass", True)]
    (event,) = await rig.events()
    assert isinstance(event, LotReceived) and event.lot == "LOT-A"
    assert role.settled_outcomes == [outcome]


async def test_a_refused_station_scan_rejects_and_stops_the_line(rig: Rig) -> None:
    role = LoadingRole(refused=("LOT-A",))
    outcome = await rig.inspect_one(rig.engine(role=role), LOAD)
    assert (outcome.decision, outcome.reasons) == ("hold", ("lot_refused",))
    assert ("reject", True) in rig.outputs()
    assert ("stop", True) in rig.outputs()
    assert ("pass", True) not in rig.outputs()
    assert rig.alarms.counts["lot_refused"] == 1
    assert await rig.events() == []


async def test_role_records_follow_the_units_own_before_its_pass(rig: Rig) -> None:
    role = LoadingRole()
    engine = rig.engine(role=role)
    await rig.inspect_one(engine, LOAD)
    await asyncio.sleep(0.1)  # past the load's read window: the unit is a window of its own
    outcome = await rig.inspect_one(engine, TEXT)
    assert (outcome.decision, outcome.seq) == ("pass", 2)
    load, inspected, packed = await rig.events()
    assert isinstance(load, LotReceived) and load.seq == 1
    assert isinstance(inspected, UnitInspected) and inspected.seq == 2
    assert isinstance(packed, LotReceived) and packed.seq == 3
    assert rig.outputs() == [("pass", True), ("pass", True)]


async def test_claimed_reads_beside_the_unit_go_to_the_role(rig: Rig) -> None:
    role = LoadingRole()
    outcome = await rig.inspect_one(rig.engine(role=role), TEXT, "LOAD:COMPONENT-1")
    assert outcome.decision == "pass"
    assert outcome.unit is not None and "SN0001" in outcome.unit
    assert role.claimed_with_unit == [("LOAD:COMPONENT-1",)]


async def test_a_failing_role_holds_the_unit_and_says_why(rig: Rig) -> None:
    outcome = await rig.inspect_one(rig.engine(role=LoadingRole(fail_on_unit=True)), TEXT)
    assert (outcome.decision, outcome.reasons) == ("hold", ("role_error",))
    assert rig.outputs() == [("reject", True)]
    (event,) = await rig.recorded()
    assert "bill of materials unreadable" in event.reasons[0].text
