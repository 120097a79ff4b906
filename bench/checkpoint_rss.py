"""Agent memory: the resident size of `tracegate edge run` in a process of its own (as on a
Pi) when it has started and as units pass; with many units, whether it grows.

    .venv/bin/python bench/checkpoint_rss.py [--units 100000] [--rate 100] [--every-s 30]
                                             [--dir /var/tmp]

The agent runs the bench's sealing checkpoint (bench/checkpoint_plant.py) against the plant
in a child process, publishing to the Mosquitto on 127.0.0.1:1883, logging JSON lines at
info level into a file (as under systemd). Its work order is set with `tracegate edge
workorder` first. Every `--every-s` the agent's VmRSS (from /proc) is printed beside the
units it has decided (from its status file), its outbox depth and its CPU share. Budget
(DESIGN.md): under 60 MB without a camera, and flat over a day of running.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from checkpoint_plant import Plant, PlantRun, Timings, config_text, line_for
from procstat import memory_mb, process_cpu_s

from edge.checkpoint.status_file import AgentStatus, read_status, status_path


@dataclass(frozen=True, slots=True)
class Sample:
    at_s: float
    """Seconds since the line started."""
    units: int
    """Units the agent had decided."""
    rss_mb: float
    outbox_depth: int | None
    cpu_share: float
    """The agent's CPU time since the last sample over the wall time, 1.0 = one core."""


@dataclass(slots=True)
class AgentMemory:
    started_mb: float
    """VmRSS once the agent watches the line, before the first unit."""
    samples: list[Sample]
    end_mb: float
    peak_mb: float
    """VmHWM: the most the agent was resident at any moment."""
    status: AgentStatus | None
    plant: PlantRun | None


def tracegate() -> str:
    return str(Path(sys.executable).parent / "tracegate")


def _wait_watching(proc: subprocess.Popen[bytes], status_file: Path, *, timeout_s: float) -> None:
    deadline_s = time.monotonic() + timeout_s
    while time.monotonic() < deadline_s:
        if proc.poll() is not None:
            raise RuntimeError(f"the agent exited with {proc.returncode} before it was ready")
        status = read_status(status_file)
        if status is not None and status.running:
            up = {link.name for link in status.links if link.state == "up"}
            if {"plc", "unit"} <= up:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the agent did not report its PLC and scanner up in {timeout_s} s")


def run_agent(
    *,
    units: int,
    rate_per_s: float,
    work: Path,
    every_s: float,
    trigger_ms: int = 2,
    read_delay_ms: float = 1.0,
    on_sample: Callable[[Sample], None] | None = None,
) -> AgentMemory:
    """Run `units` units past an agent process; its memory at start and along the way."""
    plant = Plant(rate_per_s, units, read_delay_ms)
    line = line_for(rate_per_s, units)
    config = work / "plant.yaml"
    config.write_text(
        config_text(
            prefix=f"tgbench/{uuid.uuid4().hex[:8]}",
            plc_port=plant.plc_port,
            scanner_port=plant.scanner_port,
            timings=Timings.for_rate(rate_per_s, trigger_ms=trigger_ms),
            work=work,
        ),
        encoding="utf-8",
    )
    first = line.unit(0).udi
    subprocess.run(
        [tracegate(), "edge", "workorder", str(config), "-c", "sealing", "--work-order",
         "WO-BENCH", "--product", line.product.di, "--lot", line.lot, "--quantity",
         str(10**7), "--expiry", str(first.expiry)],
        check=True, capture_output=True,
    )  # fmt: skip
    status_file = status_path(work / "state.sqlite3")
    with (work / "agent.log").open("wb") as log:
        proc = subprocess.Popen(
            [tracegate(), "edge", "run", str(config), "-c", "sealing"], stdout=log, stderr=log
        )
    memory = AgentMemory(started_mb=0.0, samples=[], end_mb=0.0, peak_mb=0.0, status=None,
                         plant=None)  # fmt: skip
    try:
        _wait_watching(proc, status_file, timeout_s=60)
        memory.started_mb = memory_mb(proc.pid)["VmRSS"]
        start_s = time.monotonic()
        plant.start_line(start_s)
        cpu_s, sampled_s = process_cpu_s(proc.pid), start_s
        while not plant.conn.poll(every_s):
            now_s, cpu_now_s = time.monotonic(), process_cpu_s(proc.pid)
            status = read_status(status_file)
            sample = Sample(
                at_s=now_s - start_s,
                units=status.counters.get("units", 0) if status else 0,
                rss_mb=memory_mb(proc.pid)["VmRSS"],
                outbox_depth=status.outbox_depth if status else None,
                cpu_share=(cpu_now_s - cpu_s) / (now_s - sampled_s),
            )
            cpu_s, sampled_s = cpu_now_s, now_s
            memory.samples.append(sample)
            if on_sample is not None:
                on_sample(sample)
        memory.plant = plant.result()
        time.sleep(1.5)  # one more status file
        figures = memory_mb(proc.pid)
        memory.end_mb, memory.peak_mb = figures["VmRSS"], figures["VmHWM"]
        memory.status = read_status(status_file)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        plant.stop()
    return memory


def describe(memory: AgentMemory, units: int) -> list[str]:
    counters = memory.status.counters if memory.status else {}
    plant = memory.plant
    lines = [
        f"  agent RSS (`tracegate edge run`, own process): at start {memory.started_mb:.1f} MB,"
        f" after {counters.get('units', 0)} units {memory.end_mb:.1f} MB,"
        f" peak {memory.peak_mb:.1f} MB (budget 60 MB)",
    ]
    if plant is not None:
        lines.append(
            f"  units {units}: PLC saw {plant.count('pass')} passed, {plant.count('reject')}"
            f" rejected, {plant.count('none')} with no output, {plant.count('both')} both;"
            f" line stops {plant.line_stops}; agent counted {counters.get('passed', 0)} passed,"
            f" {counters.get('held', 0)} held"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=100.0, help="units per second")
    parser.add_argument("--every-s", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--trigger-ms", type=int, default=2)
    parser.add_argument("--dir", default=None, help="where the outbox and state files go")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tracegate-bench-rss-", dir=args.dir))
    print(
        f"Agent memory over {args.units} units at {args.rate:g} units/s"
        f" ({args.units / args.rate / 60:.1f} min of line); load average"
        f" {', '.join(f'{x:.2f}' for x in os.getloadavg())}; files in {work}"
    )
    print(f"{'line s':>8} {'units':>8} {'RSS MB':>8} {'outbox':>7} {'CPU':>6}", flush=True)

    def show(sample: Sample) -> None:
        depth = "-" if sample.outbox_depth is None else str(sample.outbox_depth)
        print(
            f"{sample.at_s:8.0f} {sample.units:8d} {sample.rss_mb:8.1f} {depth:>7}"
            f" {sample.cpu_share:6.0%}",
            flush=True,
        )

    memory = run_agent(
        units=args.units,
        rate_per_s=args.rate,
        work=work,
        every_s=args.every_s,
        trigger_ms=args.trigger_ms,
        on_sample=show,
    )
    for line in describe(memory, args.units):
        print(line)
    rss = [s.rss_mb for s in memory.samples if s.units > 0]
    if len(rss) >= 4:
        half = len(rss) // 2
        first, second = rss[:half], rss[half:]
        print(
            f"  RSS first half of the run {min(first):.1f}-{max(first):.1f} MB,"
            f" second half {min(second):.1f}-{max(second):.1f} MB"
            f" (growth {max(second) - max(first):+.1f} MB)"
        )
    if memory.status is not None:
        print(f"  agent counters: {memory.status.counters}; hold reasons {memory.status.reasons}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
