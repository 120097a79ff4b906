"""`tracegate edge status`: the agent's status file, its local state and its outbox depth,
read from the files, so it works whether the agent runs or not."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from edge.checkpoint.state import DecisionRow, LocalState
from edge.checkpoint.status_file import (
    AgentStatus,
    process_alive,
    read_status,
    status_path,
)
from protocols.commands import Hold, WorkOrder
from protocols.config import Checkpoint


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxSnapshot:
    depth: int
    last_seq: int
    stored_bytes: int
    oldest_age_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReport:
    checkpoint: str
    device_id: str
    running: bool
    agent: AgentStatus | None
    work_order: WorkOrder | None = None
    holds: tuple[Hold, ...] = ()
    decisions: tuple[DecisionRow, ...] = ()
    outbox: OutboxSnapshot | None = None
    problems: tuple[str, ...] = field(default=())
    """Files that could not be read, in words."""


async def gather_status(checkpoint: Checkpoint, *, decisions: int = 10) -> StatusReport:
    problems: list[str] = []
    agent = read_status(status_path(checkpoint.state_path))
    running = (
        agent is not None
        and agent.running
        and process_alive(agent.pid)
        and (dt.datetime.now(dt.UTC) - agent.updated_at).total_seconds() < 3 * agent.period_s + 2
    )
    order: WorkOrder | None = None
    holds: tuple[Hold, ...] = ()
    rows: tuple[DecisionRow, ...] = ()
    if checkpoint.state_path.exists():
        state = await LocalState.open(checkpoint.state_path)
        try:
            order = state.work_order
            holds = tuple(await state.holds())
            rows = tuple(await state.last_decisions(checkpoint=checkpoint.id, limit=decisions))
        finally:
            await state.close()
    else:
        problems.append(f"no local state file at {checkpoint.state_path}")
    outbox = None
    if not checkpoint.outbox.path.exists():
        problems.append(f"no outbox file at {checkpoint.outbox.path}")
    else:
        try:
            outbox = read_outbox(checkpoint.outbox.path)
        except (OSError, sqlite3.Error) as exc:
            problems.append(f"outbox {checkpoint.outbox.path} unreadable: {exc}")
    return StatusReport(
        checkpoint=checkpoint.id,
        device_id=checkpoint.device_id,
        running=running,
        agent=agent,
        work_order=order,
        holds=holds,
        decisions=rows,
        outbox=outbox,
        problems=tuple(problems),
    )


def read_outbox(path: Path) -> OutboxSnapshot:
    """Depth and head of an outbox file, read-only (the agent may be writing it)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        last_seq, depth, stored = db.execute(
            "SELECT last_seq, depth, stored_bytes FROM outbox_meta"
        ).fetchone()
        (oldest_ms,) = db.execute("SELECT MIN(committed_at_ms) FROM outbox_events").fetchone()
    finally:
        db.close()
    age_s = 0.0 if oldest_ms is None else max(0.0, time.time() - oldest_ms / 1000)
    return OutboxSnapshot(
        depth=int(depth), last_seq=int(last_seq), stored_bytes=int(stored), oldest_age_s=age_s
    )


def render_status(report: StatusReport) -> list[str]:
    """The report as lines of text for a terminal."""
    agent = report.agent
    lines = [f"checkpoint {report.checkpoint} (device {report.device_id})"]
    if report.running and agent is not None:
        lines.append(
            f"agent: running, pid {agent.pid}, since {agent.started_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    elif agent is not None:
        lines.append(f"agent: not running (last status {agent.updated_at:%Y-%m-%d %H:%M:%S} UTC)")
    else:
        lines.append("agent: not running (no status file)")
    order = report.work_order
    lines.append(
        "work order: "
        + (
            f"{order.work_order} ({', '.join(order.products)}, lot {order.lot or '-'},"
            f" {order.quantity} units)"
            if order is not None
            else "none (every unit is held)"
        )
    )
    holds = ", ".join(f"{h.hold_id} ({h.reason})" for h in report.holds) or "none"
    lines.append(f"holds: {holds}")
    box = report.outbox
    if box is not None:
        lines.append(
            f"outbox: {box.depth} events waiting, oldest {box.oldest_age_s:.1f} s,"
            f" last seq {box.last_seq}"
        )
    if agent is not None:
        lines.append("links:")
        lines.extend(
            f"  {link.name} ({link.kind}): {link.state}"
            + (f" ({link.detail})" if link.detail and link.state != "up" else "")
            for link in agent.links
        )
        down = [t for t in agent.tasks if not t.up]
        if down:
            lines.append("tasks down: " + ", ".join(f"{t.name} ({t.last_error})" for t in down))
        if agent.publisher:
            lines.append(
                f"broker: {agent.publisher.get('state')} {agent.publisher.get('broker')},"
                f" published {agent.publisher.get('published_total')}"
            )
        counters = agent.counters
        lines.append(
            f"units: {counters.get('units', 0)} ({counters.get('passed', 0)} passed,"
            f" {counters.get('held', 0)} held, {counters.get('corrections', 0)} corrected,"
            f" {counters.get('unrecorded', 0)} unrecorded)"
        )
        if counters.get("units_unwatched"):
            lines.append(
                f"units unwatched: {counters['units_unwatched']} (the PLC counted them while"
                " the agent was not watching)"
            )
        if agent.reasons:
            lines.append(
                "hold reasons: " + ", ".join(f"{k} {v}" for k, v in sorted(agent.reasons.items()))
            )
        if agent.line_stop_requested:
            lines.append(f"LINE STOP requested: {agent.line_stop_requested}")
        if agent.last_decisions:
            lines.append("last decisions:")
            lines.extend(
                f"  {d.at:%H:%M:%S.%f} {d.decision:<4} {d.unit or 'unidentified'}"
                f" seq {d.seq if d.seq is not None else '-'}"
                + (f" [{', '.join(d.reasons)}]" if d.reasons else "")
                + (f" {d.latency_ms:.1f} ms" if d.latency_ms is not None else "")
                for d in agent.last_decisions[:10]
            )
        if agent.alarms:
            lines.append("alarms:")
            lines.extend(f"  {a.at:%H:%M:%S} {a.code}: {a.message}" for a in agent.alarms[-5:])
    elif report.decisions:
        lines.append("last decisions (from the local index):")
        lines.extend(
            f"  {dt.datetime.fromtimestamp(r.decided_at, dt.UTC):%H:%M:%S} {r.decision:<4}"
            f" {r.unit_key} seq {r.seq if r.seq is not None else '-'}"
            for r in report.decisions
        )
    lines.extend(f"problem: {p}" for p in report.problems)
    return lines


def status_json(report: StatusReport) -> bytes:
    return msgspec.json.encode(report)
