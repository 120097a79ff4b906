"""PLC path latency: the adapter's trigger-to-write path against bare pymodbus, same run.

The simulated PLC (a pymodbus TCP server running the conveyor model) runs in a child
process, as a real PLC would be a separate peer; the line clock is shared through a
wall-clock epoch, so the true photo-eye times are known here.

Figures (milliseconds, p50 / p99 / max):
- adapter, edge -> pass written and verified: from the answer of the trigger poll that saw
  the photo-eye rise to the end of the read-back of the pass coil (queue hand-off, write,
  read-back), measured by a consumer of `ModbusPlc.edges()`;
- adapter, photo-eye -> edge seen: from the true rise to that answer (bounded by the
  trigger poll period);
- adapter, write + verify: `ModbusPlc.write("pass", True)` back to back, while the
  trigger polling goes on (as it does on a live checkpoint);
- baseline, bare pymodbus read + write: `read_discrete_inputs` then `write_coil` on one
  `AsyncModbusTcpClient`, back to back (the same two round trips, no adapter).

Run: `.venv/bin/python bench/plc.py [--units 300] [--rate-per-s 25] [--bare 2000]
[--trigger-ms 2]`. The machine's load average is printed: other work on its cores shows
in the tails.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import time
from multiprocessing.connection import Connection

from pymodbus.client import AsyncModbusTcpClient

from edge.adapters.plc import ModbusPlc
from edge.adapters.plc_types import TriggerSpec
from edge.sim.plc import SimPlc
from edge.sim.plc_layout import SimPlcLayout
from edge.sim.units import LineClock, SimLine

SEED = 7
PULSE_MS = 15.0


def _line(rate_per_s: float, units: int) -> SimLine:
    return SimLine(
        seed=SEED,
        rate_per_s=rate_per_s,
        first_arrival_s=1.0,
        photo_eye_pulse_ms=PULSE_MS,
        unit_count=units,
    )


def _serve(conn: Connection, epoch_s: float, rate_per_s: float, units: int) -> None:
    async def main() -> None:
        sim = SimPlc(line=_line(rate_per_s, units), clock=LineClock.from_epoch(epoch_s))
        await sim.start()
        conn.send(sim.port)
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        await sim.stop()

    asyncio.run(main())


def _figures(label: str, values_ms: list[float]) -> str:
    ordered = sorted(values_ms)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"{label:<46} n={len(ordered):5d}  p50 {statistics.median(ordered):7.3f}  "
        f"p99 {p99:7.3f}  max {ordered[-1]:7.3f}"
    )


async def _adapter_path(
    port: int, epoch_s: float, rate_per_s: float, units: int, trigger_ms: float
) -> tuple[list[float], list[float], list[float], int]:
    line = _line(rate_per_s, units)
    clock = LineClock.from_epoch(epoch_s)
    plc = ModbusPlc(
        "bench",
        host="127.0.0.1",
        port=port,
        registers=SimPlcLayout.default().register_map(),
        trigger=TriggerSpec(register="photo_eye", period_ms=trigger_ms),
    )
    edges = plc.edges()
    await plc.start()
    assert await plc.wait_up(timeout_s=5.0)
    edge_to_write: list[float] = []
    eye_to_edge: list[float] = []
    unverified = 0
    seen: set[int] = set()
    deadline = clock.to_monotonic(line.arrival_s(units - 1)) + 1.0
    while time.monotonic() < deadline and len(edge_to_write) < units:
        try:
            edge = await asyncio.wait_for(edges.get(), deadline - time.monotonic())
        except TimeoutError:
            break
        result = await plc.write("pass", True)
        done = time.monotonic()
        unverified += not result.verified
        edge_to_write.append((done - edge.monotonic_s) * 1000)
        unit = line.unit_at(clock.at(edge.monotonic_s))
        assert unit is not None
        seen.add(unit.index)
        eye_to_edge.append((edge.monotonic_s - clock.to_monotonic(unit.arrival_s)) * 1000)
    write_only: list[float] = []
    for _ in range(len(edge_to_write)):
        started = time.monotonic()
        await plc.write("pass", True)
        write_only.append((time.monotonic() - started) * 1000)
    await plc.close()
    return edge_to_write, eye_to_edge, write_only, units - len(seen)


async def _bare_pymodbus(port: int, count: int) -> list[float]:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=0.25, retries=0)
    await client.connect()
    times: list[float] = []
    for _ in range(count):
        started = time.monotonic()
        eye = await client.read_discrete_inputs(0, count=1, device_id=1)
        await client.write_coil(0, True, device_id=1)
        times.append((time.monotonic() - started) * 1000)
        assert not eye.isError()
    client.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--rate-per-s", type=float, default=25.0)
    parser.add_argument("--bare", type=int, default=2000)
    parser.add_argument("--trigger-ms", type=float, default=2.0, help="trigger poll period")
    args = parser.parse_args()

    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    epoch_s = time.time()
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child, epoch_s, args.rate_per_s, args.units))
    server.start()
    port = parent.recv()
    try:
        edge_to_write, eye_to_edge, write_only, missed = asyncio.run(
            _adapter_path(port, epoch_s, args.rate_per_s, args.units, args.trigger_ms)
        )
        bare = asyncio.run(_bare_pymodbus(port, args.bare))
    finally:
        parent.send("stop")
        server.join(timeout=10)

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print("PLC path, Modbus TCP over loopback, server in a child process; times in ms")
    print(
        f"line: {args.rate_per_s:g} units/s, photo-eye pulse {PULSE_MS:g} ms, "
        f"trigger poll {args.trigger_ms:g} ms; load average before: {load_before}, after: {load}"
    )
    print(_figures("adapter: edge seen -> pass written + verified", edge_to_write))
    print(_figures("adapter: photo-eye rise -> edge seen", eye_to_edge))
    print(_figures("adapter: write + verify (trigger polling on)", write_only))
    print(_figures("baseline: bare pymodbus read + write", bare))
    print(f"units {args.units}, edges handled {len(edge_to_write)}, units missed {missed}")


if __name__ == "__main__":
    main()
