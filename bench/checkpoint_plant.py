"""The plant the checkpoint benches run against, in a child process of its own (a real PLC and
scanner are peers of their own): a pymodbus server running the conveyor model and a TCP
scanner reading each unit `read_delay_ms` after it reaches the photo-eye. Both processes use
the host's CLOCK_MONOTONIC, so times compare across them.

The child answers commands on a pipe: `("meter",)` -> its CPU seconds and Modbus requests
served so far; `("run", start_monotonic_s)` -> runs the line from then and answers a
`PlantRun`; `None` stops it. What the PLC saw for each unit is tallied as the writes arrive
(no history is kept), so a run of a million units stays small. A line stop the agent asks
for (its output latched when an output could not be written) stops the conveyor; an operator
restarts it `RESTART_AFTER_S` later, so a long run goes on.

A real PLC and scanner are devices of their own that answer on time whatever the edge
computer does; here they share two CPUs with the agent and the rest of the host. Given
`rt_priority`, the plant process runs under real-time round robin at that priority, so it
does not wait behind other processes for a CPU (unraised, a third of the units the agent
missed met a PLC that answered 2-20 ms late or a read sent that late). Its cyclic GC is
frozen after start for the same reason (below).

Used by bench/checkpoint.py (latency and rate) and bench/checkpoint_rss.py (memory).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from edge.adapters.framing import Framing
from edge.sim.plc import OutputWrite, SimPlc
from edge.sim.scanner import SimScanner
from edge.sim.units import LineClock, SimLine

SEED = 11
LEAD_S = 1.5
"""Line time before the first unit: the agent connects meanwhile."""

CONFIG = """\
site: {{id: plant-b, name: Bench plant, timezone: UTC}}
line: {{id: line-b, name: Bench line}}
mqtt: {{broker_url: "mqtt://127.0.0.1:1883", topic_prefix: "{prefix}", status_period_s: 30}}
checkpoints:
  - id: sealing
    name: Sealer
    role: sealing
    device_id: edge-bench-sealing
    scanners:
      - {{name: unit, port: "socket://127.0.0.1:{scanner_port}", framing: cr,
          symbology_prefixes: ["]d2"]}}
    plc:
      host: 127.0.0.1
      port: {plc_port}
      timeout_s: 0.1
      registers:
        - {{name: seal_temp, address: 0, type: int16, scale: 0.1, unit: "°C", lo: 175, hi: 185,
            max_age_ms: 500, poll_period_ms: 20}}
        - {{name: seal_pressure, address: 1, type: uint16, scale: 0.01, unit: bar, lo: 3.5,
            hi: 4.5, max_age_ms: 500, poll_period_ms: 20}}
        - {{name: dwell_time, address: 2, type: float32, unit: ms, lo: 700, hi: 900,
            max_age_ms: 500, poll_period_ms: 20}}
      trigger: {{{trigger_input}, poll_period_ms: {trigger_ms}}}
    interlock:
      pass: {{table: coil, address: 0}}
      reject: {{table: coil, address: 1}}
      line_stop: {{table: coil, address: 2}}
      heartbeat: {{table: coil, address: 3}}
      pulse_ms: {pulse_ms}
    read_window_ms: {window_ms}
    decision_deadline_ms: {deadline_ms}
    rules:
      route_predecessor: {{enabled: false}}
    outbox: {{path: "{work}/outbox.sqlite3"}}
    state_path: "{work}/state.sqlite3"
"""

RESTART_AFTER_S = 2.0
_OUTCOMES = ("none", "pass", "reject", "both")


def line_for(rate_per_s: float, units: int, *, pulse_ms: float | None = None) -> SimLine:
    """The bench's line; the photo-eye is on for half the pitch (at most 30 ms) unless
    `pulse_ms` says otherwise (a pulse shorter than the trigger poll period)."""
    pitch_ms = 1000 / rate_per_s
    return SimLine(
        seed=SEED,
        rate_per_s=rate_per_s,
        first_arrival_s=LEAD_S,
        photo_eye_pulse_ms=min(30.0, pitch_ms * 0.5) if pulse_ms is None else pulse_ms,
        unit_count=units,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Timings:
    """The checkpoint's timings for a line rate (what a plant engineer would set)."""

    trigger_ms: int
    window_ms: int
    deadline_ms: int
    pulse_ms: int

    @classmethod
    def for_rate(cls, rate_per_s: float, *, trigger_ms: int) -> Timings:
        pitch_ms = 1000 / rate_per_s
        window_ms = max(2, min(60, round(pitch_ms * 0.5)))
        return cls(
            # The photo-eye is on for half the pitch: polled slower than half of that, edges
            # go unseen.
            trigger_ms=max(1, min(trigger_ms, int(pitch_ms / 4))),
            window_ms=window_ms,
            # The output must reach the PLC while the unit is still at the checkpoint.
            deadline_ms=max(window_ms + 1, min(90, round(pitch_ms * 0.9))),
            pulse_ms=max(1, min(30, round(pitch_ms * 0.3))),
        )


TRIGGER_INPUTS = {
    "edge": "table: discrete_input, address: 0",
    "counter": "table: holding_register, address: 4, edge: count, type: uint32",
}
"""`--trigger`: the photo-eye's edges, or the simulated PLC's count of them (`units_seen`)."""


def config_text(
    *,
    prefix: str,
    plc_port: int,
    scanner_port: int,
    timings: Timings,
    work: Path,
    trigger: str = "edge",
) -> str:
    return CONFIG.format(
        prefix=prefix,
        trigger_input=TRIGGER_INPUTS[trigger],
        scanner_port=scanner_port,
        plc_port=plc_port,
        trigger_ms=timings.trigger_ms,
        pulse_ms=timings.pulse_ms,
        window_ms=timings.window_ms,
        deadline_ms=timings.deadline_ms,
        work=work,
    )


@dataclass(frozen=True, slots=True)
class PlantRun:
    """What the plant saw of one run of the line."""

    outcomes: bytes
    """Per unit: 0 none, 1 pass, 2 reject, 3 both (see `outcome`)."""
    cpu_s: float
    """The plant process's CPU time during the run (PLC and scanner)."""
    requests: int
    """Modbus requests the simulated PLC served during the run."""
    wall_s: float
    line_stops: int
    """Times the agent stopped the line (each restarted `RESTART_AFTER_S` later)."""

    def outcome(self, index: int) -> str:
        return _OUTCOMES[self.outcomes[index]]

    def count(self, outcome: str) -> int:
        return self.outcomes.count(_OUTCOMES.index(outcome))


def set_scheduling(rt_priority: int) -> str:
    """Run this process (and the threads it starts from now on) under real-time round robin
    at `rt_priority`, or under normal scheduling for 0; says what was applied."""
    if rt_priority <= 0:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        return "normal scheduling"
    try:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(rt_priority))
    except PermissionError:
        return f"normal scheduling (SCHED_RR {rt_priority} not permitted: root or CAP_SYS_NICE)"
    return f"SCHED_RR {rt_priority}"


def serve_plant(
    conn: Connection,
    rate_per_s: float,
    units: int,
    read_delay_ms: float,
    rt_priority: int,
    pulse_ms: float | None = None,
) -> None:
    scheduling = set_scheduling(rt_priority)
    # pymodbus logs an error, with its last packets, for each answer it cannot send to an agent
    # that has just disconnected (the end of every run).
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

    async def main() -> None:
        line = line_for(rate_per_s, units, pulse_ms=pulse_ms)
        seen = bytearray(units)
        stops = [0]
        loop = asyncio.get_running_loop()

        def tally(write: OutputWrite) -> None:
            if write.name == "stop" and write.value:
                stops[0] += 1
                loop.call_later(RESTART_AFTER_S, sim.clock.resume)
            if write.value and write.unit_index is not None and write.unit_index < units:
                if write.name == "pass":
                    seen[write.unit_index] |= 1
                elif write.name == "reject":
                    seen[write.unit_index] |= 2

        sim = SimPlc(
            line=line,
            clock=LineClock(start_monotonic_s=time.monotonic() + 1e6),
            on_write=tally,
            keep_writes=False,
        )
        await sim.start()
        scanner = SimScanner.over_tcp(framing=Framing.named("cr"))
        await scanner.start()
        # A PLC and a scanner do not stop for a garbage collector: everything alive now lives
        # as long as the process, frozen out of the cyclic GC (a full collection over it
        # stopped this process, PLC and scanner alike, for about 17 ms at 100 units/s, so the
        # units then met a PLC that did not answer and reads that came 15 ms late).
        gc.collect()
        gc.freeze()
        conn.send((sim.port, int(scanner.url.rsplit(":", 1)[1]), scheduling))
        while (message := await loop.run_in_executor(None, conn.recv)) is not None:
            if message[0] == "meter":
                conn.send((time.process_time(), sim.requests))
                continue
            sim.clock = LineClock(start_monotonic_s=message[1])
            cpu_s, requests, wall_s = time.process_time(), sim.requests, time.monotonic()
            stops[0] = 0
            await scanner.follow(line, clock=sim.clock, read_delay_ms=read_delay_ms)
            await asyncio.sleep(0.3)
            conn.send(
                PlantRun(
                    outcomes=bytes(seen),
                    cpu_s=time.process_time() - cpu_s,
                    requests=sim.requests - requests,
                    wall_s=time.monotonic() - wall_s,
                    line_stops=stops[0],
                )
            )
        await scanner.stop()
        await sim.stop()

    asyncio.run(main())


class Plant:
    """The plant child process."""

    def __init__(
        self,
        rate_per_s: float,
        units: int,
        read_delay_ms: float,
        *,
        rt_priority: int = 0,
        pulse_ms: float | None = None,
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=serve_plant,
            args=(child, rate_per_s, units, read_delay_ms, rt_priority, pulse_ms),
            daemon=True,
        )
        self.process.start()
        self.plc_port, self.scanner_port, self.scheduling = self.conn.recv()
        """What `set_scheduling` applied in the plant process."""

    def meter(self) -> tuple[float, int]:
        """The plant's CPU seconds and requests served so far."""
        self.conn.send(("meter",))
        cpu_s, requests = self.conn.recv()
        return float(cpu_s), int(requests)

    def start_line(self, start_monotonic_s: float) -> None:
        self.conn.send(("run", start_monotonic_s))

    def result(self) -> PlantRun:
        """Blocks until the line has run (after `start_line`)."""
        run = self.conn.recv()
        assert isinstance(run, PlantRun)
        return run

    def stop(self) -> None:
        self.conn.send(None)
        self.process.join(10)
