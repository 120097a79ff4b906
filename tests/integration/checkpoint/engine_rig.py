"""A rig for engine tests: the engine alone on a real outbox, local state and simulated PLC
(no agent, no broker). Used by the deadline and role tests."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.adapters.plc import ModbusPlc
from edge.checkpoint.alarms import AlarmLog
from edge.checkpoint.collector import ReadCollector
from edge.checkpoint.engine import CheckpointEngine, EngineSettings, Outcome, warm_up_parsers
from edge.checkpoint.interlock import Interlock
from edge.checkpoint.plc_map import build_plc
from edge.checkpoint.record import Station
from edge.checkpoint.roles import StationRole
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
    plc: ModbusPlc

    def engine(
        self,
        *,
        commit_delay_s: float = 0.0,
        role: StationRole | None = None,
        interlock: Interlock | None = None,
    ) -> CheckpointEngine:
        sink = SlowOutbox(self.outbox, delay_s=commit_delay_s) if commit_delay_s else self.outbox
        rules = RulesConfig.model_validate(
            {"route_predecessor": {"enabled": False}, "link_down": {"enabled": False}}
        )
        engine = CheckpointEngine(
            EngineSettings(station=STATION, rules=rules),
            state=self.state,
            outbox=sink,
            collector=self.collector,
            interlock=interlock or self.interlock,
            alarm=self.alarms.raise_alarm,
            role=role,
        )
        warm_up_parsers()
        return engine

    async def inspect_one(self, engine: CheckpointEngine, *texts: str) -> Outcome:
        """One window with a read of each of `texts` (default: the unit's UDI)."""
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        engine.on_outcome = done.set_result
        for text in texts or (TEXT,):
            self.collector.add(
                CodeRead(
                    text=text,
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
        return [e for e in await self.events() if isinstance(e, UnitInspected)]

    async def events(self) -> list[Event]:
        records = await self.outbox.peek(100)
        return [decode_event(r.payload) for r in records]

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
        plc=plc,
    )
    await plc.close()
    await outbox.close()
    await state.close()
    await sim.stop()
