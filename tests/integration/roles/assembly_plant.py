"""Helpers of the goods-receipt and assembly tests: a line of two checkpoints on simulated
peers (TCP scanners, a pymodbus PLC at assembly), the real Mosquitto under a topic prefix of
the test's own, agents run in this process, and a tap that sees what the cloud would.

Imported by path (tests are not a package here): each test module puts this folder on
`sys.path` first.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.adapters.framing import Framing
from edge.checkpoint.agent import Agent, AgentOptions
from edge.checkpoint.roles.assembly import AssemblyRole
from edge.checkpoint.verdict import Outcome
from edge.sim.materials import SimMaterials
from edge.sim.plc import SimPlc
from edge.sim.scanner import SimScanner
from edge.sim.units import LineClock, SimLine
from protocols.codec import decode_event
from protocols.commands import BomLine, WorkOrder
from protocols.config import PlantConfig, load_plant_text
from protocols.events import Event
from protocols.ids import uuid7

BROKER = ("127.0.0.1", 1883)
FAR_FUTURE_S = 1e6

TUBING = "05391234000108"
CONNECTOR = "05391234000207"
POUCH = "05391234000306"
CATHETER = "05391234000405"
UNKNOWN = "05391234000504"

PLANT_YAML = """\
site: {{id: plant-t, name: Test plant, timezone: UTC}}
line: {{id: line-t, name: Test line}}
mqtt: {{broker_url: "mqtt://127.0.0.1:1883", topic_prefix: "{prefix}", status_period_s: 5}}
checkpoints:
  - id: goods-receipt
    name: Goods receipt
    role: goods_receipt
    device_id: edge-t-receipt
    scanners:
      - {{name: handheld, port: "{receipt_scanner}", framing: cr,
          symbology_prefixes: ["]C1", "]d2"], reconnect_backoff_min_s: 0.05,
          reconnect_backoff_max_s: 0.1}}
    goods_receipt:
      initial_state: {initial_state}
      materials:
        - {{di: "{tubing}", name: Tubing, supplier: Tubecorp, unit_of_measure: m}}
        - {{di: "{connector}", name: Connector, supplier: Connex}}
        - {{di: "{pouch}", name: Pouch, supplier: PouchPak, default_quantity: 500}}
        - {{di: "{catheter}", name: Catheter, supplier: Cathmed}}
    read_window_ms: 100
    decision_deadline_ms: 400
    rules:
      expiry: {{min_shelf_life_days: 30}}
    outbox: {{path: "{tmp}/receipt-outbox.sqlite3"}}
    state_path: "{tmp}/receipt-state.sqlite3"
  - id: assembly
    name: Assembly
    role: assembly
    device_id: edge-t-assembly
    scanners:
      - {{name: unit, port: "{unit_scanner}", framing: cr, symbology_prefixes: ["]d2"],
          reconnect_backoff_min_s: 0.05, reconnect_backoff_max_s: 0.1}}
      - {{name: feeder, port: "{feeder_scanner}", framing: cr, symbology_prefixes: ["]C1"],
          reconnect_backoff_min_s: 0.05, reconnect_backoff_max_s: 0.1}}
    assembly:
      loading_scanners: [feeder]
    plc:
      host: 127.0.0.1
      port: {plc_port}
      timeout_s: 0.2
      reconnect_backoff_min_s: 0.05
      reconnect_backoff_max_s: 0.1
      trigger: {{table: discrete_input, address: 0, poll_period_ms: 5}}
    interlock:
      pass: {{table: coil, address: 0}}
      reject: {{table: coil, address: 1}}
      line_stop: {{table: coil, address: 2}}
      pulse_ms: 30
    read_window_ms: 60
    decision_deadline_ms: 150
    rules:
      route_predecessor: {{enabled: false}}
    outbox: {{path: "{tmp}/assembly-outbox.sqlite3"}}
    state_path: "{tmp}/assembly-state.sqlite3"
"""


@dataclass
class MaterialPlant:
    """The simulated peers of both checkpoints and the config that points at them."""

    tmp: Path
    prefix: str
    line: SimLine
    plc: SimPlc
    receipt_scanner: SimScanner
    unit_scanner: SimScanner
    feeder: SimScanner
    materials: SimMaterials = field(default_factory=lambda: SimMaterials(seed=3))
    initial_state: str = "quarantined"

    def config(self) -> PlantConfig:
        text = PLANT_YAML.format(
            prefix=self.prefix,
            tmp=self.tmp,
            receipt_scanner=self.receipt_scanner.url,
            unit_scanner=self.unit_scanner.url,
            feeder_scanner=self.feeder.url,
            plc_port=self.plc.port,
            initial_state=self.initial_state,
            tubing=TUBING,
            connector=CONNECTOR,
            pouch=POUCH,
            catheter=CATHETER,
        )
        path = self.tmp / "plant.yaml"
        path.write_text(text, encoding="utf-8")
        return load_plant_text(text, source=str(path))

    def work_order(self, *bom: BomLine) -> WorkOrder:
        return WorkOrder(
            command_id=uuid7(),
            issued_at=dt.datetime.now(dt.UTC),
            issued_by="test",
            work_order="WO-A1",
            products=(self.line.product.di,),
            lot=self.line.lot,
            expiry=self.line.unit(0).udi.expiry,
            quantity=1000,
            bom=bom,
        )

    def unit_text(self, index: int) -> str:
        return self.line.unit(index).udi.text

    def serial(self, index: int) -> str:
        return self.line.unit(index).udi.serial


def make_line(*, units: int = 12) -> SimLine:
    # Units 0.5 s apart: room for a reel to be loaded between two of them.
    return SimLine(
        seed=7, rate_per_s=2.0, first_arrival_s=0.3, photo_eye_pulse_ms=50, unit_count=units
    )


@pytest.fixture
def prefix() -> str:
    return f"tgtest/{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def plant(tmp_path: Path, prefix: str) -> AsyncIterator[MaterialPlant]:
    line = make_line()
    plc = SimPlc(line=line, clock=LineClock(start_monotonic_s=time.monotonic() + FAR_FUTURE_S))
    await plc.start()
    scanners = [SimScanner.over_tcp(framing=Framing.named("cr")) for _ in range(3)]
    for scanner in scanners:
        await scanner.start()
    receipt, unit, feeder = scanners
    yield MaterialPlant(
        tmp=tmp_path,
        prefix=prefix,
        line=line,
        plc=plc,
        receipt_scanner=receipt,
        unit_scanner=unit,
        feeder=feeder,
    )
    for scanner in scanners:
        await scanner.stop()
    await plc.stop()


class AgentRun:
    """One agent running in this process, with its outcomes as they come."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.outcomes: list[Outcome] = []
        self._changed = asyncio.Event()

    def _seen(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        self._changed.set()

    async def next_outcome(self, *, timeout_s: float = 5.0) -> Outcome:
        count = len(self.outcomes)
        async with asyncio.timeout(timeout_s):
            while len(self.outcomes) <= count:
                self._changed.clear()
                await self._changed.wait()
        return self.outcomes[count]

    async def wait_outcomes(self, count: int, *, timeout_s: float = 5.0) -> list[Outcome]:
        async with asyncio.timeout(timeout_s):
            while len(self.outcomes) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.outcomes[:count]


@contextlib.asynccontextmanager
async def running(
    config: PlantConfig, checkpoint: str, *scanners: SimScanner, plc: bool = False
) -> AsyncIterator[AgentRun]:
    """The agent of `checkpoint` in this process, connected to its peers and the broker."""
    agent = Agent(
        config, checkpoint, options=AgentOptions(software_version="test", flush_timeout_s=2.0)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    run = AgentRun(agent)
    try:
        async with asyncio.timeout(5):
            await agent.ready.wait()
            assert agent.engine is not None
            agent.engine.on_outcome = run._seen
            if plc:
                assert agent.plc is not None and await agent.plc.wait_up(timeout_s=3)
            for scanner in scanners:
                await scanner.wait_for_clients(1, timeout_s=3)
            assert agent.subscriber is not None
            await agent.subscriber.wait_subscribed(timeout_s=3)
            if isinstance(agent.role, AssemblyRole):
                await agent.role.subscriber_ready(timeout_s=3)
        yield run
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


class EventTap:
    """A subscriber on the broker, like the cloud's ingest: every event under the prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.messages: list[bytes] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *_: c.subscribe(f"{prefix}/+/+/+/event", qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message

    def _on_message(self, client: object, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(bytes(message.payload))

    def start(self) -> None:
        self.client.connect(*BROKER)
        self.client.loop_start()
        assert self._subscribed.wait(5), "the event tap could not subscribe"

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def events(self, device_id: str) -> list[Event]:
        with self._lock:
            raw = list(self.messages)
        events = [decode_event(payload) for payload in raw]
        by_seq = {e.seq: e for e in events if e.device_id == device_id}
        return [by_seq[s] for s in sorted(by_seq)]

    async def wait_for(self, device_id: str, count: int, *, timeout_s: float = 5.0) -> list[Event]:
        async with asyncio.timeout(timeout_s):
            while len(found := self.events(device_id)) < count:  # noqa: ASYNC110 - paho's thread
                await asyncio.sleep(0.02)
        return found


@pytest.fixture
def tap(prefix: str) -> Iterator[EventTap]:
    tap = EventTap(prefix)
    tap.start()
    yield tap
    tap.stop()


def assembly_role(run: AgentRun) -> AssemblyRole:
    role = run.agent.role
    assert isinstance(role, AssemblyRole)
    return role


async def until_known(run: AgentRun, di: str, lot: str, *, timeout_s: float = 5.0) -> str:
    """Wait until the assembly agent has heard of lot `di`/`lot`; return its state."""
    store = assembly_role(run).store
    async with asyncio.timeout(timeout_s):
        while (status := await store.lot_status(di, lot)).state == "unknown":  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    return status.state


async def until_line_time(clock: LineClock, line_s: float) -> None:
    while clock.now_s() < line_s:  # noqa: ASYNC110 - the line clock has no event to wait on
        await asyncio.sleep(0.002)
