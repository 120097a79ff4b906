"""Checkpoint latency and rate: photo-eye to PLC output through the whole agent, beside the
bare Modbus round trip and the outbox commit measured in the same run; what each process
spends; the agent's memory in a process of its own.

    .venv/bin/python bench/checkpoint.py [--rates 10,50,100,150,200,250] [--seconds 6]
                                         [--baseline 2000] [--rss-units 3000] [--dir /var/tmp]
                                         [--trigger edge|counter] [--pulse-ms 0.5]

The plant (a pymodbus server running the conveyor model, and a TCP scanner reading each unit
`--read-delay-ms` after it reaches the photo-eye) runs in a child process, as a real PLC and
scanner are peers of their own (bench/checkpoint_plant.py); the agent (engine, outbox,
publisher to the Mosquitto on 127.0.0.1:1883, feeds) runs in this process, from a plant
config like the tests'. Both clocks are the host's CLOCK_MONOTONIC, so times compare across
the processes.

Per rate (milliseconds, p50 / p99 / max):
- photo-eye -> output acked: from the unit reaching the photo-eye (the line model's exact
  time) to the PLC's acknowledgement of the pass write; includes the trigger poll (period
  `--trigger-ms`), the scanner's read delay and the trigger poll that settles the read
  (asked for as the read arrives).
- photo-eye -> trigger seen: the answer of the trigger poll that saw the photo-eye rise (with
  `--trigger counter`: that saw the PLC's unit counter go up).
- inputs -> output acked: from the moment the unit's window closed (every read in and
  settled) to the PLC acknowledging the pass write: facts, rules, outbox commit (fsync),
  write and read-back. This is the agent's own cost.
- CPU per process over the line (1.0 = one core: the agent's event loop alone, all its
  threads, the plant) and Modbus requests per second, and from them which side limits.
Baselines, measured first in the same run:
- bare Modbus: `write_coil` then `read_coils` on one pymodbus client (the pass output's write
  and read-back, nothing else), back to back; the simulated PLC's CPU per request with it.
- outbox commit: `Outbox.commit` of a realistic unit.inspected, one at a time, same disk.
- both again paced, one per 10 ms (`--paced` samples), as the agent meets them: back to back
  they run on threads and CPUs kept awake by the loop, between units they wake from idle.
The target is p99(inputs -> output acked) <= 3 x (p99 bare Modbus + p99 commit), checked
against the back-to-back baselines (the stricter) and printed against the paced. A rate is
sustained when every unit passed with its own record, no decision missed its deadline and
every output reached the PLC while its unit was still at the checkpoint.

Scheduling (`--scheduling deployment`, the default): the agent runs as the systemd unit of
ansible/roles/edge runs it, under real-time round robin at `edge_cpu_scheduling_priority`
(10); the plant, which stands for devices of their own, at 20 (bench/checkpoint_plant.py).
Both need root or CAP_SYS_NICE; without it the header says so and both run unraised.
`--scheduling normal` runs both unraised: on this shared 2-CPU host the agent then waited for
a CPU 7-8% of the line's time even with the host otherwise quiet, and missed 1-15 deadlines
per 600 units at 100 units/s (load 0.4-1.7); raised, 0-2 (load 1.4-2.4; docs/edge-agent.md).

Memory (bench/checkpoint_rss.py): `tracegate edge run` in its own process, its VmRSS once it
watches the line and after `--rss-units` units at `--rss-rate`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import gc
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from checkpoint_plant import Plant, PlantRun, Timings, config_text, line_for, set_scheduling
from checkpoint_rss import describe, run_agent
from procstat import process_cpu_s, thread_cpu_s
from pymodbus.client import AsyncModbusTcpClient

from edge.checkpoint.agent import Agent, AgentOptions
from edge.checkpoint.engine import Outcome
from edge.checkpoint.run_agent import GIL_SWITCH_INTERVAL_S, settle_after_start
from edge.outbox import Outbox
from protocols.commands import WorkOrder
from protocols.config import load_plant_text
from protocols.events import InterlockResult, ParameterSample, ParsedUdi, Read, UnitInspected
from protocols.ids import uuid7

PACED_GAP_MS = 10
"""The paced baselines' gap: the agent meets a commit and a write one unit at a time, with
the line's pitch between them (10 ms at 100 units/s). Measured here: an `Outbox.commit`
one per 10 ms or per 100 ms took p50 1.0-1.1 ms against 0.45-0.55 ms back to back (the
writer thread and the CPUs go idle between units and take that long to wake)."""

AGENT_RT_PRIORITY = 10
"""`edge_cpu_scheduling_priority` in ansible/roles/edge/defaults/main.yml."""
PLANT_RT_PRIORITY = 20
"""Above the agent: a PLC answers within its scan whatever the edge computer does."""


@dataclass(frozen=True, slots=True)
class Timing:
    """One rate's figures."""

    rate_per_s: float
    units: int
    eye_to_ack_ms: list[float]
    eye_to_trigger_ms: list[float]
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
    timings: Timings
    load: str
    plant: PlantRun
    line_s: float
    agent_cpu_s: float
    """All the agent's threads (this process) over the line."""
    loop_cpu_s: float
    """The agent's event loop thread over the line."""
    agent_requests: int
    trigger_polls: int
    gc: GcPauses
    batched_units: int = 0
    """Units a counter poll counted with others (reads told apart by order)."""


@dataclass(frozen=True, slots=True)
class SimPlcCost:
    """The simulated PLC measured alone, under the bare Modbus baseline."""

    cpu_us_per_request: float
    requests_per_s: float
    """Served back to back from one client (each a round trip)."""


class GcPauses:
    """The cyclic GC's collections in this process while installed, and how long each took."""

    def __init__(self) -> None:
        self.pauses_ms: list[float] = []
        self.full = 0
        self._started = 0.0

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses_ms.append((time.perf_counter() - self._started) * 1000)
            self.full += info["generation"] == 2


# --- baselines -------------------------------------------------------------------------------


async def bare_modbus_ms(
    plant: Plant, count: int, *, gap_s: float = 0.0
) -> tuple[list[float], SimPlcCost]:
    client = AsyncModbusTcpClient("127.0.0.1", port=plant.plc_port, timeout=0.25, retries=0)
    await client.connect()
    times = []
    cpu_s, requests = await asyncio.to_thread(plant.meter)
    started_s = time.monotonic()
    for n in range(count):
        started = time.monotonic()
        await client.write_coil(5, bool(n % 2), device_id=1)
        back = await client.read_coils(5, count=1, device_id=1)
        times.append((time.monotonic() - started) * 1000)
        assert not back.isError()
        if gap_s:
            await asyncio.sleep(gap_s)
    wall_s = time.monotonic() - started_s
    cpu_end_s, requests_end = await asyncio.to_thread(plant.meter)
    client.close()
    served = requests_end - requests
    return times, SimPlcCost(
        cpu_us_per_request=(cpu_end_s - cpu_s) / max(1, served) * 1e6,
        requests_per_s=served / wall_s,
    )


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


async def commit_ms(work: Path, count: int, *, gap_s: float = 0.0) -> list[float]:
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
            if gap_s:
                await asyncio.sleep(gap_s)
    finally:
        await outbox.close()
    return times


# --- the agent under load --------------------------------------------------------------------


async def run_rate(
    rate_per_s: float,
    seconds: float,
    work: Path,
    *,
    trigger_ms: int,
    read_delay_ms: float,
    plant_priority: int,
    trigger: str = "edge",
    pulse_ms: float | None = None,
) -> Timing:
    units = max(20, round(rate_per_s * seconds))
    line = line_for(rate_per_s, units, pulse_ms=pulse_ms)
    plant = Plant(rate_per_s, units, read_delay_ms, rt_priority=plant_priority, pulse_ms=pulse_ms)
    run_dir = Path(tempfile.mkdtemp(prefix=f"rate-{rate_per_s:g}-", dir=work))
    timings = Timings.for_rate(rate_per_s, trigger_ms=trigger_ms)
    text = config_text(
        prefix=f"tgbench/{uuid.uuid4().hex[:8]}",
        plc_port=plant.plc_port,
        scanner_port=plant.scanner_port,
        timings=timings,
        work=run_dir,
        trigger=trigger,
    )
    agent = Agent(
        load_plant_text(text, source="bench"),
        "sealing",
        options=AgentOptions(software_version="bench", flush_timeout_s=5.0),
    )
    outcomes: list[Outcome] = []
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    loop_thread = threading.get_native_id()
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
        plant.start_line(start_s)
        # The line's units pass from LEAD_S on: CPU and requests are counted over them only.
        await asyncio.sleep(line.arrival_s(0) - 0.05)
        cpu_s, loop_s = process_cpu_s(), thread_cpu_s()[loop_thread][1]
        requests, polls, metered_s = agent.plc.requests, agent.plc.trigger_polls, time.monotonic()
        with GcPauses() as gc_pauses:
            await asyncio.sleep(
                max(0.0, start_s + line.arrival_s(units - 1) + 0.05 - time.monotonic())
            )
        line_s = time.monotonic() - metered_s
        agent_cpu_s = process_cpu_s() - cpu_s
        loop_cpu_s = thread_cpu_s()[loop_thread][1] - loop_s
        agent_requests = agent.plc.requests - requests
        trigger_polls = agent.plc.trigger_polls - polls
        batched_units = agent.engine.counters.batched_units
        plant_run = await asyncio.to_thread(plant.result)
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await asyncio.to_thread(plant.stop)
    clock_start = start_s
    index_of = {f"{line.product.di}/S/{line.serial_of(i)}": i for i in range(units)}

    def arrival(index: int) -> float:
        return clock_start + line.arrival_s(index)

    passed = [o for o in outcomes if o.decision == "pass" and o.output_acked_s is not None]
    eye_to_ack = []
    eye_to_trigger = []
    late = 0
    for o in passed:
        index = index_of[o.unit or ""]
        acked = o.output_acked_s or 0.0
        eye_to_ack.append((acked - arrival(index)) * 1000)
        eye_to_trigger.append((o.trigger_s - arrival(index)) * 1000)
        if index + 1 < units:
            late += int(acked > arrival(index + 1))
    inputs_to_ack = [((o.output_acked_s or 0.0) - o.inputs_s) * 1000 for o in passed]
    decide = [(o.decided_s - o.inputs_s) * 1000 for o in passed]
    commit = [((o.recorded_s or o.decided_s) - o.decided_s) * 1000 for o in passed]
    output = [((o.output_acked_s or 0.0) - (o.recorded_s or 0.0)) * 1000 for o in passed]
    recorded = {o.unit for o in passed if o.seq is not None}
    passed_recorded = sum(
        1
        for i in range(units)
        if plant_run.outcome(i) == "pass" and f"{line.product.di}/S/{line.serial_of(i)}" in recorded
    )
    return Timing(
        rate_per_s=rate_per_s,
        units=units,
        eye_to_ack_ms=eye_to_ack,
        eye_to_trigger_ms=eye_to_trigger,
        inputs_to_ack_ms=inputs_to_ack,
        decide_ms=decide,
        commit_ms=commit,
        output_ms=output,
        passed_recorded=passed_recorded,
        held=sum(o.decision == "hold" for o in outcomes),
        deadline_missed=sum("deadline_missed" in o.reasons for o in outcomes),
        late_outputs=late,
        timings=timings,
        reasons=dict(collections.Counter(r for o in outcomes for r in o.reasons)),
        missing=units - len({o.window for o in outcomes}),
        load=load,
        plant=plant_run,
        line_s=line_s,
        agent_cpu_s=agent_cpu_s,
        loop_cpu_s=loop_cpu_s,
        agent_requests=agent_requests,
        trigger_polls=trigger_polls,
        gc=gc_pauses,
        batched_units=batched_units,
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


def limiting_side(timing: Timing) -> str:
    """Which process ran out of CPU, if one did: each is one event loop, so a loop near one
    core is the bottleneck; below that, units wait on the host (other processes on the
    cores, the disk), not on either side's work."""
    loop = timing.loop_cpu_s / timing.line_s
    plant = timing.plant.cpu_s / timing.plant.wall_s
    if plant >= 0.8 and plant >= loop:
        return f"the simulated PLC (its loop at {plant:.0%} of a core)"
    if loop >= 0.8:
        return f"the agent's event loop ({loop:.0%} of a core)"
    return (
        f"neither process's CPU (agent loop {loop:.0%}, plant {plant:.0%} of a core): misses"
        f" are waits on the host (load {timing.load} on {os.cpu_count()} CPUs, disk)"
    )


async def main_async(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="tracegate-bench-checkpoint-", dir=args.dir))
    # The agent's logs (alarms for held units) go to a file, as under systemd.
    logging.basicConfig(filename=work / "agent.log", level=logging.WARNING)
    print("Checkpoint latency; times in ms; plant (PLC + scanner) in a child process")
    print(
        f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())};"
        f" GIL switch interval {sys.getswitchinterval() * 1000:g} ms; {os.cpu_count()} CPUs;"
        f" files in {work}"
    )
    plant_priority = PLANT_RT_PRIORITY if args.scheduling == "deployment" else 0
    plant = Plant(10.0, 20, args.read_delay_ms, rt_priority=plant_priority)
    print(f"scheduling: agent {args.agent_scheduling}; plant {plant.scheduling}")
    try:
        bare, sim_cost = await bare_modbus_ms(plant, args.baseline)
        paced_gap_s = PACED_GAP_MS / 1000
        bare_paced, _ = await bare_modbus_ms(plant, args.paced, gap_s=paced_gap_s)
    finally:
        plant.stop()
    commits = await commit_ms(work, args.baseline)
    commits_paced = await commit_ms(work, args.paced, gap_s=paced_gap_s)
    baseline_p99 = pct(bare, 0.99) + pct(commits, 0.99)
    paced_p99 = pct(bare_paced, 0.99) + pct(commits_paced, 0.99)
    print("baselines (same run):")
    print(figures("bare Modbus write + read-back", bare))
    print(figures("outbox commit (fsync)", commits))
    print(figures(f"  the same, one per {PACED_GAP_MS} ms: Modbus", bare_paced))
    print(figures(f"  the same, one per {PACED_GAP_MS} ms: commit", commits_paced))
    print(
        f"  simulated PLC alone: {sim_cost.cpu_us_per_request:.0f} us CPU per request,"
        f" {sim_cost.requests_per_s:.0f} requests/s back to back from one client"
        f" (one core would serve about {1e6 / sim_cost.cpu_us_per_request:.0f}/s)"
    )
    print(
        f"  target: p99 inputs -> output acked <= 3 x {baseline_p99:.3f} = "
        f"{3 * baseline_p99:.3f} ms (back to back; paced: 3 x {paced_p99:.3f} ="
        f" {3 * paced_p99:.3f} ms)"
    )
    sustained = 0.0
    for rate in args.rates:
        timing = await run_rate(
            rate,
            args.seconds,
            work,
            trigger_ms=args.trigger_ms,
            read_delay_ms=args.read_delay_ms,
            plant_priority=plant_priority,
            trigger=args.trigger,
            pulse_ms=args.pulse_ms,
        )
        plant_run = timing.plant
        ok = (
            timing.passed_recorded == timing.units
            and timing.deadline_missed == 0
            and timing.late_outputs == 0
            and timing.missing == 0
        )
        sustained = rate if ok else sustained
        p99 = pct(timing.inputs_to_ack_ms, 0.99) if timing.inputs_to_ack_ms else float("nan")
        t = timing.timings
        print(
            f"{rate:g} units/s ({timing.units} units; trigger {args.trigger} polled every"
            f" {t.trigger_ms} ms,"
            + (f" photo-eye pulse {args.pulse_ms:g} ms," if args.pulse_ms is not None else "")
            + " window"
            f" {t.window_ms} ms, deadline {t.deadline_ms} ms, pulse {t.pulse_ms} ms; read"
            f" {args.read_delay_ms:g} ms after the photo-eye; load {timing.load}):"
            f" {'sustained' if ok else 'NOT sustained'}"
        )
        print(figures("photo-eye -> output acked", timing.eye_to_ack_ms))
        print(figures("photo-eye -> trigger seen", timing.eye_to_trigger_ms))
        print(figures("inputs -> output acked", timing.inputs_to_ack_ms))
        print(figures("  of which facts + rules", timing.decide_ms))
        print(figures("  of which outbox commit", timing.commit_ms))
        print(figures("  of which pass write + read-back", timing.output_ms))
        print(
            f"  passed with a record {timing.passed_recorded}/{timing.units}, held {timing.held},"
            f" deadline missed {timing.deadline_missed}, outputs after the next unit"
            f" {timing.late_outputs}, undecided {timing.missing};"
            f" p99/baseline {p99 / baseline_p99:.2f}x (paced {p99 / paced_p99:.2f}x)"
            + (f"; batched units {timing.batched_units}" if args.trigger == "counter" else "")
        )
        print(
            f"  the PLC saw: {plant_run.count('pass')} passed, {plant_run.count('reject')}"
            f" rejected, {plant_run.count('none')} with no output, {plant_run.count('both')}"
            f" with both; line stops {plant_run.line_stops}"
        )
        if timing.reasons:
            print("  hold reasons: " + ", ".join(f"{k} {v}" for k, v in timing.reasons.items()))
        line_s = timing.line_s
        print(
            f"  CPU over the line ({line_s:.1f} s): agent {timing.agent_cpu_s / line_s:.0%} of a"
            f" core (event loop {timing.loop_cpu_s / line_s:.0%}), plant"
            f" {plant_run.cpu_s / plant_run.wall_s:.0%}; Modbus: agent"
            f" {timing.agent_requests / line_s:.0f} requests/s"
            f" ({timing.agent_requests / timing.units:.1f} per unit, trigger polls"
            f" {timing.trigger_polls / line_s:.0f}/s), PLC served"
            f" {plant_run.requests / plant_run.wall_s:.0f}/s"
        )
        pauses = timing.gc.pauses_ms
        print(
            f"  cyclic GC in the agent's process: {len(pauses)} collections"
            f" ({timing.gc.full} full), longest {max(pauses, default=0.0):.2f} ms,"
            f" {sum(pauses):.0f} ms in all"
        )
        print(f"  limited by: {limiting_side(timing)}")
        if not ok and rate > 100:
            break
    print(f"highest rate sustained: {sustained:g} units/s")
    if args.rss_units > 0:
        memory = await asyncio.to_thread(
            run_agent,
            units=args.rss_units,
            rate_per_s=args.rss_rate,
            work=Path(tempfile.mkdtemp(prefix="rss-", dir=work)),
            every_s=5.0,
            trigger_ms=args.trigger_ms,
            read_delay_ms=args.read_delay_ms,
        )
        print(f"memory ({args.rss_units} units at {args.rss_rate:g} units/s):")
        for line in describe(memory, args.rss_units):
            print(line)


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
        "--paced",
        type=int,
        default=300,
        help=f"samples per baseline taken one per {PACED_GAP_MS} ms",
    )
    parser.add_argument(
        "--trigger-ms", type=int, default=2, help="trigger poll period (less at high rates)"
    )
    parser.add_argument(
        "--trigger",
        choices=("edge", "counter"),
        default="edge",
        help="edge: the agent polls the photo-eye for its edges; counter: it polls the PLC's"
        " count of them (edge: count)",
    )
    parser.add_argument(
        "--pulse-ms",
        type=float,
        default=None,
        help="photo-eye pulse (default: half the pitch, at most 30 ms); shorter than the"
        " trigger poll period, edges go unseen and the counter still counts them",
    )
    parser.add_argument("--read-delay-ms", type=float, default=1.0)
    parser.add_argument("--dir", default=None, help="where the outbox and state files go")
    parser.add_argument(
        "--switch-interval-ms",
        type=float,
        default=GIL_SWITCH_INTERVAL_S * 1000,
        help="sys.setswitchinterval for this process; default: what `tracegate edge run` sets",
    )
    parser.add_argument(
        "--rss-units", type=int, default=3000, help="units for the memory figure; 0: none"
    )
    parser.add_argument("--rss-rate", type=float, default=100.0)
    parser.add_argument(
        "--scheduling",
        choices=("deployment", "normal"),
        default="deployment",
        help="deployment: the agent under SCHED_RR as its systemd unit runs it, the plant"
        " above it; normal: both unraised",
    )
    args = parser.parse_args()
    # Before any thread starts: the agent's threads (outbox, local state, MQTT) inherit it.
    args.agent_scheduling = set_scheduling(
        AGENT_RT_PRIORITY if args.scheduling == "deployment" else 0
    )
    # As `tracegate edge run` prepares its process: the switch interval, the parsers' tables
    # loaded, the heap settled and frozen out of the cyclic GC.
    sys.setswitchinterval(args.switch_interval_ms / 1000)
    settle_after_start()
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
