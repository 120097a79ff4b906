"""Packing with pre-printed SSCC labels (`sscc_source: label`) on the simulated line: the
pallet's label, then each case's, scanned between units on the unit scanner; a unit with no
case open held; a misprinted label, a case label while a case is open and a label used
before refused; a label scanned twice taken once. The PLC is a pymodbus server, the reader a
TCP scanner, the events come through Mosquitto; the simulated packer says what was boxed."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from assembly_plant import EventTap, prefix, running, tap
from containers_plant import (
    COMPANY_PREFIX,
    WAIT_S,
    ContainersPlant,
    MakeStation,
    inspected,
    make_line,
    packed,
    plant,
    serials,
    stations,
    work_order,
)

from edge.sim.containers import CONTAINER_AIM, SimPacker, label_text, misprinted, sscc_labels
from edge.sim.units import LineClock
from protocols.parts import ContainerRef

__all__ = ["plant", "prefix", "stations", "tap"]

PACKING = """
packing:
  case_size: 2
  sscc_source: label
  cases_per_pallet: 2
"""
RULES = """
route_predecessor: {enabled: false}
duplicate_serial: {enabled: false}
"""
UNITS = 6
"""One a second from 0.2 s (line time): room for three label scans between two units."""


async def at(clock: LineClock, line_s: float) -> None:
    while clock.now_s() < line_s:  # noqa: ASYNC110 - line time has no event to wait on
        await asyncio.sleep(0.005)


async def test_labels_start_the_pallet_and_each_case(
    plant: ContainersPlant, stations: MakeStation, tap: EventTap
) -> None:
    device = plant.device("packing")
    packer = SimPacker(case_size=2, cases_per_pallet=2)
    line = make_line(units=UNITS, rate_per_s=1.0)
    station = await stations("packing", line, packer=packer)
    plant.checkpoint(station, role="packing", section=PACKING, rules=RULES)
    roll = sscc_labels(company_prefix=COMPANY_PREFIX, extension_digit=5)
    pallet, case_1, case_2 = next(roll), next(roll), next(roll)
    # (line time, label) between the units, which reach the photo-eye at 0.2 s, 1.2 s, ...
    scans = [
        (0.45, pallet),
        (0.65, misprinted(case_1)),
        (0.85, case_1),
        (1.45, case_1),  # again, while it is open
        (1.65, case_2),  # a case is open
        (2.45, case_1),  # closed: used already
        (3.45, case_2),
    ]
    async with running(plant.config(), "packing", station.scanner, plc=True) as run:
        assert run.agent.state is not None
        await run.agent.state.apply(work_order(line))
        clock = station.start_line()
        units = asyncio.create_task(
            station.scanner.follow(line, clock=clock, read_delay_ms=15, units=UNITS)
        )
        for line_s, sscc in scans:
            await at(clock, line_s)
            await station.scanner.emit(label_text(sscc), symbology_id=CONTAINER_AIM)
        await units
        outcomes = await run.wait_outcomes(UNITS + len(scans), timeout_s=WAIT_S)
        events = await tap.wait_for(device, UNITS + 3, timeout_s=WAIT_S)

    serial = station.serial
    key = f"{line.product.di}/S/"
    assert [(o.unit, o.decision, o.reasons) for o in outcomes] == [
        (key + serial(0), "hold", ("no_open_case",)),
        (f"pallet {pallet}", "pass", ()),
        (f"label '{label_text(misprinted(case_1))}'", "hold", ("invalid_sscc",)),
        (f"case {case_1}", "pass", ()),
        (key + serial(1), "pass", ()),
        (f"case {case_1} (open)", "pass", ()),
        (f"SSCC {case_2}", "hold", ("case_open",)),
        (key + serial(2), "pass", ()),
        (f"SSCC {case_1}", "hold", ("sscc_reused",)),
        (key + serial(3), "hold", ("no_open_case",)),
        (f"case {case_2}", "pass", ()),
        (key + serial(4), "pass", ()),
        (key + serial(5), "pass", ()),
    ]
    no_case = [o for o in outcomes if o.reasons == ("no_open_case",)]
    assert len(no_case) == 2
    first, second, whole = packed(events)
    assert (first.container, serials(first.children)) == (case_1, [serial(1), serial(2)])
    assert (second.container, serials(second.children)) == (case_2, [serial(4), serial(5)])
    assert first.parent_container == second.parent_container == pallet
    assert (whole.container, whole.children) == (
        pallet,
        (ContainerRef(sscc=case_1), ContainerRef(sscc=case_2)),
    )
    assert len(inspected(events)) == UNITS  # a label scan records nothing of its own
    # The packer boxed the same units the same way; the held ones were diverted.
    assert [c.units for c in packer.cases] == [[1, 2], [4, 5]]
    assert packer.pallets == [[0, 1]]
    # Each unit's own output is the first after it reached the photo-eye (a label's output
    # comes while the unit before is still in front).
    first_outputs = [
        next(w.name for w in station.plc.unit_history(i).writes if w.value) for i in range(UNITS)
    ]
    assert first_outputs == ["reject", "pass", "pass", "reject", "pass", "pass"]
