"""The decision deadline, on the engine alone: a real outbox, local state and simulated PLC, with
the record or the facts made late on purpose."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.checkpoint.alarms import AlarmLog
from edge.checkpoint.collector import ReadCollector
from edge.checkpoint.engine import CheckpointEngine, EngineSettings, Outcome, warm_up_parsers
from edge.checkpoint.interlock import Interlock
from edge.checkpoint.plc_map import build_plc
from edge.checkpoint.record import Station
from edge.checkpoint.state import LocalState, UnitFacts
from edge.checkpoint.window import ReadWindows
from edge.outbox import CommittedEvent, Outbox
from edge.reads import CodeRead
from edge.sim.plc import SimPlc
from edge.sim.units import SimLine
from protocols.codec import decode_event
from protocols.commands import WorkOrder
from protocols.config import InterlockConfig, PlcConfig, PlcOutput, RulesConfig
from protocols.events import Event, UnitInspected
from protocols.ids import uuid7
from protocols.udi import Udi

GTIN = "09506000134352"
TEXT = f"01{GTIN}17281231" + "10LOT42\x1d21SN0001"
STATION = Station(device_id="edge-t-engine", site="plant-t", line="line-t", checkpoint="sealing")
INTERLOCK = InterlockConfig(
    pass_=PlcOutput(table="coil", address=0),
    reject=PlcOutput(table="coil", address=1),
    line_stop=PlcOutput(table="coil", address=2),
    pulse_ms=20,
)


class SlowOutbox:
    """The real outbox, reached `delay_s` late (a stalling SD card)."""

    def __init__(self, outbox: Outbox, *, delay_s: float) -> None:
        self.outbox = outbox
        self.delay_s = delay_s

    async def commit(self, event: Event) -> CommittedEvent:
        await asyncio.sleep(self.delay_s)
        return await self.outbox.commit(event)


class SlowState(LocalState):
    """The real local state whose unit lookups take `delay_s`."""

    delay_s = 0.0

    async def unit_facts(
        self, *, checkpoint: str, predecessors: tuple[str, ...], udi: Udi
    ) -> UnitFacts:
        await asyncio.sleep(self.delay_s)
        return await super().unit_facts(checkpoint=checkpoint, predecessors=predecessors, udi=udi)


@dataclass
class Rig:
    sim: SimPlc
    state: SlowState
    outbox: Outbox
    alarms: AlarmLog
    collector: ReadCollector
    interlock: Interlock

    def engine(self, *, commit_delay_s: float = 0.0) -> CheckpointEngine:
        sink = SlowOutbox(self.outbox, delay_s=commit_delay_s) if commit_delay_s else self.outbox
        rules = RulesConfig.model_validate(
            {"route_predecessor": {"enabled": False}, "link_down": {"enabled": False}}
        )
        engine = CheckpointEngine(
            EngineSettings(station=STATION, rules=rules),
            state=self.state,
            outbox=sink,
            collector=self.collector,
            interlock=self.interlock,
            alarm=self.alarms.raise_alarm,
        )
        warm_up_parsers()
        return engine

    async def inspect_one(self, engine: CheckpointEngine) -> Outcome:
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        engine.on_outcome = done.set_result
        self.collector.add(
            CodeRead(
                text=TEXT,
                symbology_id="]d2",
                source_kind="scanner",
                source_name="front",
                read_at=dt.datetime.now(dt.UTC),
                monotonic_s=time.monotonic(),
            )
        )
        outcome = await asyncio.wait_for(done, 2)
        await self.interlock.close()
        return outcome

    async def recorded(self) -> list[UnitInspected]:
        records = await self.outbox.peek(100)
        events = [decode_event(r.payload) for r in records]
        return [e for e in events if isinstance(e, UnitInspected)]

    def outputs(self) -> list[tuple[str, bool | int]]:
        return [(w.name, w.value) for w in self.sim.writes if w.value]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    sim = SimPlc(line=SimLine(seed=1))
    await sim.start()
    state = await SlowState.open(tmp_path / "state.sqlite3")
    await state.apply(
        WorkOrder(
            command_id=uuid7(),
            issued_at=dt.datetime.now(dt.UTC),
            issued_by="test",
            work_order="WO-1",
            products=(GTIN,),
            lot="LOT42",
            expiry=dt.date(2028, 12, 31),
            quantity=10,
        )
    )
    outbox = await Outbox.open(
        tmp_path / "outbox.sqlite3", device_id=STATION.device_id, max_bytes=10**6, max_age_s=3600
    )
    plc = build_plc(PlcConfig(host="127.0.0.1", port=sim.port), INTERLOCK)
    await plc.start()
    assert await plc.wait_up(timeout_s=2)
    alarms = AlarmLog()
    windows = ReadWindows(sources=("front",), read_window_s=0.03, deadline_s=0.06)
    collector = ReadCollector(
        windows,
        triggers_known_until=lambda: math.inf,
        settle_poll_s=0.001,
        reads_trigger=lambda read: True,
        settle_s=0.0,
    )
    yield Rig(
        sim=sim,
        state=state,
        outbox=outbox,
        alarms=alarms,
        collector=collector,
        interlock=Interlock(plc, INTERLOCK, alarm=alarms.raise_alarm),
    )
    await plc.close()
    await outbox.close()
    await state.close()
    await sim.stop()


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
