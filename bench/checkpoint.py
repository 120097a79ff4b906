"""Checkpoint latency: photo-eye to PLC output through the whole agent, beside the bare Modbus
round trip and the outbox commit measured in the same run.

    .venv/bin/python bench/checkpoint.py [--rates 10,50,100,150,200,250] [--seconds 6]
                                         [--baseline 2000] [--dir /var/tmp]

The plant (a pymodbus server running the conveyor model, and a TCP scanner reading each unit
`--read-delay-ms` after it reaches the photo-eye) runs in a child process, as a real PLC and
scanner are peers of their own; the agent (engine, outbox, publisher to the Mosquitto on
127.0.0.1:1883, feeds) runs in this process, from a plant config like the tests'. Both clocks
are the host's CLOCK_MONOTONIC, so times compare across the processes.

Per rate (milliseconds, p50 / p99 / max):
- photo-eye -> output acked: from the unit reaching the photo-eye (the line model's exact
  time) to the PLC's acknowledgement of the pass write; includes the trigger poll (period
  `--trigger-ms`), the scanner's read delay and the wait for the trigger poll that settles
  the read.
- inputs -> output acked: from the moment the unit's window closed (every read in and
  settled) to the PLC acknowledging the pass write: facts, rules, outbox commit (fsync),
  write and read-back. This is the agent's own cost.
Baselines, measured first in the same run:
- bare Modbus: `write_coil` then `read_coils` on one pymodbus client (the pass output's write
  and read-back, nothing else), back to back.
- outbox commit: `Outbox.commit` of a realistic unit.inspected, one at a time, same disk.
The target is p99(inputs -> output acked) <= 3 x (p99 bare Modbus + p99 commit). A rate is
sustained when every unit passed with its own record, no decision missed its deadline and
every output reached the PLC while its unit was still at the checkpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient

from edge.adapters.framing import Framing
from edge.checkpoint.agent import Agent, AgentOptions
from edge.checkpoint.engine import Outcome
from edge.checkpoint.run_agent import GIL_SWITCH_INTERVAL_S
from edge.outbox import Outbox
from edge.sim.plc import SimPlc
from edge.sim.scanner import SimScanner
from edge.sim.units import LineClock, SimLine
from protocols.commands import WorkOrder
from protocols.config import load_plant_text
from protocols.events import InterlockResult, ParameterSample, ParsedUdi, Read, UnitInspected
from protocols.ids import uuid7

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
      trigger: {{table: discrete_input, address: 0, poll_period_ms: {trigger_ms}}}
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


@dataclass(frozen=True, slots=True)
class Timing:
    """One rate's figures."""

    rate_per_s: float
    units: int
    eye_to_ack_ms: list[float]
    inputs_to_ack_ms: list[float]
    decide_ms: list[float]
    commit_ms: list[float]
    output_ms: list[float]
    passed_recorded: int
    held: int
    deadline_missed: int
    late_outputs: int
    missing: int
    reasons: dict[str, int]
    poll_ms: int
    load: str


def line_for(rate_per_s: float, units: int) -> SimLine:
    pitch_ms = 1000 / rate_per_s
    return SimLine(
        seed=SEED,
        rate_per_s=rate_per_s,
        first_arrival_s=LEAD_S,
        photo_eye_pulse_ms=min(30.0, pitch_ms * 0.5),
        unit_count=units,
    )


# --- the plant, in a child process ---------------------------------------------------------


def serve_plant(conn: Connection, rate_per_s: float, units: int, read_delay_ms: float) -> None:
    async def main() -> None:
        line = line_for(rate_per_s, units)
        sim = SimPlc(line=line, clock=LineClock(start_monotonic_s=time.monotonic() + 1e6))
        await sim.start()
        scanner = SimScanner.over_tcp(framing=Framing.named("cr"))
        await scanner.start()
        conn.send((sim.port, int(scanner.url.rsplit(":", 1)[1])))
        loop = asyncio.get_running_loop()
        start_monotonic_s = await loop.run_in_executor(None, conn.recv)
        if start_monotonic_s is not None:
            sim.clock = LineClock(start_monotonic_s=start_monotonic_s)
            await scanner.follow(line, clock=sim.clock, read_delay_ms=read_delay_ms)
            await asyncio.sleep(0.3)
            conn.send([sim.unit_history(i).outcome for i in range(units)])
            await loop.run_in_executor(None, conn.recv)
        await scanner.stop()
        await sim.stop()

    asyncio.run(main())


class Plant:
    def __init__(self, rate_per_s: float, units: int, read_delay_ms: float) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=serve_plant, args=(child, rate_per_s, units, read_delay_ms), daemon=True
        )
        self.process.start()
        self.plc_port, self.scanner_port = self.conn.recv()

    def stop(self) -> None:
        self.conn.send(None)
        self.process.join(10)


# --- baselines -------------------------------------------------------------------------------


async def bare_modbus_ms(port: int, count: int) -> list[float]:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=0.25, retries=0)
    await client.connect()
    times = []
    for n in range(count):
        started = time.monotonic()
        await client.write_coil(5, bool(n % 2), device_id=1)
        back = await client.read_coils(5, count=1, device_id=1)
        times.append((time.monotonic() - started) * 1000)
        assert not back.isError()
    client.close()
    return times


def sample_event(n: int) -> UnitInspected:
    now = dt.datetime.now(dt.UTC)
    serial = f"SN{n:08d}"
    return UnitInspected(
        event_id=uuid7(),
        device_id="edge-bench-baseline",
        occurred_at=now,
        site="plant-b",
        line="line-b",
        checkpoint="sealing",
        reads=(
            Read(
                text=f"0109506000134352172812311A1B2C3\x1d21{serial}",
                symbology_id="]d2",
                source="scanner",
                source_name="unit",
                read_at=now,
            ),
        ),
        udi=ParsedUdi(issuer="GS1", di="09506000134352", lot="A1B2C3", serial=serial),
        parameters=tuple(
            ParameterSample(name=name, value=v, unit=u, lo=lo, hi=hi, age_ms=8, in_limits=True)
            for name, v, u, lo, hi in (
                ("seal_temp", 180.2, "°C", 175, 185),
                ("seal_pressure", 4.01, "bar", 3.5, 4.5),
                ("dwell_time", 801.0, "ms", 700, 900),
            )
        ),
        decision="pass",
        work_order="WO-BENCH",
        ruleset_version="tracegate-rules/1",
        interlock=InterlockResult(output="pass", written=False, verified=False),
    )


async def commit_ms(work: Path, count: int) -> list[float]:
    outbox = await Outbox.open(
        work / "baseline-outbox.sqlite3",
        device_id="edge-bench-baseline",
        max_bytes=10**10,
        max_age_s=10**6,
    )
    times = []
    try:
        for n in range(count):
            event = sample_event(n)
            started = time.monotonic()
            await outbox.commit(event)
            times.append((time.monotonic() - started) * 1000)
    finally:
        await outbox.close()
    return times


# --- the agent under load --------------------------------------------------------------------


async def run_rate(
    rate_per_s: float, seconds: float, work: Path, *, trigger_ms: int, read_delay_ms: float
) -> Timing:
    units = max(20, round(rate_per_s * seconds))
    line = line_for(rate_per_s, units)
    pitch_ms = 1000 / rate_per_s
    plant = Plant(rate_per_s, units, read_delay_ms)
    run_dir = Path(tempfile.mkdtemp(prefix=f"rate-{rate_per_s:g}-", dir=work))
    window_ms = max(2, min(60, round(pitch_ms * 0.5)))
    # The photo-eye is on for half the pitch: polled slower than half of that, edges go
    # unseen.
    poll_ms = max(1, min(trigger_ms, int(pitch_ms / 4)))
    deadline_ms = max(window_ms + 1, min(90, round(pitch_ms * 0.9)))
    text = CONFIG.format(
        prefix=f"tgbench/{uuid.uuid4().hex[:8]}",
        scanner_port=plant.scanner_port,
        plc_port=plant.plc_port,
        trigger_ms=poll_ms,
        pulse_ms=max(1, min(30, round(pitch_ms * 0.3))),
        window_ms=window_ms,
        deadline_ms=deadline_ms,
        work=run_dir,
    )
    agent = Agent(
        load_plant_text(text, source="bench"),
        "sealing",
        options=AgentOptions(software_version="bench", flush_timeout_s=5.0),
    )
    outcomes: list[Outcome] = []
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        await asyncio.wait_for(agent.ready.wait(), 10)
        assert agent.engine is not None and agent.state is not None and agent.plc is not None
        agent.engine.on_outcome = outcomes.append
        first = line.unit(0).udi
        await agent.state.apply(
            WorkOrder(
                command_id=uuid7(),
                issued_at=dt.datetime.now(dt.UTC),
                issued_by="bench",
                work_order="WO-BENCH",
                products=(line.product.di,),
                lot=line.lot,
                expiry=first.expiry,
                quantity=10**6,
            )
        )
        start_s = time.monotonic()
        plant.conn.send(start_s)
        plc_outcomes = await asyncio.to_thread(plant.conn.recv)
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        plant.conn.send(None)
        await asyncio.to_thread(plant.process.join, 10)
    clock = LineClock(start_monotonic_s=start_s)
    index_of = {f"{line.product.di}/S/{line.serial_of(i)}": i for i in range(units)}
    passed = [o for o in outcomes if o.decision == "pass" and o.output_acked_s is not None]
    eye_to_ack = []
    late = 0
    for o in passed:
        index = index_of[o.unit or ""]
        acked = o.output_acked_s or 0.0
        eye_to_ack.append((acked - clock.to_monotonic(line.arrival_s(index))) * 1000)
        if index + 1 < units:
            late += int(acked > clock.to_monotonic(line.arrival_s(index + 1)))
    inputs_to_ack = [((o.output_acked_s or 0.0) - o.inputs_s) * 1000 for o in passed]
    decide = [(o.decided_s - o.inputs_s) * 1000 for o in passed]
    commit = [((o.recorded_s or o.decided_s) - o.decided_s) * 1000 for o in passed]
    output = [((o.output_acked_s or 0.0) - (o.recorded_s or 0.0)) * 1000 for o in passed]
    recorded = {o.unit for o in passed if o.seq is not None}
    passed_recorded = sum(
        1
        for i, outcome in enumerate(plc_outcomes)
        if outcome == "pass" and f"{line.product.di}/S/{line.serial_of(i)}" in recorded
    )
    return Timing(
        rate_per_s=rate_per_s,
        units=units,
        eye_to_ack_ms=eye_to_ack,
        inputs_to_ack_ms=inputs_to_ack,
        decide_ms=decide,
        commit_ms=commit,
        output_ms=output,
        passed_recorded=passed_recorded,
        held=sum(o.decision == "hold" for o in outcomes),
        deadline_missed=sum("deadline_missed" in o.reasons for o in outcomes),
        late_outputs=late,
        poll_ms=poll_ms,
        reasons=dict(collections.Counter(r for o in outcomes for r in o.reasons)),
        missing=units - len({o.window for o in outcomes}),
        load=load,
    )


# --- report ----------------------------------------------------------------------------------


def pct(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def figures(label: str, values: list[float]) -> str:
    if not values:
        return f"  {label:<34} (none)"
    return (
        f"  {label:<34} n={len(values):5d}  p50 {statistics.median(values):7.3f}"
        f"  p99 {pct(values, 0.99):7.3f}  max {max(values):7.3f}"
    )


async def main_async(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="tracegate-bench-checkpoint-", dir=args.dir))
    print("Checkpoint latency; times in ms; plant (PLC + scanner) in a child process")
    print(
        f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())};"
        f" GIL switch interval {sys.getswitchinterval() * 1000:g} ms; {os.cpu_count()} CPUs"
    )
    plant = Plant(10.0, 20, args.read_delay_ms)
    try:
        bare = await bare_modbus_ms(plant.plc_port, args.baseline)
    finally:
        plant.stop()
    commits = await commit_ms(work, args.baseline)
    baseline_p99 = pct(bare, 0.99) + pct(commits, 0.99)
    print("baselines (same run):")
    print(figures("bare Modbus write + read-back", bare))
    print(figures("outbox commit (fsync)", commits))
    print(
        f"  target: p99 inputs -> output acked <= 3 x {baseline_p99:.3f} = "
        f"{3 * baseline_p99:.3f} ms"
    )
    sustained = 0.0
    for rate in args.rates:
        timing = await run_rate(
            rate, args.seconds, work, trigger_ms=args.trigger_ms, read_delay_ms=args.read_delay_ms
        )
        ok = (
            timing.passed_recorded == timing.units
            and timing.deadline_missed == 0
            and timing.late_outputs == 0
            and timing.missing == 0
        )
        sustained = rate if ok else sustained
        p99 = pct(timing.inputs_to_ack_ms, 0.99) if timing.inputs_to_ack_ms else float("nan")
        print(
            f"{rate:g} units/s ({timing.units} units, trigger poll {timing.poll_ms} ms, read"
            f" {args.read_delay_ms:g} ms after the photo-eye; load {timing.load}):"
            f" {'sustained' if ok else 'NOT sustained'}"
        )
        print(figures("photo-eye -> output acked", timing.eye_to_ack_ms))
        print(figures("inputs -> output acked", timing.inputs_to_ack_ms))
        print(figures("  of which facts + rules", timing.decide_ms))
        print(figures("  of which outbox commit", timing.commit_ms))
        print(figures("  of which pass write + read-back", timing.output_ms))
        print(
            f"  passed with a record {timing.passed_recorded}/{timing.units}, held {timing.held},"
            f" deadline missed {timing.deadline_missed}, outputs after the next unit"
            f" {timing.late_outputs}, undecided {timing.missing};"
            f" p99/baseline {p99 / baseline_p99:.2f}x"
        )
        if timing.reasons:
            print("  hold reasons: " + ", ".join(f"{k} {v}" for k, v in timing.reasons.items()))
        if not ok and rate > 100:
            break
    print(f"highest rate sustained: {sustained:g} units/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--rates",
        type=lambda text: [float(x) for x in text.split(",")],
        default=[10.0, 50.0, 100.0, 150.0, 200.0, 250.0],
    )
    parser.add_argument("--seconds", type=float, default=6.0, help="line time per rate")
    parser.add_argument("--baseline", type=int, default=2000, help="samples per baseline")
    parser.add_argument(
        "--trigger-ms", type=int, default=2, help="trigger poll period (less at high rates)"
    )
    parser.add_argument("--read-delay-ms", type=float, default=1.0)
    parser.add_argument("--dir", default=None, help="where the outbox and state files go")
    parser.add_argument(
        "--switch-interval-ms",
        type=float,
        default=GIL_SWITCH_INTERVAL_S * 1000,
        help="sys.setswitchinterval for this process; default: what `tracegate edge run` sets",
    )
    args = parser.parse_args()
    sys.setswitchinterval(args.switch_interval_ms / 1000)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
