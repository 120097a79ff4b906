"""Assembly on the simulated line: goods receipt books lots in, incoming inspection releases
them over the broker, the feeder scanner loads reels, the photo-eye and the unit scanner
bring units, and each unit's unit.assembled names exactly the lots it consumed."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from assembly_plant import (
    CATHETER,
    CONNECTOR,
    TUBING,
    AgentRun,
    EventTap,
    MaterialPlant,
    assembly_role,
    plant,
    prefix,
    running,
    tap,
    until_known,
    until_line_time,
)

from edge.checkpoint.command_publish import publish_command
from edge.checkpoint.verdict import Outcome
from edge.sim.materials import SupplierLot
from edge.sim.units import LineClock
from protocols.commands import BomLine, Hold, HoldScope, LotInspection, LotRef
from protocols.config import PlantConfig
from protocols.events import LotQuantity, UnitAssembled, UnitInspected, UnitRef
from protocols.ids import uuid7

__all__ = ["plant", "prefix", "tap"]

DEVICE = "edge-t-assembly"
BOM = (
    BomLine(di=TUBING, quantity_per_unit=0.5, unit_of_measure="m"),
    BomLine(di=CONNECTOR, quantity_per_unit=2),
)
GAP_S = 0.15
"""Between two scans of one scanner: past the read window of the first."""


async def book_in(plant: MaterialPlant, receipt: AgentRun, *lots: SupplierLot) -> None:
    for lot in lots:
        await plant.receipt_scanner.emit(lot.label(), symbology_id="]C1")
        outcome = await receipt.next_outcome()
        assert outcome.decision == "pass", outcome
        await asyncio.sleep(GAP_S)


async def load(plant: MaterialPlant, run: AgentRun, lot: SupplierLot) -> Outcome:
    await plant.feeder.emit(lot.label(quantity=50), symbology_id="]C1")
    outcome = await run.next_outcome()
    await asyncio.sleep(GAP_S)
    return outcome


def inspect_lot(config: PlantConfig, lot: SupplierLot, state: str = "accepted") -> str:
    command = LotInspection(
        command_id=uuid7(),
        issued_at=dt.datetime.now(dt.UTC),
        issued_by="test",
        di=lot.di,
        lot=lot.lot,
        state="accepted" if state == "accepted" else "rejected",
        signed_by="qa.jones",
        reason="incoming inspection IR-7 passed",
    )
    return publish_command(
        config.mqtt_for("assembly"),
        command,
        site=config.site.id,
        line=config.line.id,
        checkpoint="assembly",
    )


def assembled(tap: EventTap) -> dict[str, UnitAssembled]:
    return {e.parent.serial or "": e for e in tap.events(DEVICE) if isinstance(e, UnitAssembled)}


def lots_of(event: UnitAssembled) -> dict[str, str]:
    return {c.di: c.lot for c in event.components if isinstance(c, LotQuantity)}


async def test_a_reel_change_mid_run_splits_the_attribution_exactly(
    plant: MaterialPlant, tap: EventTap
) -> None:
    plant.initial_state = "accepted"
    config = plant.config()
    first, second = plant.materials.lot(TUBING), plant.materials.lot(TUBING)
    connector = plant.materials.lot(CONNECTOR)
    async with (
        running(config, "goods-receipt", plant.receipt_scanner) as receipt,
        running(config, "assembly", plant.unit_scanner, plant.feeder, plc=True) as run,
    ):
        await book_in(plant, receipt, first, second, connector)
        for lot in (first, second, connector):
            assert await until_known(run, lot.di, lot.lot) == "accepted"
        assert run.agent.state is not None
        await run.agent.state.apply(plant.work_order(*BOM))
        assert (await load(plant, run, first)).decision == "pass"
        assert (await load(plant, run, connector)).decision == "pass"
        clock = plant.plc.clock = LineClock()
        units = asyncio.create_task(
            plant.unit_scanner.follow(plant.line, clock=clock, read_delay_ms=15, units=6)
        )
        # The new reel is scanned between units 2 and 3.
        await until_line_time(clock, plant.line.arrival_s(2) + 0.25)
        await plant.feeder.emit(second.label(quantity=50), symbology_id="]C1")
        await units
        await run.wait_outcomes(2 + 6 + 1, timeout_s=5)
        await tap.wait_for(DEVICE, 6 + 6)
    by_serial = assembled(tap)
    tubing = [lots_of(by_serial[plant.serial(i)])[TUBING] for i in range(6)]
    assert tubing == [first.lot] * 3 + [second.lot] * 3
    assert {lots_of(by_serial[plant.serial(i)])[CONNECTOR] for i in range(6)} == {connector.lot}
    event = by_serial[plant.serial(0)]
    assert event.work_order == "WO-A1"
    assert {(c.di, c.quantity, c.unit_of_measure) for c in event.components} == {
        (TUBING, 0.5, "m"),
        (CONNECTOR, 2, "EA"),
    }
    assert [plant.plc.unit_history(i).outcome for i in range(6)] == ["pass"] * 6
    # Each unit's record comes right after its own unit.inspected, before its pass output.
    events = tap.events(DEVICE)
    for before, after in itertools.pairwise(events):
        if isinstance(after, UnitAssembled):
            assert isinstance(before, UnitInspected) and before.udi is not None
            assert before.udi.serial == after.parent.serial


async def test_a_quarantined_lot_is_refused_until_inspection_accepts_it(
    plant: MaterialPlant, tap: EventTap
) -> None:
    config = plant.config()
    tubing, connector = plant.materials.lot(TUBING), plant.materials.lot(CONNECTOR)
    async with (
        running(config, "goods-receipt", plant.receipt_scanner) as receipt,
        running(config, "assembly", plant.unit_scanner, plant.feeder, plc=True) as run,
    ):
        await book_in(plant, receipt, tubing, connector)
        assert await until_known(run, TUBING, tubing.lot) == "quarantined"
        assert run.agent.state is not None
        await run.agent.state.apply(plant.work_order(*BOM))
        refused = await load(plant, run, tubing)
        assert run.agent.interlock is not None
        stop_reason = run.agent.interlock.line_stop_requested
        alarms = dict(run.agent.alarms.counts)
        await asyncio.to_thread(inspect_lot, config, tubing)
        store = assembly_role(run).store
        async with asyncio.timeout(5):
            while (await store.lot_status(TUBING, tubing.lot)).state != "accepted":  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        accepted = await load(plant, run, tubing)
        loaded = assembly_role(run).loaded
    assert (refused.decision, refused.reasons) == ("hold", ("lot_quarantined",))
    assert stop_reason is not None and "lot_quarantined" in stop_reason
    assert alarms.get("lot_quarantined") == 1
    assert [(w.name, bool(w.value)) for w in plant.plc.writes if w.value][:2] == [
        ("reject", True),
        ("stop", True),
    ]
    assert accepted.decision == "pass"
    assert loaded[TUBING].lot == tubing.lot
    # Loads leave no event: the assembly agent recorded nothing yet.
    assert tap.events(DEVICE) == []


async def test_wrong_lots_are_refused_and_the_line_held(
    plant: MaterialPlant, tap: EventTap
) -> None:
    plant.initial_state = "accepted"
    config = plant.config()
    pouch_not_in_bom = plant.materials.lot(CATHETER)
    never_received = plant.materials.lot(CONNECTOR)
    held = plant.materials.lot(TUBING)
    async with (
        running(config, "goods-receipt", plant.receipt_scanner) as receipt,
        running(config, "assembly", plant.unit_scanner, plant.feeder, plc=True) as run,
    ):
        await book_in(plant, receipt, pouch_not_in_bom, held)
        await until_known(run, TUBING, held.lot)
        await until_known(run, CATHETER, pouch_not_in_bom.lot)
        assert run.agent.state is not None
        await run.agent.state.apply(plant.work_order(*BOM))
        await run.agent.state.apply(
            Hold(
                command_id=uuid7(),
                issued_at=dt.datetime.now(dt.UTC),
                issued_by="test",
                hold_id="H-7",
                scope=HoldScope(lots=(LotRef(di=TUBING, lot=held.lot),)),
                reason="supplier notice SN-3",
            )
        )
        not_in_bom = await load(plant, run, pouch_not_in_bom)
        unknown = await load(plant, run, never_received)
        on_hold = await load(plant, run, held)
        loaded = assembly_role(run).loaded
    assert (not_in_bom.decision, not_in_bom.reasons) == ("hold", ("not_in_bom",))
    assert (unknown.decision, unknown.reasons) == ("hold", ("lot_not_received",))
    assert (on_hold.decision, on_hold.reasons) == ("hold", ("on_hold_list",))
    assert loaded == {}
    assert sum(1 for w in plant.plc.writes if w.name == "stop" and w.value) >= 1


async def test_a_serialised_component_scanned_with_its_unit(
    plant: MaterialPlant, tap: EventTap
) -> None:
    plant.initial_state = "accepted"
    config = plant.config()
    tubing, connector = plant.materials.lot(TUBING), plant.materials.lot(CONNECTOR)
    catheters = plant.materials.lot(CATHETER)
    bom = (*BOM, BomLine(di=CATHETER, quantity_per_unit=1))
    async with (
        running(config, "goods-receipt", plant.receipt_scanner) as receipt,
        running(config, "assembly", plant.unit_scanner, plant.feeder, plc=True) as run,
    ):
        await book_in(plant, receipt, tubing, connector)
        await until_known(run, CONNECTOR, connector.lot)
        assert run.agent.state is not None
        await run.agent.state.apply(plant.work_order(*bom))
        await load(plant, run, tubing)
        await load(plant, run, connector)
        clock = plant.plc.clock = LineClock()
        for index, serial in ((0, "CAT-0001"), (1, None)):
            await until_line_time(clock, plant.line.arrival_s(index) + 0.015)
            await plant.unit_scanner.emit(plant.unit_text(index), symbology_id="]d2")
            if serial is not None:
                await plant.unit_scanner.emit(catheters.serialised(serial), symbology_id="]d2")
        outcomes = await run.wait_outcomes(4, timeout_s=5)
        await tap.wait_for(DEVICE, 4)
    with_catheter, without = outcomes[2], outcomes[3]
    assert with_catheter.decision == "pass", with_catheter
    assert (without.decision, without.reasons) == ("hold", ("component_not_loaded",))
    event = assembled(tap)[plant.serial(0)]
    assert (
        UnitRef(
            di=CATHETER, serial="CAT-0001", lot=catheters.lot, raw=catheters.serialised("CAT-0001")
        )
        in event.components
    )
    assert lots_of(event) == {TUBING: tubing.lot, CONNECTOR: connector.lot}
    # The held unit is still recorded with what it was built from.
    assert lots_of(assembled(tap)[plant.serial(1)]) == {
        TUBING: tubing.lot,
        CONNECTOR: connector.lot,
    }


async def test_a_restart_keeps_the_loaded_lots(plant: MaterialPlant, tap: EventTap) -> None:
    plant.initial_state = "accepted"
    config = plant.config()
    tubing, connector = plant.materials.lot(TUBING), plant.materials.lot(CONNECTOR)
    async with (
        running(config, "goods-receipt", plant.receipt_scanner) as receipt,
        running(config, "assembly", plant.unit_scanner, plant.feeder, plc=True) as run,
    ):
        await book_in(plant, receipt, tubing, connector)
        await until_known(run, CONNECTOR, connector.lot)
        assert run.agent.state is not None
        await run.agent.state.apply(plant.work_order(*BOM))
        await load(plant, run, tubing)
        await load(plant, run, connector)
    async with running(config, "assembly", plant.unit_scanner, plant.feeder, plc=True) as run:
        assert {di: lot.lot for di, lot in assembly_role(run).loaded.items()} == {
            TUBING: tubing.lot,
            CONNECTOR: connector.lot,
        }
        clock = plant.plc.clock = LineClock()
        await until_line_time(clock, plant.line.arrival_s(0) + 0.015)
        await plant.unit_scanner.emit(plant.unit_text(0), symbology_id="]d2")
        outcome = await run.next_outcome()
        await tap.wait_for(DEVICE, 2)
    assert outcome.decision == "pass"
    assert lots_of(assembled(tap)[plant.serial(0)]) == {
        TUBING: tubing.lot,
        CONNECTOR: connector.lot,
    }
