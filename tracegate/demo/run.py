"""The demo plant, start to finish: broker, cloud, simulated devices, one agent per
checkpoint, master data, the units with their trouble, then what the cloud knows.

`async with DemoPlantRun(options) as demo: report = await demo.run()` — leaving the block
stops everything (agents first, so they flush to a broker still up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from edge.sim.plc import OutputWrite
from protocols.config import ConfigError, PlantConfig, load_plant_file
from protocols.events import Event
from tracegate.demo.agents import AgentFiles, AgentProcess
from tracegate.demo.api import CloudApi
from tracegate.demo.broker import DemoBroker
from tracegate.demo.clock import SharedLineClock
from tracegate.demo.cloud import DEMO_USER, DemoCloud, prepare_database
from tracegate.demo.errors import DemoError
from tracegate.demo.faults import AgentKiller
from tracegate.demo.live import LiveView, Notes
from tracegate.demo.plan import LinePlan
from tracegate.demo.plant import EXAMPLE_PLANT, DemoPlant, derive_plant
from tracegate.demo.report import DemoReport
from tracegate.demo.seed import Seeded, seed
from tracegate.demo.simplant import SimPlant, SimStation
from tracegate.demo.stations import StationContext, StationDriver, drivers_for, station_roles
from tracegate.demo.summary import collect_report

log = logging.getLogger("tracegate.demo")

UNIT_ROLES = ("assembly", "sealing", "inspection", "packing")
"""Roles of the checkpoints a unit passes on the conveyor (photo-eye, unit label)."""

WORKDIR_MARKER = ".tracegate-demo"
"""A file in the working directory saying the demo made it (so a rerun may empty it)."""

OWN_BROKER_PREFIX = "tracegate/v1"

DEADLINE_MARGIN_MS = 40
"""Beyond a checkpoint's decision deadline: the Modbus write of the output."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoOptions:
    workdir: Path
    units: int = 200
    broker_url: str | None = None
    """A broker of one's own (`mqtt://host:port`); None: the demo starts Mosquitto."""
    database_url: str | None = None
    """A fresh database (`postgresql+asyncpg://...`); None: SQLite in the working directory."""
    plant_file: Path = EXAMPLE_PLANT
    rate_per_s: float = 2.0
    """Units per second; the pitch must exceed every unit checkpoint's decision deadline."""
    seed: int = 2026
    topic_prefix: str | None = None
    """None: `tracegate/v1` on the demo's own broker, a prefix of this run's on another."""


def prepare_workdir(path: Path) -> Path:
    """An empty working directory: created, or emptied if an earlier demo made it."""
    path = path.resolve()
    if path.exists() and any(path.iterdir()):
        if not (path / WORKDIR_MARKER).exists():
            raise DemoError(
                f"--workdir {path}: not empty and not made by an earlier demo; give an empty"
                " or new directory"
            )
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / WORKDIR_MARKER).write_text("made by `tracegate demo`; emptied on its next run\n")
    return path


def unit_checkpoints(plant: PlantConfig) -> list[str]:
    return [cp.id for cp in plant.checkpoints if cp.role in UNIT_ROLES]


def check_rate(plant: PlantConfig, stages: list[str], rate_per_s: float) -> None:
    """A unit's output must reach the PLC before the next unit does, even a hold sent at
    its checkpoint's decision deadline; else the PLC rejects the wrong unit."""
    pitch_ms = 1000 / rate_per_s
    for cp in plant.checkpoints:
        if cp.id in stages and cp.decision_deadline_ms + DEADLINE_MARGIN_MS >= pitch_ms:
            fastest = 1000 / (cp.decision_deadline_ms + DEADLINE_MARGIN_MS)
            raise DemoError(
                f"--rate {rate_per_s:g}: units {pitch_ms:.0f} ms apart, but {cp.id} may decide"
                f" up to {cp.decision_deadline_ms} ms after a unit arrives; at most"
                f" {fastest:.1f} units/s"
            )


class DemoPlantRun:
    """One run of the demo plant."""

    def __init__(self, options: DemoOptions, *, notes: Notes | None = None) -> None:
        self.options = options
        self.notes = notes or Notes()
        self.stage = "preparing"
        self.workdir = prepare_workdir(options.workdir)
        self.broker: DemoBroker | None = None
        self.cloud: DemoCloud | None = None
        self.api: CloudApi | None = None
        self.sim: SimPlant | None = None
        self.agents: dict[str, AgentProcess] = {}
        self.plant: DemoPlant | None = None
        self.plan: LinePlan | None = None
        self.clock = SharedLineClock(self.workdir / "line-clock.json")
        self.password = ""
        self.database_url = options.database_url or (
            f"sqlite+aiosqlite:///{self.workdir / 'cloud' / 'tracegate.sqlite3'}"
        )
        self.broker_url = options.broker_url or ""
        self.topic_prefix = options.topic_prefix or ""
        self.killer: AgentKiller | None = None
        self.context = StationContext(run=self)
        self.drivers: list[StationDriver] = []
        self.cloud_events: dict[str, list[Event]] = {}
        """The cloud's stored events by checkpoint, once the run has settled."""
        self.seeded: Seeded | None = None
        self._writes: list[Callable[[str, OutputWrite], None]] = []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- the run ----------------------------------------------------------------------

    async def run(self) -> DemoReport:
        started = time.monotonic()
        await self.start()
        line_started = time.monotonic()
        await self.run_line()
        line_ended = time.monotonic()
        await self.settle()
        settled = time.monotonic()
        self.stage = "asking the cloud"
        report = await collect_report(
            self,
            started_s=started,
            line_started_s=line_started,
            line_ended_s=line_ended,
            settled_s=settled,
        )
        self.stage = "done"
        return report

    def view(self) -> LiveView:
        assert self.plan is not None
        return LiveView(self.plan, self.clock, self.agents, self.notes, stage_of=lambda: self.stage)

    async def start(self) -> None:
        """Everything up, the work order at every agent; the line still standing."""
        options = self.options
        self.stage = "starting the broker"
        try:
            source = load_plant_file(options.plant_file)
        except ConfigError as exc:
            raise DemoError(
                f"--plant {options.plant_file}: not a valid plant config:\n{exc}"
            ) from None
        stages = unit_checkpoints(source)
        check_rate(source, stages, options.rate_per_s)
        with_roles = station_roles()
        running = [cp.id for cp in source.checkpoints if cp.id in stages or cp.role in with_roles]
        plan = LinePlan.build(
            units=options.units, stages=stages, seed=options.seed, rate_per_s=options.rate_per_s
        )
        self.plan = plan
        (self.workdir / "plan.json").write_bytes(plan.to_json())
        if options.broker_url is None:
            self.broker = DemoBroker(self.workdir / "broker")
            await self.broker.start()
            self.broker_url = self.broker.url
            self.topic_prefix = options.topic_prefix or OWN_BROKER_PREFIX
        else:
            self.topic_prefix = options.topic_prefix or f"tracegate-demo-{secrets.token_hex(4)}/v1"
        self.notes.add(f"broker {self.broker_url} (topics under {self.topic_prefix}/)")
        self.plant = plant = derive_plant(
            options.plant_file,
            workdir=self.workdir,
            broker_url=self.broker_url,
            topic_prefix=self.topic_prefix,
            checkpoints=running,
        )
        self.drivers = drivers_for(plant.config, running, self.context)
        self._writes.extend(d.on_write for d in self.drivers)
        self.stage = "preparing the database"
        (self.workdir / "cloud").mkdir(exist_ok=True)
        self.password = await prepare_database(self.database_url, plant.path)
        self.stage = "starting the cloud service"
        self.cloud = DemoCloud(
            self.workdir / "cloud",
            database_url=self.database_url,
            broker_url=self.broker_url,
            topic_prefix=self.topic_prefix,
        )
        await self.cloud.start()
        self.notes.add(f"cloud service at {self.cloud.url}")
        self.api = CloudApi(self.cloud.url)
        await self.api.login(DEMO_USER, self.password)
        self.stage = "starting simulators and agents"
        self.sim = SimPlant(plant, plan, self.clock, on_write=self._on_write)
        await self.sim.start()
        files = AgentFiles(
            plant=plant.path,
            plan=self.workdir / "plan.json",
            clock=self.clock.path,
            logs=self.workdir / "logs",
        )
        # Filled in place: the live view holds this dict from the start.
        self.agents.update({cp.id: AgentProcess(cp, files) for cp in plant.config.checkpoints})
        await asyncio.gather(*(agent.start() for agent in self.agents.values()))
        self.stage = "creating master data"
        self.seeded = await seed(
            self.api,
            plan.line_for(stages[0]),
            site=plant.config.site.id,
            line_id=plant.config.line.id,
            route=stages,
            quantity=options.units,
        )
        self.notes.add(
            f"product {self.seeded.product_di}, work order {self.seeded.work_order}"
            f" (lot {self.seeded.lot}) activated"
        )
        self.stage = "waiting for the agents"
        await asyncio.gather(
            *(
                agent.wait_ready(
                    work_order=self.seeded.work_order if name in stages else None,
                    timeout_s=90.0,
                )
                for name, agent in self.agents.items()
            )
        )
        for driver in self.drivers:
            self.stage = f"preparing {driver.checkpoint}"
            await driver.before_line()
        self.killer = AgentKiller(
            plan, self.agents, self.clock, self.notes, work_order=self.seeded.work_order
        )

    def station(self, checkpoint: str) -> SimStation:
        assert self.sim is not None
        return self.sim.stations[checkpoint]

    def recorded_events(self, checkpoint: str) -> list[Event]:
        return self.cloud_events.get(checkpoint, [])

    def _on_write(self, checkpoint: str, write: OutputWrite) -> None:
        for callback in self._writes:
            callback(checkpoint, write)

    async def run_line(self) -> None:
        """Run every unit past every checkpoint, with the planned trouble."""
        assert self.sim is not None and self.plan is not None and self.killer is not None
        self.stage = "running the line"
        self.sim.run_line()
        self.notes.add(f"line started: {self.plan.units} units at {self.plan.rate_per_s:g}/s")
        kill = asyncio.create_task(self.killer.run(), name="agent kill")
        during = [
            asyncio.create_task(d.during_line(), name=f"{d.checkpoint} during the line")
            for d in self.drivers
        ]
        try:
            # The last unit's output comes a read window and a pulse after its arrival.
            end_s = self.plan.end_s + 0.6
            while self.clock.now_s() < end_s or self.clock.paused:
                self._check_agents()
                for task in (kill, *during):
                    if task.done():
                        task.result()
                await asyncio.sleep(0.1)
            if not kill.done():
                self.notes.add("the unit the agent kill waited for never got its output")
                kill.cancel()
            else:
                kill.result()
            for task in during:
                if not task.done():
                    self.notes.add(f"{task.get_name()}: did not finish with the line")
        finally:
            for task in (kill, *during):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        self.notes.add("the last unit left the line")
        for driver in self.drivers:
            self.stage = f"finishing at {driver.checkpoint}"
            await driver.after_line()

    def _check_agents(self) -> None:
        killed = self.killer.injection.checkpoint if self.killer and self.killer.injection else None
        for name, agent in self.agents.items():
            if agent.running or (
                name == killed and self.killer is not None and self.killer.record is None
            ):
                continue
            tail = agent.process.tail() if agent.process is not None else ""
            raise DemoError(f"the agent of {name} stopped unexpectedly; its log ends:\n{tail}")

    async def cloud_events_of(self, checkpoint: str, *, timeout_s: float = 30.0) -> list[Event]:
        """Every event of `checkpoint`'s agent, once the cloud has stored all it committed."""
        from tracegate.demo.cloud_view import device_events

        agent = self.agents[checkpoint]
        await self.settle(timeout_s=timeout_s, only=[agent])
        device = agent.checkpoint.device_id
        return (await device_events(self.database_url, [device]))[device]

    async def settle(
        self, *, timeout_s: float = 90.0, only: list[AgentProcess] | None = None
    ) -> None:
        """Wait until every outbox is empty and the cloud stores every event of every agent
        (or of the agents `only`)."""
        from tracegate.demo.cloud_view import device_counts

        if only is None:
            self.stage = "waiting for the cloud to have every event"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        agents = list(self.agents.values()) if only is None else only
        while True:
            boxes = {a.checkpoint.device_id: a.outbox() for a in agents}
            counts = await device_counts(self.database_url)
            behind = {
                device: (box.last_seq if box else None, counts.get(device, 0))
                for device, box in boxes.items()
                if box is None or box.depth > 0 or counts.get(device, 0) < box.last_seq
            }
            if not behind:
                return
            if loop.time() > deadline:
                detail = ", ".join(f"{d}: {c} of {s}" for d, (s, c) in behind.items())
                raise DemoError(
                    f"the cloud did not get every event within {timeout_s} s ({detail})"
                )
            await asyncio.sleep(0.3)

    # --- stopping ---------------------------------------------------------------------

    async def stop(self) -> None:
        """Agents (they flush and say offline), simulators, cloud, broker; idempotent."""
        self.stage = "stopping"
        await asyncio.gather(*(a.stop() for a in self.agents.values()), return_exceptions=True)
        if self.sim is not None:
            await self.sim.stop()
            self.sim = None
        if self.api is not None:
            await self.api.__aexit__(None, None, None)
            self.api = None
        if self.cloud is not None:
            await self.cloud.stop()
            self.cloud = None
        if self.broker is not None:
            await self.broker.stop()
            self.broker = None
        self.stage = "stopped"
