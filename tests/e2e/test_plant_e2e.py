"""The demo plant headless on real Mosquitto and PostgreSQL: every unit a simulated PLC
decided is in the cloud exactly once with that decision, each injected fault ended in the
right hold and the right PLC output, the killed agent lost nothing, trace and recall answer
right, and the audit trail verifies.

The expectations here are the test's own (the table of faults, the counting of events);
the demo's summary is not trusted to judge itself.
"""

from __future__ import annotations

import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import httpx
import pytest
from e2e_helpers import children_in

from edge.sim.units import SimLine
from protocols.codec import decode_event
from protocols.events import (
    ContainerShipped,
    Event,
    LotReceived,
    UnitAssembled,
    UnitInspected,
    UnitPacked,
    UnitReceived,
)
from protocols.parts import ContainerRef, LotQuantity, UnitRef
from tracegate.demo import DemoOptions, DemoPlantRun, DemoReport
from tracegate.demo.stations.assembly import AssemblyDriver
from tracegate.demo.stations.materials import CONNECTOR, TUBING, DemoMaterials
from tracegate.demo.stations.returns import RMA
from tracegate.demo.stations.shipping import SHIPMENT

pytestmark = [pytest.mark.postgres, pytest.mark.mosquitto, pytest.mark.timeout(300)]

UNITS = 60
RATE_PER_S = 2.0
"""500 ms between units: a hold sent as late as a checkpoint's decision deadline still
reaches the PLC while its unit is there, however loaded the machine."""

NO_READ = {"no_read", "deadline_missed"}
"""An unreadable unit is held as a no-read, or, when the reader could not finish looking by
the decision deadline (a loaded host), as a deadline miss: unidentified either way."""

EXPECTED_HOLDS = {
    ("wrong_lot", "assembly"): {"work_order_mismatch"},
    ("duplicate_serial", "assembly"): {"duplicate_serial"},
    ("serial_repeated", "sealing"): {"route_held"},
    ("no_read", "sealing"): NO_READ,
    ("seal_excursion", "sealing"): {"parameter_out_of_limits"},
    ("skips_checkpoint", "final-inspection"): {"route_unknown"},
    ("no_read", "final-inspection"): NO_READ,
}
"""(fault, checkpoint where the unit must be held) -> the hold reasons right for it there."""

Key = tuple[str, str | None] | None


async def _rows(dsn: str, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn)
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _cloud_decisions(payloads: list[str]) -> dict[str, list[tuple[Key, str, tuple[str, ...]]]]:
    """checkpoint -> (unit key, final decision, its reasons) of each unit decision in seq
    order, corrections applied."""
    events = sorted((decode_event(p) for p in payloads), key=lambda e: e.seq)
    inspected = [e for e in events if isinstance(e, UnitInspected)]
    final = {e.corrects: e for e in inspected if e.corrects is not None}
    found: dict[str, list[tuple[Key, str, tuple[str, ...]]]] = {}
    for event in inspected:
        if event.corrects is not None:
            continue
        last = event
        while last.event_id in final:
            last = final[last.event_id]
        key = None if event.udi is None else (event.udi.di, event.udi.serial)
        codes = tuple(r.code for r in last.reasons)
        found.setdefault(event.checkpoint, []).append((key, last.decision, codes))
    return found


def _key(line: SimLine, index: int) -> Key:
    unit = line.unit(index)
    return None if unit.reader_text is None else (unit.udi.di, unit.udi.serial)


def _pairing(expected: list[tuple[Key, str]], recorded: list[tuple[Key, str]]) -> list[str]:
    """Where the n-th PLC decision and the n-th cloud record disagree (a hold recorded
    without a UDI agrees with any held unit)."""
    problems = [
        f"#{n}: PLC {want}, cloud {got}"
        for n, (want, got) in enumerate(zip(expected, recorded, strict=False))
        if want[1] != got[1] or (want[0] != got[0] and not (got[0] is None and got[1] == "hold"))
    ]
    if len(expected) != len(recorded):
        problems.append(f"{len(expected)} PLC decisions, {len(recorded)} cloud records")
    return problems


async def test_the_plant_end_to_end(tmp_path: Path, mosquitto_url: str, postgres_url: str) -> None:
    workdir = tmp_path / "demo"
    options = DemoOptions(
        workdir=workdir,
        units=UNITS,
        broker_url=mosquitto_url,
        database_url=postgres_url,
        rate_per_s=RATE_PER_S,
    )
    async with DemoPlantRun(options) as demo:
        report = await demo.run()
        async with httpx.AsyncClient(base_url=report.cloud_url, timeout=30) as api:
            login = await api.post(
                "/api/auth/login", json={"username": report.username, "password": report.password}
            )
            api.headers["Authorization"] = f"Bearer {login.json()['token']}"
            await _assert_trace_recall_audit(api, report, _dsn(postgres_url))
            dsn = _dsn(postgres_url)
            events = await _rows(dsn, "SELECT device_id, seq, checkpoint, payload FROM events")
            payloads = [r["payload"] for r in events]
            await _assert_materials_containers_shipment_return(api, demo, report, payloads)
    plan = report.plan
    line = plan.line_for(plan.stages[0].checkpoint)

    # Every unit put on the line is one unit in the cloud (a duplicated serial is one UDI).
    produced = Counter((u.udi.di, u.udi.serial) for u in line.units())
    units = await _rows(dsn, "SELECT di, serial FROM units")
    assert Counter((r["di"], r["serial"]) for r in units) == Counter(dict.fromkeys(produced, 1))

    # ... and at each checkpoint, unit after unit, what the PLC was told is what the cloud
    # recorded: the same decision, for the same UDI (or held unread, a camera or scanner
    # that missed the deadline on a loaded host). A read that came after its unit's window
    # is held again on its own ("no_trigger"): allowed, as a hold of a unit the PLC rejected.
    cloud = _cloud_decisions(payloads)
    by_index: dict[str, dict[int, tuple[Key, str, tuple[str, ...]]]] = {}
    for stage in plan.stages:
        stage_line = plan.line_for(stage.checkpoint)
        told = sorted(report.outcomes[stage.checkpoint].items())
        assert len(told) == sum(1 for _ in stage_line.seen_units())
        assert {outcome for _, outcome in told} <= {"pass", "reject"}, stage.checkpoint
        expected = [
            (_key(stage_line, i), "pass" if outcome == "pass" else "hold") for i, outcome in told
        ]
        recorded = cloud.get(stage.checkpoint, [])
        problems = _pairing(expected, [(k, d) for k, d, _ in recorded])
        if problems:
            rejected = {key for key, decision in expected if decision == "hold"}
            late = [(k, d) for k, d, codes in recorded if "no_trigger" in codes]
            assert all(d == "hold" and k in rejected for k, d in late), (stage.checkpoint, late)
            recorded = [r for r in recorded if "no_trigger" not in r[2]]
            assert late and not _pairing(expected, [(k, d) for k, d, _ in recorded]), (
                stage.checkpoint,
                problems,
            )
        by_index[stage.checkpoint] = {i: r for (i, _), r in zip(told, recorded, strict=True)}

    # Each injected fault: held where planned, for the reason planned, rejected by the PLC,
    # and gone from the line after it.
    planned = {(i.fault, i.checkpoint): i for i in plan.injections if i.fault != "agent_killed"}
    assert set(planned) == set(EXPECTED_HOLDS)
    for (fault, checkpoint), injection in planned.items():
        assert report.outcomes[checkpoint][injection.unit] == "reject", (fault, checkpoint)
        key, decision, codes = by_index[checkpoint][injection.unit]
        assert key == _key(plan.line_for(checkpoint), injection.unit) or key is None
        assert decision == "hold"
        assert EXPECTED_HOLDS[(fault, checkpoint)] & set(codes), (fault, checkpoint, codes)
        later = [s.checkpoint for s in plan.stages][
            [s.checkpoint for s in plan.stages].index(checkpoint) + 1 :
        ]
        for downstream in later:
            assert injection.unit not in report.outcomes[downstream], (fault, downstream)

    # The killed agent: SIGKILLed, restarted, and its device chain in the cloud has no gap.
    assert report.kill is not None and report.kill.exit_code == -9
    killed = next(
        cp.device_id
        for cp in demo.plant.config.checkpoints  # type: ignore[union-attr]
        if cp.id == report.kill.checkpoint
    )
    seqs = sorted(r["seq"] for r in events if r["device_id"] == killed)
    assert seqs == list(range(1, len(seqs) + 1))
    assert await _rows(dsn, "SELECT * FROM seq_gaps WHERE closed_at IS NULL") == []

    # Nothing of the demo runs any more.
    assert children_in(workdir) == []


async def _assert_trace_recall_audit(api: httpx.AsyncClient, report: DemoReport, dsn: str) -> None:
    plan = report.plan
    stages = [s.checkpoint for s in plan.stages]
    # A clean unit: one passing inspection at every checkpoint, in line order.
    assert report.trace_unit is not None
    di, serial = report.trace_unit
    unit_id = urllib.parse.quote(f"{di}:{serial}", safe="")
    history: dict[str, Any] = (await api.get(f"/api/units/{unit_id}")).json()
    inspections = [e for e in history["events"] if e["kind"] == "unit.inspected"]
    assert [e["checkpoint"] for e in inspections] == stages
    assert {e["decision"] for e in inspections} == {"pass"}
    backward = (await api.get(f"/api/trace/backward/{unit_id}")).json()
    assert backward["unit"]["serial"] == serial
    assert backward["unit"]["lot"] == report.lot
    # The excursion unit: held at sealing, its seal temperature recorded above the limit.
    excursion = next(i for i in plan.injections if i.fault == "seal_excursion")
    bad = plan.line_for("sealing").unit(excursion.unit).udi
    bad_id = urllib.parse.quote(f"{bad.di}:{bad.serial}", safe="")
    bad_history = (await api.get(f"/api/units/{bad_id}")).json()
    temps = [
        m["value"]
        for m in bad_history["measurements"]
        if m["checkpoint"] == "sealing" and m["parameter"] == "seal_temp"
    ]
    assert temps and temps[0] > 185
    assert any(
        "parameter_out_of_limits" in [r["code"] for r in hold["reasons"]]
        for hold in bad_history["holds"]
    )
    # Recall of the production lot: every unit that carries that lot, none other.
    line = plan.line_for(stages[0])
    in_lot = {(u.udi.di, u.udi.serial) for u in line.units() if u.udi.lot == report.lot}
    impact = (
        await api.post(
            "/api/recalls/preview", json={"lots": [{"di": report.product_di, "lots": [report.lot]}]}
        )
    ).json()
    assert impact["unit_count"] == len(in_lot)
    # The audit trail and every device chain verify, over every stored event.
    audit = (await api.get("/api/audit/verify")).json()
    (total,) = await _rows(dsn, "SELECT count(*) AS n FROM events")
    assert audit["ok"], audit
    assert audit["events"] == total["n"]


def _by_checkpoint(payloads: list[str]) -> dict[str, list[Event]]:
    found: dict[str, list[Event]] = {}
    for event in sorted((decode_event(p) for p in payloads), key=lambda e: e.seq):
        found.setdefault(event.checkpoint, []).append(event)
    return found


async def _assert_materials_containers_shipment_return(
    api: httpx.AsyncClient, demo: DemoPlantRun, report: DemoReport, payloads: list[str]
) -> None:
    events = _by_checkpoint(payloads)
    plan = report.plan
    materials = DemoMaterials.make(seed=demo.options.seed)
    # Goods receipt booked the three supplier lots in (quarantined, as the plant does).
    received = [e for e in events["goods-receipt"] if isinstance(e, LotReceived)]
    assert sorted((e.di, e.lot, e.inspection_state) for e in received) == sorted(
        (lot.di, lot.lot, "quarantined") for lot in materials.received
    )
    # Every kit assembled records both components; the tubing lot changes exactly after
    # the unit the reel ran out on.
    (assembly,) = [d for d in demo.drivers if isinstance(d, AssemblyDriver)]
    change = assembly.reel_change_after
    assert change is not None
    line = plan.line_for("assembly")
    index_of = {line.serial_of(i): i for i in range(plan.units)}
    built = [e for e in events["assembly"] if isinstance(e, UnitAssembled)]
    identified = [e for e in events["assembly"] if isinstance(e, UnitInspected) and e.udi]
    assert len(built) == len(identified)
    first_lot_kits = set()
    for event in built:
        lots = {c.di: c.lot for c in event.components if isinstance(c, LotQuantity)}
        index = index_of[event.parent.serial or ""]
        tubing = materials.tubing_first if index <= change else materials.tubing_second
        assert lots == {TUBING: tubing.lot, CONNECTOR: materials.connector.lot}, index
        if index <= change:
            first_lot_kits.add((event.parent.di, event.parent.serial))
    # A recall of the first tubing lot: exactly the kits built from it.
    scope = {"lots": [{"di": TUBING, "lots": [materials.tubing_first.lot]}]}
    impact = (await api.post("/api/recalls/preview", json=scope)).json()
    assert impact["unit_count"] == len(first_lot_kits)
    # Packing: every unit the packer's PLC passed is in one case; the cases on the pallet.
    packing_line = plan.line_for("packing")
    passed = sorted(
        (packing_line.unit(i).udi.di, packing_line.unit(i).udi.serial)
        for i, outcome in report.outcomes["packing"].items()
        if outcome == "pass"
    )
    packed = [e for e in events["packing"] if isinstance(e, UnitPacked)]
    cases = {e.container: e.children for e in packed if isinstance(e.children[0], UnitRef)}
    pallets = {e.container: e.children for e in packed if isinstance(e.children[0], ContainerRef)}
    in_cases = sorted(
        (c.di, c.serial) for kids in cases.values() for c in kids if isinstance(c, UnitRef)
    )
    assert in_cases == passed
    assert all(len(kids) <= 10 for kids in cases.values())
    assert len(pallets) == 1
    (pallet,) = pallets
    assert {c.sscc for c in pallets[pallet] if isinstance(c, ContainerRef)} == set(cases)
    # Shipping: the pallet left on the shipment the cloud announced.
    shipped = [e for e in events["shipping"] if isinstance(e, ContainerShipped)]
    assert [(e.shipment_id, e.containers) for e in shipped] == [(SHIPMENT, (pallet,))]
    shipment = (await api.get(f"/api/shipments/{SHIPMENT}")).json()
    assert shipment["status"] == "shipped"
    # Returns: one kit of the first case came back under the RMA, received and held.
    returned = [e for e in events["returns"] if isinstance(e, UnitReceived)]
    assert len(returned) == 1 and returned[0].rma == RMA
    (item,) = returned[0].items
    assert isinstance(item, UnitRef)
    assert (item.di, item.serial) in {(c.di, c.serial) for c in next(iter(cases.values()))}
    held = [
        e
        for e in events["returns"]
        if isinstance(e, UnitInspected) and e.udi and e.udi.serial == item.serial
    ]
    assert [e.decision for e in held] == ["hold"]
    unit_id = urllib.parse.quote(f"{item.di}:{item.serial}", safe="")
    assert (await api.get(f"/api/units/{unit_id}")).json()["unit"]["status"] == "returned"
