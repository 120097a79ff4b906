"""The simulated scanner following a SimLine: what reaches the adapter for each unit."""

from __future__ import annotations

import asyncio

from edge.sim.scanner import SimScanner
from edge.sim.units import Fault, LineClock, SimLine

from .conftest import connected, make_scanner, next_read


async def test_following_a_line_reports_each_unit_with_its_faults(transport: str) -> None:
    line = SimLine(
        seed=11,
        rate_per_s=10.0,
        first_arrival_s=0.05,
        photo_eye_pulse_ms=20.0,
        unit_count=6,
        faults={
            1: [Fault.NO_READ],
            2: [Fault.MISREAD],
            3: [Fault.DOUBLE_READ],
            4: [Fault.SKIPS_CHECKPOINT],
        },
    )
    sim = (SimScanner.over_pty if transport == "pty" else SimScanner.over_tcp)(
        no_read_text="NOREAD"
    )
    async with sim, make_scanner(sim.url, no_read_texts=["NOREAD"]) as scanner:
        await connected(scanner, sim)
        clock = LineClock()
        sent = await sim.follow(line, clock=clock)
        reads = scanner.reads()
        got = [await next_read(reads) for _ in range(6)]
    units = [line.unit(i) for i in range(6)]
    assert [(s.unit_index, s.outcome) for s in sent] == [
        (0, "read"),
        (1, "no_read"),
        (2, "misread"),
        (3, "duplicate"),
        (5, "read"),
    ]
    assert [(r.text, r.symbology_id) for r in got] == [
        (units[0].udi.text, "]d2"),
        ("NOREAD", None),
        (units[2].reader_text, "]d2"),
        (units[3].udi.text, "]d2"),
        (units[3].udi.text, "]d2"),
        (units[5].udi.text, "]d2"),
    ]
    assert units[2].reader_text != units[2].udi.text
    # Each read comes after its unit reached the photo-eye, in line time.
    for read in sent:
        assert read.unit_index is not None
        assert clock.at(read.monotonic_s) >= line.unit(read.unit_index).arrival_s


async def test_a_stopped_line_holds_the_scanner() -> None:
    line = SimLine(seed=2, rate_per_s=10.0, first_arrival_s=0.05, photo_eye_pulse_ms=20.0)
    clock = LineClock()
    clock.pause()
    async with SimScanner.over_pty() as sim:
        follow = asyncio.create_task(sim.follow(line, clock=clock, units=1))
        await asyncio.sleep(0.2)
        assert sim.sent == []
        clock.resume()
        [read] = await asyncio.wait_for(follow, 2.0)
    assert read.unit_index == 0
    assert clock.at(read.monotonic_s) >= 0.05
