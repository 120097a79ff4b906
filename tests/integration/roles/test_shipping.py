"""Shipping at the simulated dock door: the packing agent packs the line's units into cases
and pallets, the shipping agent follows its events on Mosquitto, and pallet labels scanned
at the door (a TCP scanner) are shipped on the active shipment or refused: a pallet holding
a held unit, a container not on the shipment, one shipped already, one never packed."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from assembly_plant import AgentRun, EventTap, prefix, running, tap
from containers_plant import (
    COMPANY_PREFIX,
    WAIT_S,
    ContainersPlant,
    MakeStation,
    Station,
    inspection_event,
    make_line,
    packed,
    plant,
    publish,
    serials,
    stations,
    until,
    work_order,
)
from typer.testing import CliRunner

from edge.checkpoint.roles.packing import PackingRole
from edge.checkpoint.roles.shipping import ShippingRole
from edge.sim.containers import CONTAINER_AIM, label_text, sscc_labels
from protocols.events import ContainerShipped, UnitPacked
from protocols.parts import ContainerRef
from tracegate.cli import app

__all__ = ["plant", "prefix", "stations", "tap"]

PACKING = """
packing:
  case_size: 2
  sscc_source: generated
  cases_per_pallet: 2
"""
SHIPPING_RULES = """
invalid_udi: {enabled: false}
work_order_product: {enabled: false}
work_order_lot: {enabled: false}
no_work_order: {enabled: false}
expiry: {enabled: false}
duplicate_serial: {enabled: false}
route_predecessor: {enabled: false}
parameter_limits: {enabled: false}
"""
WINDOW_S = 0.15
"""Scans further apart than the shipping read window (100 ms)."""


async def cli(*args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    return result.exit_code, result.output


class Dock:
    """The plant's packing and shipping agents, and what packing made."""

    def __init__(self, plant: ContainersPlant, packing: Station, door: Station) -> None:
        self.plant = plant
        self.packing = packing
        self.door = door
        self.yaml = str(plant.tmp / "plant.yaml")
        self.pallets: list[UnitPacked] = []
        self.cases: list[UnitPacked] = []

    async def scan(self, run: AgentRun, sscc: str) -> tuple[str, tuple[str, ...]]:
        await self.door.scanner.emit(label_text(sscc), symbology_id=CONTAINER_AIM)
        outcome = await run.next_outcome()
        await asyncio.sleep(WINDOW_S)
        return outcome.decision, outcome.reasons


@contextlib.asynccontextmanager
async def dock(
    plant: ContainersPlant, stations: MakeStation, tap: EventTap, *, units: int = 8
) -> AsyncIterator[tuple[Dock, AgentRun]]:
    """Pack `units` units (2 to a case, 2 cases to a pallet) with the shipping agent
    following; yield the running shipping agent."""
    packing = await stations("packing", make_line(units=units))
    inspection = await stations("final-inspection", packing.line)
    door = await stations("shipping", packing.line)
    plant.checkpoint(inspection, role="inspection")
    plant.checkpoint(
        packing, role="packing", section=PACKING, rules="route_predecessor: {enabled: false}"
    )
    plant.checkpoint(
        door,
        role="shipping",
        trigger=False,
        rules=SHIPPING_RULES,
        section="shipping: {follow: [packing, final-inspection]}",
        window_ms=100,
        deadline_ms=500,
    )
    config = plant.config()
    found = Dock(plant, packing, door)
    async with running(config, "shipping", door.scanner, plc=True) as ship:
        role = ship.agent.role
        assert isinstance(role, ShippingRole)
        await role.subscriber.wait_subscribed(timeout_s=5)
        async with running(config, "packing", packing.scanner, plc=True) as pack:
            assert pack.agent.state is not None
            await pack.agent.state.apply(work_order(packing.line))
            await packing.run_line(units=units)
            await pack.wait_outcomes(units)
            # A unit held by a fluke of a loaded machine leaves a case short: the end of
            # the run closes whatever is open, so every unit that passed is on a pallet.
            packer = pack.agent.role
            assert isinstance(packer, PackingRole) and pack.agent.outbox is not None
            await packer.close_case(cause="the test")
            await packer.close_pallet(cause="the test")
            outbox = pack.agent.outbox
            records = packed(
                await tap.wait_for(plant.device("packing"), outbox.last_seq, timeout_s=WAIT_S)
            )
        found.pallets = [p for p in records if p.parent_container is None]
        found.cases = [c for c in records if c.parent_container is not None]
        await until(lambda: role.feed.counters.packing_records == len(records))
        yield found, ship


async def test_a_pallet_holding_a_held_unit_is_refused(
    plant: ContainersPlant, stations: MakeStation, tap: EventTap
) -> None:
    async with dock(plant, stations, tap) as (found, ship):
        line, yaml = found.packing.line, found.yaml
        first, second = (p.container for p in found.pallets[:2])
        index = {line.unit(i).udi.serial: i for i in range(8)}
        on_first, on_second = (
            next(c for c in found.cases if c.parent_container == pallet)
            for pallet in (first, second)
        )
        corrected, complained = (serials(c.children)[0] for c in (on_first, on_second))
        assert corrected is not None and complained is not None
        code, output = await cli(
            "edge", "shipment", yaml, "-c", "shipping", "--shipment-id", "SHP-1",
            "--order", "SO-77", "--recipient", "St. James's Hospital", "--country", "IE",
            "--address-line", "James St", "--expect", first, "--expect", second,
        )  # fmt: skip
        assert code == 0, output
        # Final inspection corrected the pass of a unit on the first pallet after it was
        # packed; a complaint put a unit of the second on the hold list at the door.
        role = ship.agent.role
        assert isinstance(role, ShippingRole)
        heard = role.feed.counters.decisions
        publish(plant.prefix, inspection_event(line, index[corrected], "hold", 1))
        await until(lambda: role.feed.counters.decisions > heard)
        code, output = await cli(
            "edge", "hold", yaml, "-c", "shipping", "--hold-id", "H-5",
            "--reason", "complaint", "--unit", f"{line.product.di}:{complained}",
        )  # fmt: skip
        assert code == 0, output

        assert await found.scan(ship, first) == ("hold", ("held_unit_inside",))
        assert await found.scan(ship, second) == ("hold", ("held_unit_inside",))
        code, output = await cli(
            "edge", "release", yaml, "-c", "shipping", "--hold-id", "H-5",
            "--signed-by", "qa.lead", "--reason", "complaint unfounded",
        )  # fmt: skip
        assert code == 0, output
        assert await found.scan(ship, second) == ("pass", ())
        assert await found.scan(ship, second) == ("hold", ("already_shipped",))
        assert await found.scan(ship, on_second.container) == ("hold", ("already_shipped",))
        (shipped,) = await tap.wait_for(plant.device("shipping"), 1, timeout_s=WAIT_S)
        texts = [r for o in ship.outcomes for r in o.reasons]
        alarms = dict(ship.agent.alarms.counts)

    assert isinstance(shipped, ContainerShipped)
    assert (shipped.shipment_id, shipped.order, shipped.containers) == ("SHP-1", "SO-77", (second,))
    assert shipped.recipient.name == "St. James's Hospital"
    assert texts.count("held_unit_inside") == 2
    assert alarms["held_unit_inside"] == 2 and alarms["already_shipped"] == 2
    rejects = [w for w in found.door.plc.writes if w.name == "reject" and w.value]
    passes = [w for w in found.door.plc.writes if w.name == "pass" and w.value]
    assert (len(rejects), len(passes)) == (4, 1)
    assert ContainerRef(sscc=on_first.container) in found.pallets[0].children


async def test_containers_not_on_the_shipment_or_never_packed_are_refused(
    plant: ContainersPlant, stations: MakeStation, tap: EventTap
) -> None:
    async with dock(plant, stations, tap, units=4) as (found, ship):
        (pallet,) = (p.container for p in found.pallets)
        stranger = next(sscc_labels(company_prefix=COMPANY_PREFIX, extension_digit=9))
        yaml = found.yaml
        base = ["edge", "shipment", yaml, "-c", "shipping", "--order", "SO-78"]
        party = ["--recipient", "Mater Hospital", "--country", "IE"]
        code, output = await cli(*base, "--shipment-id", "SHP-2", *party, "--expect", stranger)
        assert code == 0, output
        assert await found.scan(ship, pallet) == ("hold", ("not_on_shipment",))
        # The next shipment names no containers: any packed container may go, but not one
        # whose packing this door never heard of.
        code, output = await cli(*base, "--shipment-id", "SHP-3", *party)
        assert code == 0, output
        assert await found.scan(ship, stranger) == ("hold", ("unknown_container",))
        assert await found.scan(ship, pallet) == ("pass", ())
        (shipped,) = await tap.wait_for(plant.device("shipping"), 1, timeout_s=WAIT_S)
    assert isinstance(shipped, ContainerShipped)
    assert (shipped.shipment_id, shipped.containers) == ("SHP-3", (pallet,))
