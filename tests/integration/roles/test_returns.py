"""Returns on the simulated bench: returned units and cases scanned by a TCP scanner are
received under the RMA in force (`tracegate edge return-authorisation`) and always held
(reject output on the pymodbus PLC); without an authorisation they are held, not received."""

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
    plant,
    stations,
    until,
)
from typer.testing import CliRunner

from edge.checkpoint.roles.returns import ReturnsRole
from edge.sim.containers import CONTAINER_AIM, label_text, misprinted, sscc_labels
from protocols.events import UnitReceived
from protocols.parts import ContainerRef, Party, UnitRef
from tracegate.cli import app

__all__ = ["plant", "prefix", "stations", "tap"]

WINDOW_S = 0.15
"""A read inside the previous read's window (100 ms) would be taken as its late read."""
RULES = """
work_order_product: {enabled: false}
work_order_lot: {enabled: false}
no_work_order: {enabled: false}
expiry: {enabled: false}
duplicate_serial: {enabled: false}
route_predecessor: {enabled: false}
parameter_limits: {enabled: false}
"""


async def cli(*args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    return result.exit_code, result.output


async def test_returns_are_received_under_their_rma_and_held(
    plant: ContainersPlant, stations: MakeStation, tap: EventTap
) -> None:
    device = plant.device("returns")
    station = await stations("returns", make_line(units=3))
    plant.checkpoint(
        station, role="returns", trigger=False, rules=RULES, window_ms=100, deadline_ms=500
    )
    config = plant.config()
    yaml = str(plant.tmp / "plant.yaml")
    line = station.line
    expected = f"{line.product.di}:{station.serial(0)}"
    code, output = await cli(
        "edge", "return-authorisation", yaml, "-c", "returns", "--rma", "RMA-881",
        "--from", "St. James's Hospital", "--country", "IE", "--address-line", "James St",
        "--reason", "Pouch seal open", "--unit", expected,
    )  # fmt: skip
    assert code == 0, output
    assert "received under RMA RMA-881 from St. James's Hospital" in output
    case = next(sscc_labels(company_prefix=COMPANY_PREFIX, extension_digit=4))
    async with running(config, "returns", station.scanner, plc=True) as run:
        role = run.agent.role
        assert isinstance(role, ReturnsRole)
        await until(lambda: role.authorisation is not None)
        for text, aim in [
            (line.unit(0).udi.text, "]d2"),
            (line.unit(1).udi.text, "]d2"),
            (label_text(case), CONTAINER_AIM),
            (label_text(misprinted(case)), CONTAINER_AIM),
        ]:
            await station.scanner.emit(text, symbology_id=aim)
            await run.next_outcome()
            await asyncio.sleep(WINDOW_S)
        code, output = await cli("edge", "return-authorisation", yaml, "-c", "returns", "--clear")
        assert code == 0, output
        await until(lambda: role.authorisation is None)
        await station.scanner.emit(line.unit(2).udi.text, symbology_id="]d2")
        await run.next_outcome()
        events = await tap.wait_for(device, 2 + 2 + 1 + 1, timeout_s=WAIT_S)
        alarms = run.agent.alarms.counts

    assert [(o.decision, o.reasons) for o in run.outcomes] == [
        ("hold", ("returned",)),
        ("hold", ("returned", "not_on_authorisation")),
        ("hold", ("returned",)),
        ("hold", ("invalid_sscc",)),
        ("hold", ("no_return_authorisation",)),
    ]
    rejects = [w for w in station.plc.writes if w.name == "reject" and w.value]
    assert len(rejects) == 5
    assert not [w for w in station.plc.writes if w.name == "pass" and w.value]

    received = [e for e in events if isinstance(e, UnitReceived)]
    units = [
        UnitRef(
            di=line.product.di, serial=station.serial(i), lot=line.lot, raw=line.unit(i).udi.text
        )
        for i in (0, 1)
    ]
    assert [r.items for r in received] == [(units[0],), (units[1],), (ContainerRef(sscc=case),)]
    for event in received:
        assert event.rma == "RMA-881"
        assert event.returned_by == Party(
            name="St. James's Hospital", address_lines=("James St",), country_code="IE"
        )
        assert (event.reason.code, event.reason.text) == ("rma", "RMA RMA-881: Pouch seal open")
    # Units are recorded by their hold and their receipt; the case by its receipt alone;
    # the unreceived unit by its hold alone.
    assert [(e.udi.serial if e.udi else None, e.decision) for e in inspected(events)] == [
        (station.serial(0), "hold"),
        (station.serial(1), "hold"),
        (station.serial(2), "hold"),
    ]
    assert alarms["invalid_sscc"] == 1
    assert alarms["no_return_authorisation"] == 1
