"""Helpers of the packing, shipping and returns tests: checkpoints on simulated peers (a
pymodbus PLC and a TCP scanner each), the real Mosquitto under a topic prefix of the test's
own, the agents run in this process (`assembly_plant.running`), and the tap that sees what
the cloud would (`assembly_plant.EventTap`).

Imported by path (tests are not a package here): each test module puts this folder on
`sys.path` first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from edge.adapters.framing import Framing
from edge.sim.containers import SimPacker
from edge.sim.plc import SimPlc
from edge.sim.scanner import SimScanner
from edge.sim.units import Fault, LineClock, SimLine
from protocols.codec import encode_event
from protocols.commands import Shipment, WorkOrder
from protocols.config import PlantConfig, load_plant_text
from protocols.events import Event, UnitInspected, UnitPacked, UnitUnpacked
from protocols.ids import uuid7
from protocols.parts import ContainerRef, ParsedUdi, Party, Reason, UnitRef
from protocols.topics import event_topic

FAR_FUTURE_S = 1e6
WAIT_S = 15.0
"""How long to wait for events on the broker: generous, for a loaded machine."""
COMPANY_PREFIX = "5391234"
CLOSE_COIL = 8
"""The packer's close-case button: a coil the PLC program sets while it is pressed."""

HEADER = """\
site: {{id: plant-t, name: Test plant, timezone: UTC, gs1_company_prefix: "{company}"}}
line: {{id: line-t, name: Test line}}
mqtt: {{broker_url: "mqtt://127.0.0.1:1883", topic_prefix: "{prefix}", status_period_s: 5}}
checkpoints:
"""

CHECKPOINT = """\
  - id: {id}
    name: {id}
    role: {role}
    device_id: {device}
    scanners:
      - {{name: reader, port: "{scanner}", framing: cr, symbology_prefixes: ["]d2", "]C1"],
          reconnect_backoff_min_s: 0.05, reconnect_backoff_max_s: 0.1}}
{feeder}    plc:
      host: 127.0.0.1
      port: {plc_port}
      timeout_s: 0.2
      reconnect_backoff_min_s: 0.05
      reconnect_backoff_max_s: 0.1
{registers}{trigger}    interlock:
      pass: {{table: coil, address: 0}}
      reject: {{table: coil, address: 1}}
      line_stop: {{table: coil, address: 2}}
      pulse_ms: 30
    read_window_ms: {window}
    decision_deadline_ms: {deadline}
    predecessors: [{predecessors}]
    rules:
{rules}{section}    outbox: {{path: "{tmp}/{id}-outbox.sqlite3"}}
    state_path: "{tmp}/{id}-state.sqlite3"
"""

TRIGGER = "      trigger: {table: discrete_input, address: 0, poll_period_ms: 5}\n"
FEEDER = """\
      - {{name: feeder, port: "{port}", framing: cr, symbology_prefixes: ["]C1"],
          reconnect_backoff_min_s: 0.05, reconnect_backoff_max_s: 0.1}}
"""
SEALING_REGISTERS = """\
      registers:
        - {name: seal_temp, address: 0, type: int16, scale: 0.1, unit: "°C", lo: 175, hi: 185,
           max_age_ms: 500, poll_period_ms: 10}
        - {name: seal_pressure, address: 1, type: uint16, scale: 0.01, unit: bar, lo: 3.5,
           hi: 4.5, max_age_ms: 500, poll_period_ms: 10}
        - {name: dwell_time, address: 2, type: float32, unit: ms, lo: 700, hi: 900,
           max_age_ms: 500, poll_period_ms: 10}
"""
"""The simulated PLC's default process values (`SimPlcLayout.default`), as a sealer's."""


@dataclass
class Station:
    """The simulated peers of one checkpoint."""

    id: str
    line: SimLine
    plc: SimPlc
    scanner: SimScanner
    packer: SimPacker | None = None
    """What the packing machine really boxed (packing stations)."""

    def start_line(self) -> LineClock:
        """Start the conveyor now (the PLC and the scanner share the clock)."""
        self.plc.clock = LineClock()
        return self.plc.clock

    async def run_line(self, *, units: int, line: SimLine | None = None) -> None:
        """Run `units` units past the checkpoint (of `line` if given: a rework run), then
        let the last output go out."""
        if line is not None:
            self.line = self.plc.line = line
        clock = self.start_line()
        await self.scanner.follow(self.line, clock=clock, read_delay_ms=15, units=units)
        await asyncio.sleep(0.3)

    def serial(self, index: int) -> str:
        return self.line.unit(index).udi.serial


@dataclass
class ContainersPlant:
    tmp: Path
    prefix: str
    stations: dict[str, Station] = field(default_factory=dict)
    blocks: list[str] = field(default_factory=list)

    def checkpoint(
        self,
        station: Station,
        *,
        role: str,
        trigger: bool = True,
        section: str = "",
        rules: str = "route_predecessor: {enabled: false}",
        predecessors: str = "",
        window_ms: int = 150,
        deadline_ms: int = 350,
        feeder: SimScanner | None = None,
        registers: str = "",
    ) -> None:
        """Add a checkpoint on `station`'s peers; `section` and `rules` are YAML at the
        checkpoint's indentation (a role section, the rules' body); `feeder` a loading
        scanner; `registers` the PLC's process values (`SEALING_REGISTERS`)."""
        self.blocks.append(
            CHECKPOINT.format(
                id=station.id,
                role=role,
                device=self.device(station.id),
                scanner=station.scanner.url,
                plc_port=station.plc.port,
                trigger=TRIGGER if trigger else "",
                feeder=FEEDER.format(port=feeder.url) if feeder is not None else "",
                registers=registers,
                window=window_ms,
                deadline=deadline_ms,
                predecessors=predecessors,
                rules=_indent(rules, 6),
                section=_indent(section, 4),
                tmp=self.tmp,
            )
        )

    def device(self, checkpoint: str) -> str:
        """The checkpoint's device id: unique per test, as MQTT client ids derive from it
        (sessions of the same id on the shared broker, from tests run in parallel, would
        take each other over)."""
        return f"edge-{self.prefix.rsplit('/', 1)[-1]}-{checkpoint}"

    def config(self) -> PlantConfig:
        text = HEADER.format(company=COMPANY_PREFIX, prefix=self.prefix) + "".join(self.blocks)
        path = self.tmp / "plant.yaml"
        path.write_text(text, encoding="utf-8")
        return load_plant_text(text, source=str(path))


def _indent(text: str, spaces: int) -> str:
    lines = [line for line in text.strip("\n").splitlines() if line.strip()]
    return "".join(" " * spaces + line + "\n" for line in lines)


def make_line(
    *,
    units: int = 12,
    seed: int = 5,
    serial_start: int = 1,
    rate_per_s: float = 2.0,
    faults: Mapping[int, set[Fault]] | None = None,
) -> SimLine:
    # 2 units a second: each unit's reject window (500 ms) holds its 350 ms decision deadline,
    # generous on a loaded machine (8 test sessions on 2 cores). Lines of one seed carry the
    # same units, whatever their faults.
    return SimLine(
        seed=seed,
        rate_per_s=rate_per_s,
        first_arrival_s=0.2,
        photo_eye_pulse_ms=50,
        unit_count=units,
        serial_start=serial_start,
        faults=faults,
    )


MakeStation = Callable[..., Awaitable[Station]]


@pytest.fixture
async def stations() -> AsyncIterator[MakeStation]:
    """`await stations("packing", line, packer=SimPacker(...))`: a PLC and a scanner."""
    made: list[Station] = []

    async def make(checkpoint: str, line: SimLine, *, packer: SimPacker | None = None) -> Station:
        plc = SimPlc(
            line=line,
            clock=LineClock(start_monotonic_s=time.monotonic() + FAR_FUTURE_S),
            on_write=packer.on_write if packer is not None else None,
        )
        await plc.start()
        scanner = SimScanner.over_tcp(framing=Framing.named("cr"))
        await scanner.start()
        station = Station(id=checkpoint, line=line, plc=plc, scanner=scanner, packer=packer)
        made.append(station)
        return station

    yield make
    for station in made:
        await station.scanner.stop()
        await station.plc.stop()


@pytest.fixture
def plant(tmp_path: Path, prefix: str) -> ContainersPlant:
    return ContainersPlant(tmp=tmp_path, prefix=prefix)


def work_order(line: SimLine) -> WorkOrder:
    return WorkOrder(
        command_id=uuid7(),
        issued_at=dt.datetime.now(dt.UTC),
        issued_by="test",
        work_order="WO-P1",
        products=(line.product.di,),
        lot=line.lot,
        expiry=line.unit(0).udi.expiry,
        quantity=1000,
    )


def shipment(*expected: str, shipment_id: str = "SHP-1") -> Shipment:
    return Shipment(
        command_id=uuid7(),
        issued_at=dt.datetime.now(dt.UTC),
        issued_by="test",
        shipment_id=shipment_id,
        order="SO-77",
        recipient=Party(
            name="St. James's Hospital", address_lines=("James St",), country_code="IE"
        ),
        expected_containers=expected,
    )


def packed(events: list[Event]) -> list[UnitPacked]:
    return [e for e in events if isinstance(e, UnitPacked)]


def unpacked(events: list[Event]) -> list[UnitUnpacked]:
    return [e for e in events if isinstance(e, UnitUnpacked)]


def inspected(events: list[Event]) -> list[UnitInspected]:
    return [e for e in events if isinstance(e, UnitInspected)]


def serials(children: tuple[UnitRef | ContainerRef, ...]) -> list[str | None]:
    return [c.serial if isinstance(c, UnitRef) else c.sscc for c in children]


def publish(prefix: str, event: Event) -> None:
    """Put an event on the broker as the agent that recorded it would (QoS 1)."""
    import paho.mqtt.publish as single

    topic = event_topic(event.site, event.line, event.checkpoint, prefix=prefix)
    single.single(topic, encode_event(event), qos=1, hostname="127.0.0.1", port=1883)


async def until(condition: Callable[[], bool], *, timeout_s: float = 15.0) -> None:
    """Wait until `condition()` holds (state another task or thread changes)."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - polled: the state has no event to wait on
            await asyncio.sleep(0.02)


def inspection_event(line: SimLine, index: int, decision: str, seq: int) -> UnitInspected:
    udi = line.unit(index).udi
    return UnitInspected(
        event_id=uuid7(),
        device_id="edge-sim-final-inspection",
        seq=seq,
        prev_hash="" if seq == 1 else "0" * 64,
        occurred_at=dt.datetime.now(dt.UTC),
        site="plant-t",
        line="line-t",
        checkpoint="final-inspection",
        udi=ParsedUdi(issuer="GS1", di=udi.di, lot=udi.lot, serial=udi.serial, expiry=udi.expiry),
        decision="pass" if decision == "pass" else "hold",
        reasons=() if decision == "pass" else (Reason(code="parameter_out_of_limits"),),
        ruleset_version="test",
    )
