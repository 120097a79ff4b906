"""The end of the run: gather what the cloud knows into a `DemoReport`, and print it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from tracegate.demo.api import unit_path
from tracegate.demo.checks import check_faults
from tracegate.demo.cloud_view import device_events, known_units
from tracegate.demo.reconcile import Reconciled, decisions, describe, reconcile
from tracegate.demo.report import DemoReport, Timings
from tracegate.demo.stations.materials import DemoMaterials

if TYPE_CHECKING:
    from tracegate.demo.run import DemoPlantRun


async def collect_report(
    run: DemoPlantRun,
    *,
    started_s: float,
    line_started_s: float,
    line_ended_s: float,
    settled_s: float,
) -> DemoReport:
    plan, api, sim, seeded, plant = run.plan, run.api, run.sim, run.seeded, run.plant
    assert plan is not None and api is not None and sim is not None
    assert seeded is not None and plant is not None
    outcomes = {s.checkpoint: sim.stations[s.checkpoint].outcomes() for s in plan.stages}
    devices = {cp.id: cp.device_id for cp in plant.config.checkpoints}
    events = await device_events(run.database_url, devices.values())
    run.cloud_events = {cp: events[device] for cp, device in devices.items()}
    recorded = {cp: decisions(events[device]) for cp, device in devices.items()}
    reconciled = {
        s.checkpoint: reconcile(
            s.checkpoint,
            plan.line_for(s.checkpoint),
            outcomes[s.checkpoint],
            recorded[s.checkpoint],
        )
        for s in plan.stages
    }
    kill = run.killer.record if run.killer is not None else None
    faults = check_faults(plan, outcomes, recorded, reconciled, kill)
    first = plan.line_for(plan.stages[0].checkpoint)
    produced = frozenset((u.udi.di, u.udi.serial) for u in first.units())
    histories = await known_units(api, produced)
    trace_unit = _clean_unit(run, outcomes)
    history = histories.get(trace_unit) if trace_unit is not None else None
    backward = (
        await api.get(f"/api/trace/backward/{unit_path(*trace_unit)}")
        if trace_unit is not None and history is not None
        else None
    )
    station_checks = [check for driver in run.drivers for check in await driver.checks()]
    scope, title = _recall_scope(run)
    impact = await api.post("/api/recalls/preview", scope)
    audit = await api.get("/api/audit/verify")
    done = time.monotonic()
    return DemoReport(
        plan=plan,
        workdir=run.workdir,
        plant_file=plant.path,
        cloud_url=api.base_url,
        database_url=run.database_url,
        broker_url=run.broker_url,
        topic_prefix=run.topic_prefix,
        username="demo",
        password=run.password,
        product_di=seeded.product_di,
        lot=seeded.lot,
        work_order=seeded.work_order,
        outcomes=outcomes,
        recorded=recorded,
        reconciled=reconciled,
        faults=faults,
        station_checks=tuple(station_checks),
        kill=kill,
        produced=produced,
        known=frozenset(histories),
        trace_unit=trace_unit,
        history=history,
        backward=backward,
        recall_scope=scope,
        recall_title=title,
        impact=impact,
        audit=audit,
        line_stops=run.clock.stops,
        notes=tuple(run.notes.lines),
        timings=Timings(
            startup_s=line_started_s - started_s,
            line_s=line_ended_s - line_started_s,
            settle_s=settled_s - line_ended_s,
            summary_s=done - settled_s,
            total_s=done - started_s,
        ),
    )


def _clean_unit(run: DemoPlantRun, outcomes: dict[str, dict[int, str]]) -> tuple[str, str] | None:
    """A unit with no trouble that passed every checkpoint (the first one)."""
    plan = run.plan
    assert plan is not None
    troubled = {i.unit for i in plan.injections} | {i.unit - 1 for i in plan.injections}
    for index in range(plan.units):
        if index in troubled:
            continue
        if all(outcomes[s.checkpoint].get(index) == "pass" for s in plan.stages):
            unit = plan.line_for(plan.stages[0].checkpoint).unit(index)
            return (unit.udi.di, unit.udi.serial)
    return None


def _recall_scope(run: DemoPlantRun) -> tuple[dict[str, Any], str]:
    """The first tubing lot when assembly recorded what went into the kits (the kits built
    before the reel change), else the production lot (every kit of the work order)."""
    seeded = run.seeded
    assert seeded is not None
    materials = run.context.facts.get("materials")
    if isinstance(materials, DemoMaterials) and any(d.role == "assembly" for d in run.drivers):
        lot = materials.tubing_first
        return (
            {"lots": [{"di": lot.di, "lots": [lot.lot]}]},
            f"component lot {lot.lot} (tubing {lot.di})",
        )
    scope = {"lots": [{"di": seeded.product_di, "lots": [seeded.lot]}]}
    return scope, f"production lot {seeded.lot} of {seeded.product_di}"


# --- printing ---------------------------------------------------------------------------


def render_report(report: DemoReport, console: Console) -> None:
    console.rule("[bold]What the cloud knows")
    ok = report.produced == report.known
    console.print(
        f"units produced: [bold]{len(report.produced)}[/] distinct UDIs ({report.plan.units} units"
        f" on the line)   units the cloud knows: [bold]{len(report.known)}[/]   "
        + ("[green]equal[/]" if ok else "[red]NOT EQUAL[/]")
    )
    missing = sorted(report.produced - report.known)
    if missing:
        console.print(
            f"[red]unknown to the cloud:[/] {', '.join(describe(k) for k in missing[:10])}"
        )
    console.print(_checkpoint_table(report))
    console.print(_fault_table(report))
    for check in report.station_checks:
        mark = "[green]ok[/]" if check.ok else "[red]NOT OK[/]"
        console.print(f"{check.name}: {check.detail}  {mark}")
    _print_trace(report, console)
    _print_impact(report, console)
    audit = report.audit
    console.print(
        f"audit trail: {audit.get('audit_rows')} rows; device chains: {audit.get('devices')}"
        f" devices, {audit.get('events')} events: "
        + ("[green]intact[/]" if audit.get("ok") else f"[red]{audit.get('problems')}[/]")
    )
    t = report.timings
    console.print(
        f"wall time: {t.total_s:.1f} s (start {t.startup_s:.1f} s, line {t.line_s:.1f} s,"
        f" cloud catching up {t.settle_s:.1f} s, summary {t.summary_s:.1f} s)"
    )
    for problem in report.problems:
        console.print(f"[red]problem:[/] {problem}")
    console.print("[bold green]demo OK[/]" if report.ok else "[bold red]demo found problems[/]")


def _checkpoint_table(report: DemoReport) -> Table:
    table = Table(title="Each checkpoint: the PLC's outputs against the cloud's records")
    for column in (
        "checkpoint",
        "PLC pass",
        "PLC reject",
        "no output",
        "cloud pass",
        "cloud hold",
        "match",
    ):
        table.add_column(column, justify="left" if column == "checkpoint" else "right")
    for checkpoint, rec in report.reconciled.items():
        outcomes = list(report.outcomes[checkpoint].values())
        cloud = report.recorded[checkpoint]
        table.add_row(
            checkpoint,
            str(outcomes.count("pass")),
            str(outcomes.count("reject")),
            str(len(rec.undecided)),
            str(sum(r.decision == "pass" for r in cloud)),
            str(sum(r.decision == "hold" for r in cloud)),
            _match_cell(rec),
        )
    return table


def _match_cell(rec: Reconciled) -> str:
    if not rec.ok:
        return f"[red]no: {_mismatch(rec)}[/]"
    notes = []
    if rec.unidentified_holds:
        notes.append(f"{rec.unidentified_holds} held unread by the deadline")
    if rec.late_reads:
        notes.append(f"{rec.late_reads} late reads held on their own")
    return "[green]yes[/]" + (f" ({'; '.join(notes)})" if notes else "")


def _mismatch(rec: Reconciled) -> str:
    parts = list(rec.mismatches)
    if rec.undecided:
        parts.append(f"no PLC output for units {list(rec.undecided)[:5]}")
    return "; ".join(parts)


def _fault_table(report: DemoReport) -> Table:
    table = Table(title="Injected trouble")
    for column in ("trouble", "unit", "where", "expected", "PLC", "cloud", "ok"):
        table.add_column(column)
    for check in report.faults:
        i = check.injection
        table.add_row(
            i.name,
            str(i.unit),
            i.checkpoint,
            i.expect_reason or "nothing lost",
            check.plc_outcome or "-",
            ", ".join(check.cloud_reasons) if check.cloud_reasons else check.detail,
            "[green]yes[/]" if check.ok else f"[red]no: {check.detail}[/]",
        )
    return table


def _print_trace(report: DemoReport, console: Console) -> None:
    history = report.history
    if history is None or report.trace_unit is None:
        console.print("[red]trace: no unit passed every checkpoint[/]")
        return
    unit = history["unit"]
    console.print(
        f"\n[bold]Trace of {unit['udi']}[/] (status {unit['status']},"
        f" work order {unit.get('work_order')})"
    )
    for event in history["events"]:
        reasons = ", ".join(r["code"] for r in event.get("reasons", []))
        console.print(
            f"  {event['occurred_at'][11:23]}  {event['checkpoint']:<17} {event['kind']:<15}"
            f" {event.get('decision') or '':<5} {reasons}"
        )
    for m in history["measurements"]:
        console.print(
            f"  {m['checkpoint']}: {m['parameter']} = {m['value']:g} {m['uom']}"
            f" [{_bound(m['low'])}, {_bound(m['high'])}]"
        )
    backward = report.backward or {}
    components = backward.get("nodes", [])
    console.print(
        f"  went into it: {len(components)} lots/units"
        + (
            ": " + ", ".join(f"{n['di']} lot {n.get('lot')}" for n in components[:5])
            if components
            else ""
        )
    )
    placement = history.get("placement") or {}
    if placement.get("container") or placement.get("shipment"):
        console.print(
            f"  packed in {placement.get('container')} on {placement.get('outer_container')},"
            f" shipped {placement.get('shipment')} to {placement.get('recipient_name')}"
        )


def _bound(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _print_impact(report: DemoReport, console: Console) -> None:
    impact = report.impact
    stages = ", ".join(f"{k} {v}" for k, v in sorted(impact.get("by_stage", {}).items()))
    console.print(
        f"\n[bold]Recall impact of {report.recall_title}[/]: {impact.get('unit_count')} units"
        f" ({stages}); {len(impact.get('containers', []))} containers,"
        f" {len(impact.get('recipients', []))} recipients;"
        f" answered in {impact.get('query_ms', 0):.0f} ms"
    )
