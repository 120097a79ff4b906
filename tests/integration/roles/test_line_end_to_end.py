"""A small line end to end on simulated peers: goods receipt -> assembly -> sealing -> final
inspection -> packing -> shipping, one agent per checkpoint in this process, each with its
own pymodbus PLC and TCP scanners, all talking through Mosquitto.

The simulation decides what really happens (which reel each unit was built from, the seal
excursion that gets a unit diverted, the no-read at inspection, which units the packer boxed
and how); the test then rebuilds, from the events on the broker alone, the genealogy and the
containment, and checks them against the simulation.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from assembly_plant import (
    CONNECTOR,
    TUBING,
    AgentRun,
    EventTap,
    assembly_role,
    prefix,
    running,
    tap,
    until_known,
    until_line_time,
)
from containers_plant import (
    SEALING_REGISTERS,
    ContainersPlant,
    MakeStation,
    Station,
    make_line,
    plant,
    shipment,
    stations,
    until,
)
from typer.testing import CliRunner

from edge.adapters.framing import Framing
from edge.checkpoint.roles.shipping import ShippingRole
from edge.sim.containers import CONTAINER_AIM, SimPacker, label_text
from edge.sim.materials import SimMaterials
from edge.sim.scanner import SimScanner
from edge.sim.units import Fault, LineClock, SimLine
from protocols.codec import decode_event
from protocols.commands import BomLine, WorkOrder
from protocols.events import (
    ContainerShipped,
    Event,
    LotQuantity,
    LotReceived,
    UnitAssembled,
    UnitInspected,
    UnitPacked,
    UnitUnpacked,
)
from protocols.ids import uuid7
from protocols.parts import ContainerRef, UnitRef
from tracegate.cli import app

__all__ = ["plant", "prefix", "stations", "tap"]

UNITS = 8
SEAL_FAULT = 4
"""Sealed outside the process window: held and diverted at sealing."""
NO_READ = 6
"""Its label unreadable at final inspection: held and diverted there."""
REEL_CHANGE = 4
"""The second tubing reel is loaded before this unit."""
GAP_S = 0.15
BOM = (
    BomLine(di=TUBING, quantity_per_unit=0.5, unit_of_measure="m"),
    BomLine(di=CONNECTOR, quantity_per_unit=2),
)
RECEIPT = f"""
goods_receipt:
  initial_state: accepted
  materials:
    - {{di: "{TUBING}", name: Tubing, supplier: Tubecorp, unit_of_measure: m}}
    - {{di: "{CONNECTOR}", name: Connector, supplier: Connex}}
"""
NOT_UNITS = """
invalid_udi: {enabled: false}
work_order_product: {enabled: false}
work_order_lot: {enabled: false}
no_work_order: {enabled: false}
expiry: {enabled: false}
duplicate_serial: {enabled: false}
route_predecessor: {enabled: false}
parameter_limits: {enabled: false}
"""


def lines() -> dict[str, SimLine]:
    """The same units seen from each station: diverted units skip the stations after."""
    # 2 units a second: room for a reel change between two units.
    slow = functools.partial(make_line, rate_per_s=2.0, units=UNITS)
    skip = {Fault.SKIPS_CHECKPOINT}
    return {
        "assembly": slow(),
        "sealing": slow(faults={SEAL_FAULT: {Fault.SEAL_EXCURSION}}),
        "final-inspection": slow(faults={SEAL_FAULT: skip, NO_READ: {Fault.NO_READ}}),
        "packing": slow(faults={SEAL_FAULT: skip, NO_READ: skip}),
    }


def order(line: SimLine, *bom: BomLine) -> WorkOrder:
    return WorkOrder(
        command_id=uuid7(),
        issued_at=dt.datetime.now(dt.UTC),
        issued_by="test",
        work_order="WO-E2E",
        products=(line.product.di,),
        lot=line.lot,
        expiry=line.unit(0).udi.expiry,
        quantity=UNITS,
        bom=bom,
    )


@dataclass
class Rebuilt:
    """The line as the events tell it."""

    received: set[tuple[str, str]] = field(default_factory=set)
    built_from: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    """Unit serial -> the (DI, lot) of its components."""
    decisions: dict[tuple[str, str], str] = field(default_factory=dict)
    """(checkpoint, serial) -> the last decision."""
    inside: dict[str, list[UnitRef | ContainerRef]] = field(default_factory=dict)
    """Container -> what is in it now."""
    shipped: dict[str, str] = field(default_factory=dict)
    """Container -> the recipient it was shipped to."""
    unidentified_holds: dict[str, int] = field(default_factory=dict)
    """Checkpoint -> holds of units whose UDI could not be read."""

    @classmethod
    def from_events(cls, events: list[Event]) -> Rebuilt:
        found = cls()
        moves: defaultdict[str, list[UnitRef | ContainerRef]] = defaultdict(list)
        for event in sorted(events, key=lambda e: (e.occurred_at, e.device_id, e.seq)):
            if isinstance(event, LotReceived) and event.inspection_state != "rejected":
                found.received.add((event.di, event.lot))
            elif isinstance(event, UnitAssembled) and event.parent.serial:
                found.built_from[event.parent.serial] = {
                    (c.di, c.lot) for c in event.components if isinstance(c, LotQuantity)
                }
            elif isinstance(event, UnitInspected) and event.udi and event.udi.serial:
                found.decisions[(event.checkpoint, event.udi.serial)] = event.decision
            elif isinstance(event, UnitInspected) and event.udi is None:
                count = found.unidentified_holds.get(event.checkpoint, 0)
                found.unidentified_holds[event.checkpoint] = count + 1
            elif isinstance(event, UnitPacked):
                # A case's record names its pallet, the pallet's names its cases: one link.
                links = [(event.container, child) for child in event.children]
                if event.parent_container is not None:
                    links.append((event.parent_container, ContainerRef(sscc=event.container)))
                for container, child in links:
                    if child not in moves[container]:
                        moves[container].append(child)
            elif isinstance(event, UnitUnpacked):
                kept = [c for c in moves[event.container] if c not in event.children]
                moves[event.container] = kept
            elif isinstance(event, ContainerShipped):
                found.shipped.update(dict.fromkeys(event.containers, event.recipient.name))
        found.inside = dict(moves)
        return found

    def units_in(self, sscc: str) -> list[str]:
        """Unit serials inside a container, at any depth, in packing order."""
        serials: list[str] = []
        for child in self.inside.get(sscc, []):
            if isinstance(child, ContainerRef):
                serials.extend(self.units_in(child.sscc))
            elif child.serial:
                serials.append(child.serial)
        return serials


async def cli(*args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    return result.exit_code, result.output


def every_event(tap: EventTap) -> list[Event]:
    with tap._lock:
        raw = list(tap.messages)
    unique = {e.event_id: e for e in (decode_event(payload) for payload in raw)}
    return list(unique.values())


async def stage(station: Station, run: AgentRun, *, seen: int) -> None:
    """Run the units that reach `station` past it."""
    await station.run_line(units=seen)
    await run.wait_outcomes(seen, timeout_s=10)


async def heard(run: AgentRun, predecessor: AgentRun) -> None:
    """Wait until the agent's route feed recorded every identified unit's decision of its
    predecessor."""
    route = run.agent.route
    assert route is not None
    # Each identified unit's record (and its correction, if its pass became a hold); loads
    # are station scans, recorded by no unit.inspected.
    count = sum(
        1 + o.corrected
        for o in predecessor.outcomes
        if o.unit is not None and ("/S/" in o.unit or "/L/" in o.unit) and " " not in o.unit
    )
    try:
        await until(lambda: route.counters.recorded >= count, timeout_s=10)
    except TimeoutError:
        decided = [(o.unit, o.decision, o.reasons) for o in predecessor.outcomes]
        raise AssertionError(
            f"{route.counters} of {count}; the predecessor decided {decided}"
        ) from None


async def test_a_small_line_rebuilt_from_its_events(
    plant: ContainersPlant, stations: MakeStation, tap: EventTap
) -> None:
    sim = lines()
    packer = SimPacker(case_size=3, cases_per_pallet=2)
    receipt = await stations("goods-receipt", sim["assembly"])
    assembly = await stations("assembly", sim["assembly"])
    sealing = await stations("sealing", sim["sealing"])
    inspection = await stations("final-inspection", sim["final-inspection"])
    packing = await stations("packing", sim["packing"], packer=packer)
    door = await stations("shipping", sim["packing"])
    feeder = SimScanner.over_tcp(framing=Framing.named("cr"))
    await feeder.start()

    plant.checkpoint(receipt, role="goods_receipt", trigger=False, section=RECEIPT,
                     rules=NOT_UNITS, window_ms=100, deadline_ms=500)  # fmt: skip
    plant.checkpoint(assembly, role="assembly", feeder=feeder,
                     section="assembly: {loading_scanners: [feeder]}")  # fmt: skip
    plant.checkpoint(sealing, role="sealing", registers=SEALING_REGISTERS,
                     predecessors="assembly", rules="link_down: {enabled: true}")  # fmt: skip
    plant.checkpoint(inspection, role="inspection", predecessors="sealing",
                     rules="parameter_limits: {enabled: false}")  # fmt: skip
    plant.checkpoint(packing, role="packing", predecessors="final-inspection",
                     section="packing: {case_size: 3, sscc_source: generated, cases_per_pallet: 2}",
                     rules="duplicate_serial: {enabled: false}")  # fmt: skip
    plant.checkpoint(door, role="shipping", trigger=False, rules=NOT_UNITS,
                     window_ms=100, deadline_ms=500)  # fmt: skip
    config = plant.config()
    materials = SimMaterials(seed=11)
    first, second, connector = (materials.lot(d) for d in (TUBING, TUBING, CONNECTOR))
    units = sim["assembly"]

    try:
        async with contextlib.AsyncExitStack() as agents:

            async def start(checkpoint: str, *scanners: SimScanner, plc: bool = True) -> AgentRun:
                return await agents.enter_async_context(
                    running(config, checkpoint, *scanners, plc=plc)
                )

            door_run = await start("shipping", door.scanner)
            ship_role = door_run.agent.role
            assert isinstance(ship_role, ShippingRole)
            await ship_role.subscriber.wait_subscribed(timeout_s=5)
            assembly_run = await start("assembly", assembly.scanner, feeder)
            await assembly_role(assembly_run).subscriber_ready(timeout_s=5)
            receipt_run = await start("goods-receipt", receipt.scanner)
            sealing_run = await start("sealing", sealing.scanner)
            inspection_run = await start("final-inspection", inspection.scanner)
            packing_run = await start("packing", packing.scanner)
            for run, bom in [(assembly_run, BOM), (sealing_run, ()), (inspection_run, ()),
                             (packing_run, ())]:  # fmt: skip
                assert run.agent.state is not None
                await run.agent.state.apply(order(units, *bom))

            # Goods receipt books the supplier lots in.
            for lot in (first, second, connector):
                await receipt.scanner.emit(lot.label(), symbology_id="]C1")
                assert (await receipt_run.next_outcome()).decision == "pass"
                await asyncio.sleep(GAP_S)
                assert await until_known(assembly_run, lot.di, lot.lot) == "accepted"

            # Assembly: the first tubing reel and the connectors, a new reel mid-run.
            for lot in (first, connector):
                await feeder.emit(lot.label(quantity=50), symbology_id="]C1")
                assert (await assembly_run.next_outcome()).decision == "pass"
                await asyncio.sleep(GAP_S)
            clock = assembly.plc.clock = LineClock()
            running_units = asyncio.create_task(
                assembly.scanner.follow(units, clock=clock, read_delay_ms=15, units=UNITS)
            )
            await until_line_time(clock, units.arrival_s(REEL_CHANGE - 1) + 0.25)
            await feeder.emit(second.label(quantity=50), symbology_id="]C1")
            await running_units
            await assembly_run.wait_outcomes(2 + UNITS + 1, timeout_s=10)

            await heard(sealing_run, assembly_run)
            await stage(sealing, sealing_run, seen=UNITS)
            await heard(inspection_run, sealing_run)
            await stage(inspection, inspection_run, seen=UNITS - 1)
            await heard(packing_run, inspection_run)
            await stage(packing, packing_run, seen=UNITS - 2)

            # End of the run: the short case and the pallet are closed at packing.
            yaml = str(plant.tmp / "plant.yaml")
            for command in ("close-case", "close-pallet"):
                await cli("edge", command, yaml, "-c", "packing")
            packer.close_case()
            packer.close_pallet()

            # The dock ships every pallet, its label read off the packing record.
            closed = len(packer.cases) + len(packer.pallets)
            await until(lambda: ship_role.feed.counters.packing_records >= closed)
            pallets = [
                e.container
                for e in every_event(tap)
                if isinstance(e, UnitPacked) and e.parent_container is None
            ]
            assert door_run.agent.state is not None
            await door_run.agent.state.apply(shipment())
            for pallet in pallets:
                await door.scanner.emit(label_text(pallet), symbology_id=CONTAINER_AIM)
                assert (await door_run.next_outcome()).decision == "pass"
                await asyncio.sleep(GAP_S)
            await until(
                lambda: (
                    sum(isinstance(e, ContainerShipped) for e in every_event(tap)) == len(pallets)
                )
            )
            rebuilt = Rebuilt.from_events(every_event(tap))
    finally:
        await feeder.stop()

    serial = [units.unit(i).udi.serial for i in range(UNITS)]
    # Genealogy: each unit from the reel loaded when it was built, every lot received.
    assert rebuilt.built_from == {
        serial[i]: {(TUBING, (first if i < REEL_CHANGE else second).lot),
                    (CONNECTOR, connector.lot)}
        for i in range(UNITS)
    }  # fmt: skip
    assert set().union(*rebuilt.built_from.values()) <= rebuilt.received
    # The diverted units were held where the simulation diverted them.
    assert rebuilt.decisions[("sealing", serial[SEAL_FAULT])] == "hold"
    assert ("final-inspection", serial[SEAL_FAULT]) not in rebuilt.decisions
    # Unreadable at final inspection, the unit is held there without an identity.
    assert rebuilt.unidentified_holds == {"final-inspection": 1}
    assert ("final-inspection", serial[NO_READ]) not in rebuilt.decisions
    assert ("packing", serial[NO_READ]) not in rebuilt.decisions
    # Containment: what the packer really boxed, case by case, pallet by pallet, shipped.
    boxed = [[serial[i] for i in case.units] for case in packer.cases]
    truth = [[boxed[c] for c in pallet] for pallet in packer.pallets]
    assert sum(len(case) for case in boxed) >= 4, "most good units reach the packer"
    found = [
        [rebuilt.units_in(c.sscc) for c in rebuilt.inside[p] if isinstance(c, ContainerRef)]
        for p in pallets
    ]
    assert found == truth
    assert rebuilt.shipped == dict.fromkeys(pallets, "St. James's Hospital")
    shipped_units = [unit for pallet in pallets for unit in rebuilt.units_in(pallet)]
    assert serial[SEAL_FAULT] not in shipped_units and serial[NO_READ] not in shipped_units
    for unit in shipped_units:
        for checkpoint in ("sealing", "final-inspection", "packing"):
            assert rebuilt.decisions[(checkpoint, unit)] == "pass", (checkpoint, unit)
