"""Helpers of the checkpoint tests: a simulated plant around one agent (a pymodbus server as
the PLC, a TCP scanner, the real Mosquitto under a topic prefix of the test's own), the agent
run in this process, and a tap on the broker that sees what the cloud would.

Loaded by path from conftest.py: tests are not a package here."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.checkpoint.agent import Agent, AgentOptions
from edge.sim.plc import SimPlc
from edge.sim.scanner import SimScanner
from edge.sim.units import LineClock, SimLine
from protocols.codec import decode_event
from protocols.commands import WorkOrder
from protocols.config import PlantConfig, load_plant_text
from protocols.events import Event, UnitInspected
from protocols.ids import uuid7

MakePlant = Callable[..., Awaitable["SimPlant"]]
"""`await make_plant(line, **plant_attributes)`."""

BROKER = ("127.0.0.1", 1883)
FAR_FUTURE_S = 1e6

PLANT_YAML = """\
site: {{id: plant-t, name: Test plant, timezone: UTC}}
line: {{id: line-t, name: Test line}}
mqtt: {{broker_url: "{broker}", topic_prefix: "{prefix}", status_period_s: 5}}
checkpoints:
  - id: assembly
    name: Assembly
    role: assembly
    device_id: edge-t-assembly
    scanners: [{{name: unit, port: "socket://127.0.0.1:1"}}]
    outbox: {{path: "{tmp}/assembly-outbox.sqlite3"}}
    state_path: "{tmp}/assembly-state.sqlite3"
  - id: sealing
    name: Sealer
    role: sealing
    device_id: edge-t-sealing
    scanners:
      - name: unit
        port: "{scanner}"
        framing: cr
        symbology_prefixes: ["]d2"]
        reconnect_backoff_min_s: 0.05
        reconnect_backoff_max_s: 0.1
    plc:
      host: 127.0.0.1
      port: {plc_port}
      timeout_s: 0.2
      reconnect_backoff_min_s: 0.05
      reconnect_backoff_max_s: 0.1
      registers:
        - {{name: seal_temp, address: 0, type: int16, scale: 0.1, unit: "°C", lo: 175, hi: 185,
            max_age_ms: {max_age_ms}, poll_period_ms: {poll_ms}}}
        - {{name: seal_pressure, address: 1, type: uint16, scale: 0.01, unit: bar, lo: 3.5,
            hi: 4.5, max_age_ms: {max_age_ms}, poll_period_ms: {poll_ms}}}
        - {{name: dwell_time, address: 2, type: float32, unit: ms, lo: 700, hi: 900,
            max_age_ms: {max_age_ms}, poll_period_ms: {poll_ms}}}
      trigger: {trigger}
    interlock:
      pass: {{table: coil, address: 0}}
      reject: {{table: coil, address: 1}}
      line_stop: {{table: coil, address: 2}}
      heartbeat: {{table: coil, address: 3}}
      heartbeat_period_ms: 200
      pulse_ms: 30
    read_window_ms: 60
    decision_deadline_ms: 90
    predecessors: [{predecessors}]
    rules:
      route_predecessor: {{enabled: {route}}}
    outbox: {{path: "{tmp}/outbox.sqlite3", max_bytes: {outbox_bytes}}}
    state_path: "{tmp}/state.sqlite3"
"""

PHOTO_EYE = "{table: discrete_input, address: 0, poll_period_ms: 5}"
"""The photo-eye's input, polled for its rising edges."""
UNIT_COUNTER = "{table: holding_register, address: 4, edge: count, type: uint32, poll_period_ms: 5}"
"""The PLC's count of the photo-eye's rising edges (the simulated PLC's `units_seen`)."""


@dataclass
class SimPlant:
    """The simulated peers of the sealing checkpoint and the config that points at them."""

    tmp: Path
    line: SimLine
    plc: SimPlc
    scanner: SimScanner
    prefix: str
    broker_url: str = f"mqtt://{BROKER[0]}:{BROKER[1]}"
    route: bool = False
    outbox_bytes: int = 8_000_000
    poll_ms: int = 10
    """Poll period of the process values."""
    max_age_ms: int = 500
    """Oldest process value the rules accept."""
    trigger: str = PHOTO_EYE
    """The `plc.trigger` section, in YAML flow style."""
    config_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.config_path = self.tmp / "plant.yaml"

    def write_config(self) -> PlantConfig:
        text = PLANT_YAML.format(
            broker=self.broker_url,
            prefix=self.prefix,
            tmp=self.tmp,
            scanner=self.scanner.url,
            plc_port=self.plc.port,
            predecessors="assembly" if self.route else "",
            route="true" if self.route else "false",
            outbox_bytes=self.outbox_bytes,
            poll_ms=self.poll_ms,
            max_age_ms=self.max_age_ms,
            trigger=self.trigger,
        )
        self.config_path.write_text(text, encoding="utf-8")
        return load_plant_text(text, source=str(self.config_path))

    def work_order(self) -> WorkOrder:
        return WorkOrder(
            command_id=uuid7(),
            issued_at=dt.datetime.now(dt.UTC),
            issued_by="test",
            work_order="WO-T1",
            products=(self.line.product.di,),
            lot=self.line.lot,
            expiry=self.line.unit(0).udi.expiry,
            quantity=1000,
        )

    def start_line(self) -> LineClock:
        """Start the conveyor now (the PLC and the scanner share the clock)."""
        self.plc.clock = LineClock()
        return self.plc.clock

    async def run_line(self, *, units: int, read_delay_ms: float = 15.0) -> None:
        """Run `units` units past the checkpoint, then wait for the last decision's output."""
        clock = self.start_line()
        await self.scanner.follow(self.line, clock=clock, read_delay_ms=read_delay_ms, units=units)
        await asyncio.sleep(0.15)

    def outcomes(self, units: int) -> list[str]:
        return [self.plc.unit_history(i).outcome for i in range(units)]

    def writes(self, units: int) -> list[str]:
        """Each unit's pass/reject/stop writes, for assertion messages."""
        return [
            f"{i}: "
            + " ".join(
                f"{w.name}={int(w.value)}@{w.line_s:.3f}"
                for w in self.plc.unit_history(i).writes
                if w.name in ("pass", "reject", "stop")
            )
            for i in range(units)
        ]

    def serial(self, index: int) -> str:
        return self.line.unit(index).udi.serial


def make_line(*, units: int = 12, **faults: object) -> SimLine:
    return SimLine(
        seed=5,
        rate_per_s=10.0,
        first_arrival_s=0.2,
        photo_eye_pulse_ms=50,
        unit_count=units,
        **faults,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def running_agent(
    plant: SimPlant, *, work_order: bool = True, **options: float
) -> AsyncIterator[Agent]:
    """The sealing agent, in this process, connected to the plant and the broker."""
    config = plant.write_config()
    agent = Agent(
        config,
        "sealing",
        options=AgentOptions(software_version="test", flush_timeout_s=2.0, **options),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        async with asyncio.timeout(5):
            await agent.ready.wait()
            assert agent.plc is not None and agent.state is not None
            assert await agent.plc.wait_up(timeout_s=3)
            await plant.scanner.wait_for_clients(1, timeout_s=3)
            if agent.subscriber is not None and plant.broker_url.endswith(":1883"):
                await agent.subscriber.wait_subscribed(timeout_s=3)
            if work_order:
                await agent.state.apply(plant.work_order())
        yield agent
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


class EventTap:
    """A subscriber on the broker, like the cloud's ingest: every event under the prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *_: c.subscribe(f"{prefix}/+/+/+/event", qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message

    def _on_message(self, client: object, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload)))

    def start(self) -> None:
        self.client.connect(*BROKER)
        self.client.loop_start()
        assert self._subscribed.wait(5), "the event tap could not subscribe"

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def events(self, device_id: str = "edge-t-sealing") -> list[Event]:
        with self._lock:
            raw = list(self.messages)
        events = [decode_event(payload) for _, payload in raw]
        by_seq = {e.seq: e for e in events if e.device_id == device_id}
        return [by_seq[s] for s in sorted(by_seq)]

    def inspected(self, device_id: str = "edge-t-sealing") -> list[UnitInspected]:
        return [e for e in self.events(device_id) if isinstance(e, UnitInspected)]

    async def wait_for(self, count: int, *, timeout_s: float = 5.0) -> list[UnitInspected]:
        async with asyncio.timeout(timeout_s):
            while len(found := self.inspected()) < count:  # noqa: ASYNC110 - paho's thread fills it
                await asyncio.sleep(0.02)
        return found


def by_serial(events: list[UnitInspected]) -> dict[str, list[UnitInspected]]:
    found: dict[str, list[UnitInspected]] = {}
    for event in events:
        key = event.udi.serial if event.udi is not None and event.udi.serial else "-"
        found.setdefault(key, []).append(event)
    return found


def reason_codes(event: UnitInspected) -> list[str]:
    return [r.code for r in event.reasons]


async def until_line_time(clock: LineClock, line_s: float) -> None:
    """Wait until the line clock reaches `line_s`."""
    while clock.now_s() < line_s:  # noqa: ASYNC110 - the line clock has no event to wait on
        await asyncio.sleep(0.002)
