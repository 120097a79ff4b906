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

from protocols.codec import decode_event
from protocols.events import UnitInspected
from tracegate.demo import DemoOptions, DemoPlantRun, DemoReport

pytestmark = [pytest.mark.postgres, pytest.mark.mosquitto, pytest.mark.timeout(300)]

UNITS = 60
RATE_PER_S = 2.5
"""400 ms between units: a hold sent as late as a checkpoint's decision deadline still
reaches the PLC while its unit is there, however loaded the machine."""

EXPECTED_HOLDS = {
    ("wrong_lot", "assembly"): "work_order_mismatch",
    ("duplicate_serial", "assembly"): "duplicate_serial",
    ("serial_repeated", "sealing"): "route_held",
    ("no_read", "sealing"): "no_read",
    ("seal_excursion", "sealing"): "parameter_out_of_limits",
    ("skips_checkpoint", "final-inspection"): "route_unknown",
    ("no_read", "final-inspection"): "no_read",
}
"""(fault, checkpoint where the unit must be held) -> the hold reason it must get there."""

Key = tuple[str, str | None] | None


async def _rows(dsn: str, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn)
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _cloud_decisions(payloads: list[str]) -> dict[str, list[tuple[Key, str]]]:
    """checkpoint -> (unit key, final decision) of each unit decision in seq order,
    corrections applied."""
    events = sorted((decode_event(p) for p in payloads), key=lambda e: e.seq)
    inspected = [e for e in events if isinstance(e, UnitInspected)]
    final = {e.corrects: e for e in inspected if e.corrects is not None}
    found: dict[str, list[tuple[Key, str]]] = {}
    for event in inspected:
        if event.corrects is not None:
            continue
        last = event
        while last.event_id in final:
            last = final[last.event_id]
        key = None if event.udi is None else (event.udi.di, event.udi.serial)
        found.setdefault(event.checkpoint, []).append((key, last.decision))
    return found


def _holds(payloads: list[str], checkpoint: str) -> list[tuple[Key, tuple[str, ...]]]:
    holds = []
    for payload in payloads:
        event = decode_event(payload)
        if (
            isinstance(event, UnitInspected)
            and event.checkpoint == checkpoint
            and event.decision == "hold"
        ):
            key = None if event.udi is None else (event.udi.di, event.udi.serial)
            holds.append((key, tuple(r.code for r in event.reasons)))
    return holds


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
    plan = report.plan
    line = plan.line_for(plan.stages[0].checkpoint)

    # Every unit put on the line is one unit in the cloud (a duplicated serial is one UDI).
    produced = Counter((u.udi.di, u.udi.serial) for u in line.units())
    units = await _rows(dsn, "SELECT di, serial FROM units")
    assert Counter((r["di"], r["serial"]) for r in units) == Counter(dict.fromkeys(produced, 1))

    # ... and at each checkpoint, unit after unit, what the PLC was told is what the cloud
    # recorded: the same decision, for the same UDI (or held unread, a camera or scanner
    # that missed the deadline on a loaded host).
    cloud = _cloud_decisions(payloads)
    for stage in plan.stages:
        stage_line = plan.line_for(stage.checkpoint)
        told = sorted(report.outcomes[stage.checkpoint].items())
        assert len(told) == sum(1 for _ in stage_line.seen_units())
        recorded = cloud.get(stage.checkpoint, [])
        assert len(recorded) == len(told), stage.checkpoint
        for (index, outcome), (key, decision) in zip(told, recorded, strict=True):
            assert outcome in ("pass", "reject"), (stage.checkpoint, index, outcome)
            unit = stage_line.unit(index)
            expected = None if unit.reader_text is None else (unit.udi.di, unit.udi.serial)
            assert decision == ("pass" if outcome == "pass" else "hold"), (stage.checkpoint, index)
            assert key == expected or (key is None and decision == "hold"), (
                stage.checkpoint,
                index,
                key,
            )

    # Each injected fault: held where planned, for the reason planned, rejected by the PLC,
    # and gone from the line after it.
    planned = {(i.fault, i.checkpoint): i for i in plan.injections if i.fault != "agent_killed"}
    assert set(planned) == set(EXPECTED_HOLDS)
    for (fault, checkpoint), injection in planned.items():
        stage_line = plan.line_for(checkpoint)
        unit = stage_line.unit(injection.unit)
        key = None if unit.reader_text is None else (unit.udi.di, unit.udi.serial)
        assert report.outcomes[checkpoint][injection.unit] == "reject", (fault, checkpoint)
        reasons = [codes for k, codes in _holds(payloads, checkpoint) if k == key]
        assert any(EXPECTED_HOLDS[(fault, checkpoint)] in codes for codes in reasons), (
            fault,
            checkpoint,
            reasons,
        )
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
