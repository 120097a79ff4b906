"""Goods receipt on the simulated bench: supplier labels read by a TCP scanner, the agent
booking them in, the events on the real Mosquitto."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from assembly_plant import (
    CONNECTOR,
    POUCH,
    TUBING,
    UNKNOWN,
    EventTap,
    MaterialPlant,
    plant,
    prefix,
    running,
    tap,
)

from protocols.events import LotReceived

__all__ = ["plant", "prefix", "tap"]

DEVICE = "edge-t-receipt"
READ_WINDOW_S = 0.15
"""A read inside the previous label's read window would count as that label's late read."""


async def test_a_good_label_is_received_in_quarantine(plant: MaterialPlant, tap: EventTap) -> None:
    lot = plant.materials.lot(TUBING, quantity=250)
    async with running(plant.config(), "goods-receipt", plant.receipt_scanner) as run:
        await plant.receipt_scanner.emit(lot.label(), symbology_id="]C1")
        outcome = await run.next_outcome()
        (event,) = await tap.wait_for(DEVICE, 1)
    assert (outcome.decision, outcome.reasons) == ("pass", ())
    assert outcome.unit == f"lot {TUBING}/{lot.lot}"
    assert isinstance(event, LotReceived)
    assert (event.di, event.lot, event.expiry) == (TUBING, lot.lot, lot.expiry)
    assert (event.quantity, event.unit_of_measure) == (250, "m")
    assert (event.supplier, event.inspection_state) == ("Tubecorp", "quarantined")
    assert (event.checkpoint, event.seq) == ("goods-receipt", 1)


async def test_count_37_hri_and_a_default_quantity(plant: MaterialPlant, tap: EventTap) -> None:
    plant.initial_state = "accepted"
    counted = plant.materials.lot(CONNECTOR, quantity=12, count_ai="37")
    uncounted = plant.materials.lot(POUCH, quantity=None)
    async with running(plant.config(), "goods-receipt", plant.receipt_scanner) as run:
        await plant.receipt_scanner.emit(counted.hri(), symbology_id="]C1")
        first = await run.next_outcome()
        await asyncio.sleep(READ_WINDOW_S)
        await plant.receipt_scanner.emit(uncounted.label(), symbology_id="]d2")
        second = await run.next_outcome()
        events = await tap.wait_for(DEVICE, 2)
    assert (first.decision, second.decision) == ("pass", "pass")
    received = [e for e in events if isinstance(e, LotReceived)]
    assert [(e.di, e.quantity, e.inspection_state) for e in received] == [
        (CONNECTOR, 12, "accepted"),
        (POUCH, 500, "accepted"),
    ]


async def test_unknown_material_is_held_and_not_booked(plant: MaterialPlant, tap: EventTap) -> None:
    lot = plant.materials.lot(UNKNOWN)
    good = plant.materials.lot(TUBING)
    async with running(plant.config(), "goods-receipt", plant.receipt_scanner) as run:
        await plant.receipt_scanner.emit(lot.label(), symbology_id="]C1")
        held = await run.next_outcome()
        await asyncio.sleep(READ_WINDOW_S)
        await plant.receipt_scanner.emit(good.label(), symbology_id="]C1")
        passed = await run.next_outcome()
        events = await tap.wait_for(DEVICE, 1)
        alarms = dict(run.agent.alarms.counts)
    assert (held.decision, held.reasons, held.seq) == ("hold", ("unknown_material",), None)
    assert alarms.get("unknown_material") == 1
    # Only the known material's lot is on the chain: the unknown one left no lot behind.
    assert [(e.di, e.seq) for e in events if isinstance(e, LotReceived)] == [(TUBING, 1)]
    assert passed.decision == "pass"


async def test_an_expired_lot_is_held_and_recorded_rejected(
    plant: MaterialPlant, tap: EventTap
) -> None:
    lot = plant.materials.expired(plant.materials.lot(CONNECTOR, quantity=40), days_ago=3)
    short = plant.materials.lot(CONNECTOR, quantity=40, shelf_life_days=10)
    async with running(plant.config(), "goods-receipt", plant.receipt_scanner) as run:
        await plant.receipt_scanner.emit(lot.label(), symbology_id="]C1")
        expired = await run.next_outcome()
        await asyncio.sleep(READ_WINDOW_S)
        await plant.receipt_scanner.emit(short.label(), symbology_id="]C1")
        short_dated = await run.next_outcome()
        events = await tap.wait_for(DEVICE, 2)
    assert (expired.decision, expired.reasons) == ("hold", ("expired",))
    assert (short_dated.decision, short_dated.reasons) == ("hold", ("shelf_life_short",))
    assert [(e.lot, e.inspection_state) for e in events if isinstance(e, LotReceived)] == [
        (lot.lot, "rejected"),
        (short.lot, "rejected"),
    ]


async def test_a_label_without_a_lot_is_held_with_the_reason(
    plant: MaterialPlant, tap: EventTap
) -> None:
    lot = plant.materials.lot(TUBING)
    async with running(plant.config(), "goods-receipt", plant.receipt_scanner) as run:
        await plant.receipt_scanner.emit(lot.label(with_lot=False), symbology_id="]C1")
        no_lot = await run.next_outcome()
        await asyncio.sleep(READ_WINDOW_S)
        await plant.receipt_scanner.emit("NOT-A-LABEL", symbology_id="]C1")
        garbage = await run.next_outcome()
        await asyncio.sleep(READ_WINDOW_S)
        await plant.receipt_scanner.emit(lot.label(), symbology_id="]C1")
        await run.next_outcome()
        events = await tap.wait_for(DEVICE, 1)
        alarms = dict(run.agent.alarms.counts)
    assert (no_lot.decision, no_lot.reasons) == ("hold", ("no_lot",))
    assert (garbage.decision, garbage.reasons) == ("hold", ("invalid_label",))
    assert alarms.get("no_lot") == 1 and alarms.get("invalid_label") == 1
    assert [e.lot for e in events if isinstance(e, LotReceived)] == [lot.lot]
