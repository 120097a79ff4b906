"""One checkpoint's edge agent: adapters, engine, outbox, publisher and feeds as supervised
tasks, from the plant config. `tracegate edge run CONFIG --checkpoint NAME` runs it.

Stopping (SIGTERM, SIGINT) takes no new units, lets the units in flight finish, gives the
publisher a few seconds to empty the outbox, then sends the offline status and closes the
files. A killed agent loses nothing either: every record is in the outbox before its unit
passes, and the broker publishes the offline will.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edge.checkpoint.alarms import AlarmLog
from edge.checkpoint.collector import ReadCollector
from edge.checkpoint.commands_feed import CommandsFeed
from edge.checkpoint.engine import (
    CheckpointEngine,
    EngineSettings,
    TriggeredSource,
    warm_up_parsers,
)
from edge.checkpoint.interlock import Interlock
from edge.checkpoint.plc_map import TRIGGER, build_plc
from edge.checkpoint.record import Station
from edge.checkpoint.roles import StationRole
from edge.checkpoint.roles.context import RoleContext
from edge.checkpoint.roles.factory import build_role, role_inputs
from edge.checkpoint.route_feed import RouteFeed
from edge.checkpoint.sd_notify import SystemdNotifier, watchdog_period_s
from edge.checkpoint.state import LocalState
from edge.checkpoint.status_file import read_status, status_path, write_status
from edge.checkpoint.status_view import TRIGGER_COUNTER, agent_status
from edge.checkpoint.subscriber import BrokerAddress, MqttSubscriber
from edge.checkpoint.supervisor import Supervisor
from edge.checkpoint.window import ReadWindows
from edge.links import LinkState
from edge.outbox import Outbox
from edge.publish import MqttTls, Publisher, load_credentials
from edge.reads import CodeRead
from protocols.config import Checkpoint, MqttConfig, PlantConfig, ScannerConfig, config_hash
from protocols.events import AdapterState

if TYPE_CHECKING:
    from edge.adapters.camera import Camera
    from edge.adapters.camera_capture import FrameGrabber
    from edge.adapters.plc import ModbusPlc

log = logging.getLogger("edge.checkpoint.agent")


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentOptions:
    software_version: str
    status_period_s: float = 1.0
    """How often the status file is rewritten."""
    state_refresh_s: float = 0.5
    """How often a work order written by another process (the CLI) is picked up."""
    drain_timeout_s: float = 2.0
    """On stop: how long the units in flight may take."""
    flush_timeout_s: float = 5.0
    """On stop: how long the publisher may take to empty the outbox."""
    sweep_period_s: float = 0.01
    """How often reads no trigger came for are sorted out."""
    restart_backoff_min_s: float = 0.1
    restart_backoff_max_s: float = 5.0


class Agent:
    """The agent of one checkpoint. `await agent.run(stop)` runs until `stop` is set."""

    def __init__(
        self,
        plant: PlantConfig,
        checkpoint: str,
        *,
        options: AgentOptions,
        camera_grabber: FrameGrabber | None = None,
    ) -> None:
        """`camera_grabber` replaces the camera's OpenCV capture (a simulated camera)."""
        self.plant = plant
        self.checkpoint: Checkpoint = plant.checkpoint(checkpoint)
        self.mqtt: MqttConfig = plant.mqtt_for(checkpoint)
        self.options = options
        self.alarms = AlarmLog()
        self.supervisor = Supervisor(
            backoff_min_s=options.restart_backoff_min_s, backoff_max_s=options.restart_backoff_max_s
        )
        self.started_at = dt.datetime.now(dt.UTC)
        self.systemd = SystemdNotifier.from_environment()
        self._systemd_failing = False
        """systemd's notify socket (the unit is Type=notify with a watchdog); inert outside
        systemd."""
        self.ready = asyncio.Event()
        """Set once every part has been started (tests wait for it)."""
        self.state: LocalState | None = None
        self.outbox: Outbox | None = None
        self.engine: CheckpointEngine | None = None
        self.role: StationRole | None = None
        self.plc: ModbusPlc | None = None
        self.interlock: Interlock | None = None
        self.publisher: Publisher | None = None
        self.subscriber: MqttSubscriber | None = None
        self.route: RouteFeed | None = None
        self.commands: CommandsFeed | None = None
        self._camera_grabber = camera_grabber
        self._camera: Camera | None = None
        """The camera in continuous mode, told of each trigger."""
        self.sources: dict[str, LinkState] = {}
        """Link of each read source, by source name (replaced when a source restarts)."""
        self._counter_at_stop: int | None = None
        """A counter trigger's value when the engine stopped taking units."""

    @property
    def station(self) -> Station:
        cp = self.checkpoint
        return Station(
            device_id=cp.device_id,
            site=self.plant.site.id,
            line=self.plant.line.id,
            checkpoint=cp.id,
        )

    async def run(self, stop: asyncio.Event) -> None:
        cp = self.checkpoint
        self.state = await LocalState.open(
            cp.state_path, max_decisions=cp.rules.route_predecessor.index_max_units
        )
        try:
            self.outbox = await Outbox.open(
                cp.outbox.path,
                device_id=cp.device_id,
                max_bytes=cp.outbox.max_bytes,
                max_age_s=cp.outbox.max_age_h * 3600,
                topic_prefix=self.mqtt.topic_prefix,
            )
            try:
                # Before the line is watched: the first parse takes about 0.3 s.
                await asyncio.to_thread(warm_up_parsers)
                self._start()
                self.ready.set()
                log.info("agent of %s started", cp.id, extra={"device_id": cp.device_id})
                self._tell_systemd(self.systemd.ready, f"{cp.id}: watching the line")
                await stop.wait()
                self._tell_systemd(self.systemd.stopping)
                await self._shutdown()
            finally:
                await self.supervisor.stop()
                log.info("tasks stopped")
                await self.outbox.close()
        finally:
            await self.state.close()
            self._write_status(running=False)
            self.systemd.close()
            log.info("agent of %s stopped", cp.id)

    # --- parts --------------------------------------------------------------------------------

    def _start(self) -> None:
        cp, sup = self.checkpoint, self.supervisor
        assert self.state is not None and self.outbox is not None
        if cp.plc is not None:
            plc = build_plc(cp.plc, cp.interlock, inputs=role_inputs(cp))
            self.plc = plc
            if plc.counter is not None:
                self._watch_counter(plc)
            sup.start("plc", lambda: _run_started(plc.start, plc.close), critical=True)
            if cp.interlock is not None:
                self.interlock = Interlock(plc, cp.interlock, alarm=self.alarms.raise_alarm)
        collector = self._collector()
        self.role = role = build_role(
            RoleContext(
                plant=self.plant,
                checkpoint=cp,
                station=self.station,
                state=self.state,
                outbox=self.outbox,
                alarm=self.alarms.raise_alarm,
                plc=self.plc,
                interlock=self.interlock,
            )
        )
        for name, work in role.tasks().items():
            sup.start(f"{role.name} {name}", work, critical=False)
        self.engine = CheckpointEngine(
            EngineSettings.for_site(
                self.station,
                rules=cp.rules,
                predecessors=cp.predecessors,
                registers=cp.plc.registers if cp.plc is not None else (),
                timezone=self.plant.site.timezone,
                has_trigger=cp.plc is not None and cp.plc.trigger is not None,
            ),
            state=self.state,
            outbox=self.outbox,
            collector=collector,
            plc=self.plc,
            interlock=self.interlock,
            links_down=self._links_down,
            alarm=self.alarms.raise_alarm,
            triggered_sources=self._triggered_sources(),
            role=role,
        )
        for scanner in cp.scanners:
            sup.start(
                f"scanner {scanner.name}",
                functools.partial(self._run_scanner, scanner, collector.add),
                critical=True,
            )
        if cp.camera is not None and cp.camera.trigger == "continuous":
            sup.start("camera", lambda: self._run_camera(collector.add), critical=True)
        if self.plc is not None and cp.plc is not None and cp.plc.trigger is not None:
            sup.start("triggers", self._run_triggers, critical=True)
        sup.start(
            "sweeps",
            lambda: collector.run_sweeps(period_s=self.options.sweep_period_s),
            critical=True,
        )
        if self.interlock is not None and self.interlock.has("heartbeat"):
            interlock = self.interlock
            sup.start(
                "heartbeat",
                lambda: interlock.run_heartbeat(healthy=self.supervisor.healthy),
                critical=False,
            )
        self._start_network()
        sup.start("state refresh", self._run_state_refresh, critical=False)
        sup.start("status", self._run_status, critical=False)
        period_s = watchdog_period_s()
        if self.systemd.enabled and period_s is not None:
            sup.start("systemd watchdog", lambda: self._run_watchdog(period_s), critical=False)

    def _watch_counter(self, plc: ModbusPlc) -> None:
        """A counter trigger: units it counts while the agent is not watching are an alarm;
        the value the previous run last recorded makes the first poll tell those of the
        time the agent was not running."""
        assert plc.counter is not None
        previous = read_status(status_path(self.checkpoint.state_path))
        if previous is not None and TRIGGER_COUNTER in previous.counters:
            plc.counter.last_known = previous.counters[TRIGGER_COUNTER]

        def unwatched(units: int) -> None:
            self.alarms.raise_alarm(
                "units_unwatched",
                f"{units} units passed the photo-eye while the agent was not watching (the"
                f" PLC's unit counter, {plc.plc}): no decision and no record was made for them",
            )

        plc.on_units_unwatched = unwatched

    def trigger_counter(self) -> int | None:
        """The unit counter's value as far as the engine took its units (None without one)."""
        if self._counter_at_stop is not None:
            return self._counter_at_stop
        counter = self.plc.counter if self.plc is not None else None
        return None if counter is None else counter.last_known

    def _collector(self) -> ReadCollector:
        cp = self.checkpoint
        sources = [s.name for s in cp.scanners]
        if cp.camera is not None:
            sources.append(cp.camera.name)
        windows = ReadWindows(
            sources=sources,
            read_window_s=cp.read_window_ms / 1000,
            deadline_s=cp.decision_deadline_ms / 1000,
        )
        plc = self.plc
        trigger = cp.plc.trigger if cp.plc is not None else None
        if plc is None or trigger is None:
            return ReadCollector(
                windows,
                triggers_known_until=lambda: math.inf,
                settle_poll_s=0.001,
                reads_trigger=lambda read: True,
                settle_s=0.0,
            )
        poll_s = trigger.poll_period_ms / 1000
        watched = plc
        read_window_s = cp.read_window_ms / 1000

        def known_until() -> float:
            sample = watched.latest(TRIGGER)
            return -math.inf if sample is None else sample.monotonic_s

        def unwatched(read: CodeRead) -> bool:
            # A station scan (a reel loaded at assembly, a case label) passes no photo-eye:
            # unless a unit's window takes it, it opens a window of its own.
            if self.role is not None and self.role.claims(read):
                return True
            # While the photo-eye cannot be read, a read is the only sign of a unit: it opens
            # a window so the unit is recorded (and held, the PLC link being down). Reads soon
            # after the link came back may belong to units it could not see either.
            link = watched.link
            return not link.is_up or link.since_monotonic_s > read.monotonic_s - read_window_s

        collector = ReadCollector(
            windows,
            triggers_known_until=known_until,
            settle_poll_s=max(poll_s / 4, 0.0005),
            reads_trigger=unwatched,
            settle_s=2 * poll_s + 0.02,
            poll_triggers=watched.poll_trigger_soon,
        )
        watched.on_trigger_polled = collector.trigger_polled
        return collector

    def _triggered_sources(self) -> dict[str, TriggeredSource]:
        camera = self.checkpoint.camera
        if camera is None or camera.trigger != "on_trigger":
            return {}
        from edge.adapters.camera import Camera, CameraSettings

        adapter = Camera(CameraSettings.from_config(camera), grabber=self._camera_grabber)
        self.sources[camera.name] = adapter.link
        self.supervisor.start(
            "camera", lambda: _run_started(adapter.start, adapter.close), critical=True
        )

        async def decode(start_s: float, end_s: float, nearest_s: float) -> list[CodeRead]:
            return await adapter.decode_between(start_s, end_s, nearest_monotonic_s=nearest_s)

        return {camera.name: decode}

    def _start_network(self) -> None:
        cp, mqtt, sup = self.checkpoint, self.mqtt, self.supervisor
        assert self.state is not None and self.outbox is not None
        tls = None
        if mqtt.tls is not None:
            if mqtt.tls.ca_file is None:
                raise ValueError(f"checkpoint {cp.id}: mqtt.tls needs ca_file with this agent")
            tls = MqttTls(
                ca_file=mqtt.tls.ca_file, cert_file=mqtt.tls.cert_file, key_file=mqtt.tls.key_file
            )
        publisher = Publisher(
            self.outbox,
            host=mqtt.host,
            port=mqtt.port,
            site=self.plant.site.id,
            line=self.plant.line.id,
            checkpoint=cp.id,
            software_version=self.options.software_version,
            config_hash=config_hash(self.plant),
            topic_prefix=mqtt.topic_prefix,
            client_id=f"tracegate-edge-{cp.device_id}",
            tls=tls,
            credentials_file=mqtt.credentials_file,
            keepalive_s=mqtt.keepalive_s,
            session_expiry_s=mqtt.session_expiry_s,
            max_inflight=mqtt.max_inflight,
            reconnect_initial_s=mqtt.reconnect_backoff_min_s,
            reconnect_max_s=mqtt.reconnect_backoff_max_s,
            heartbeat_interval_s=mqtt.status_period_s,
            adapter_states=self.adapter_states,
        )
        self.publisher = publisher
        sup.start(
            "publisher", lambda: _run_started(publisher.start, publisher.stop), critical=False
        )
        site, line, prefix = self.plant.site.id, self.plant.line.id, mqtt.topic_prefix
        self.route = RouteFeed(
            self.state, site=site, line=line, predecessors=cp.predecessors, topic_prefix=prefix
        )
        self.commands = CommandsFeed(
            self.state, site=site, line=line, checkpoint=cp.id, topic_prefix=prefix
        )
        handlers = dict.fromkeys(self.route.topics, self.route.on_event)
        handlers.update(dict.fromkeys(self.commands.topics, self.commands.on_command))
        self.subscriber = MqttSubscriber(
            BrokerAddress(
                host=mqtt.host,
                port=mqtt.port,
                transport=mqtt.transport,
                websocket_path=mqtt.websocket_path,
                tls=tls.context() if tls is not None else None,
                credentials=load_credentials(mqtt.credentials_file)
                if mqtt.credentials_file
                else None,
                keepalive_s=mqtt.keepalive_s,
                session_expiry_s=mqtt.session_expiry_s,
                reconnect_min_s=mqtt.reconnect_backoff_min_s,
                reconnect_max_s=mqtt.reconnect_backoff_max_s,
            ),
            client_id=f"tracegate-edge-{cp.device_id}-in",
            handlers=handlers,
        )
        sup.start("subscriber", self.subscriber.run, critical=False)

    # --- supervised loops -------------------------------------------------------------------

    async def _run_scanner(
        self, config: ScannerConfig, deliver: Callable[[CodeRead], None]
    ) -> None:
        from edge.adapters.scanner import SerialScanner

        scanner = SerialScanner.from_config(config)
        self.sources[config.name] = scanner.link
        await scanner.start()
        try:
            async for read in scanner.reads():
                deliver(read)
            raise RuntimeError(f"scanner {config.name}: reads ended")
        finally:
            await scanner.stop()

    async def _run_camera(self, deliver: Callable[[CodeRead], None]) -> None:
        from edge.adapters.camera import Camera, CameraSettings

        config = self.checkpoint.camera
        assert config is not None
        async with Camera(
            CameraSettings.from_config(config), grabber=self._camera_grabber
        ) as camera:
            self.sources[config.name] = camera.link
            self._camera = camera
            try:
                async for read in camera.reads():
                    deliver(read)
            finally:
                self._camera = None
        raise RuntimeError(f"camera {config.name}: reads ended")

    async def _run_triggers(self) -> None:
        assert self.plc is not None and self.engine is not None and self.checkpoint.plc
        trigger = self.checkpoint.plc.trigger
        assert trigger is not None
        poll_s = trigger.poll_period_ms / 1000
        # A poll's answer can lag its sampling by the PLC's round trip (timeout_s at worst).
        margin_s = poll_s + min(self.checkpoint.plc.timeout_s, 0.005)
        max_lookback_s = 2 * poll_s + 0.01
        if trigger.counts:
            # A counter's units came after the previous poll of the same connection (the first
            # poll after a reconnect makes no edges): a window may reach back over a poll
            # delayed by a stalled CPU, up to a read window, instead of leaving the units' reads
            # to open windows of their own.
            max_lookback_s = max(max_lookback_s, self.checkpoint.read_window_ms / 1000)
        edges = self.plc.edges()
        try:
            async for edge in edges:
                self.engine.trigger(edge, lookback_margin_s=margin_s, max_lookback_s=max_lookback_s)
        finally:
            edges.close()

    async def _run_state_refresh(self) -> None:
        assert self.state is not None
        while True:
            await asyncio.sleep(self.options.state_refresh_s)
            if await self.state.refresh():
                order = self.state.work_order
                log.info("work order now %s", order.work_order if order else "none")

    async def _run_status(self) -> None:
        while True:
            self._write_status(running=True)
            if self.systemd.enabled and self.engine is not None:
                c = self.engine.counters
                down = ", ".join(self._links_down())
                self._tell_systemd(
                    self.systemd.status,
                    f"{c.units} units ({c.passed} passed, {c.held} held)"
                    + (f"; down: {down}" if down else ""),
                )
            await asyncio.sleep(self.options.status_period_s)

    async def _run_watchdog(self, period_s: float) -> None:
        """WATCHDOG=1 while every critical task runs: one that keeps failing for the unit's
        WatchdogSec gets the whole agent restarted by systemd (the PLC's heartbeat watchdog
        has stopped the line meanwhile)."""
        while True:
            if self.supervisor.healthy():
                self._tell_systemd(self.systemd.watchdog)
            await asyncio.sleep(period_s)

    def _tell_systemd(self, send: Callable[..., bool], *args: str) -> None:
        try:
            send(*args)
        except OSError as exc:
            if not self._systemd_failing:
                log.warning("systemd notify socket %s: %s", self.systemd.socket_path, exc)
            self._systemd_failing = True
        else:
            if self._systemd_failing:
                log.info("systemd notify socket %s takes messages again", self.systemd.socket_path)
            self._systemd_failing = False

    # --- health -------------------------------------------------------------------------------

    def links(self) -> list[LinkState]:
        links = [self.plc.link] if self.plc is not None else []
        return links + list(self.sources.values())

    def _links_down(self) -> tuple[str, ...]:
        down = [
            link.name if link.kind == "plc" else f"{link.kind} {link.name}"
            for link in self.links()
            if not link.is_up
        ]
        return (*down, *self.supervisor.down())

    def adapter_states(self) -> list[AdapterState]:
        links = self.links()
        if self.subscriber is not None:
            links.append(self.subscriber.link)
        return [
            AdapterState(
                name=link.name,
                kind=link.kind,
                state=link.status,
                since=link.since,
                detail=(link.last_error or None) and link.last_error[:4096],
            )
            for link in links
        ]

    def _write_status(self, *, running: bool) -> None:
        try:
            write_status(
                status_path(self.checkpoint.state_path),
                agent_status(self, running=running, pid=os.getpid()),
            )
        except OSError as exc:
            log.warning("status file not written: %s", exc)

    # --- stopping -----------------------------------------------------------------------------

    async def _shutdown(self) -> None:
        log.info("stopping: no new units, finishing those in flight")
        await self.supervisor.stop("triggers", "sweeps")
        # Units the PLC counts from now on get no window: the next run reports them.
        self._counter_at_stop = self.trigger_counter()
        if self.engine is not None:
            await self.engine.drain(timeout_s=self.options.drain_timeout_s)
        if self.interlock is not None:
            await self.interlock.close()
        await self.supervisor.stop("heartbeat")
        log.info("units finished; flushing the outbox")
        await self._flush()

    async def _flush(self) -> None:
        """Give the publisher `flush_timeout_s` to empty the outbox while it is connected."""
        outbox, publisher = self.outbox, self.publisher
        if outbox is None or publisher is None:
            return
        deadline_s = time.monotonic() + self.options.flush_timeout_s
        while time.monotonic() < deadline_s and outbox.metrics().depth > 0:
            if publisher.status().state != "connected":
                break
            await asyncio.sleep(0.02)
        depth = outbox.metrics().depth
        if depth:
            log.warning("%d events stay in the outbox for the next start", depth)
        else:
            log.info("outbox empty")


async def _run_started(
    start: Callable[[], Awaitable[None]], close: Callable[[], Awaitable[None]]
) -> None:
    """Run a part whose `start()` returns at once, until cancelled; then close it."""
    try:
        await start()
        await asyncio.Event().wait()
    finally:
        try:
            await close()
        except Exception:
            log.exception("closing failed")
