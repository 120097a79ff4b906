"""What the running agent writes into its status file, gathered from its parts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import TYPE_CHECKING

from edge.checkpoint.status_file import (
    AgentStatus,
    AlarmStatus,
    DecisionStatus,
    LinkStatus,
    TaskStatus,
)

if TYPE_CHECKING:
    from edge.checkpoint.agent import Agent


TRIGGER_COUNTER = "trigger_counter"
"""The status counter holding a counter trigger's last value, read back by the next run."""


def agent_status(agent: Agent, *, running: bool, pid: int) -> AgentStatus:
    now = dt.datetime.now(dt.UTC)
    now_s = time.monotonic()
    engine = agent.engine
    links = agent.links()
    if agent.subscriber is not None:
        links.append(agent.subscriber.link)
    counters: dict[str, int] = {}
    reasons: dict[str, int] = {}
    decisions: list[DecisionStatus] = []
    if engine is not None:
        # Not dataclasses.asdict: it rebuilds the Counter from (key, count) pairs.
        reasons = dict(engine.counters.reasons)
        counters = {
            f.name: int(getattr(engine.counters, f.name))
            for f in dataclasses.fields(engine.counters)
            if f.name != "reasons"
        }
        counters["in_flight"] = engine.in_flight
        for outcome in reversed(engine.last):
            acked = outcome.output_acked_s
            decisions.append(
                DecisionStatus(
                    at=now - dt.timedelta(seconds=now_s - outcome.trigger_s),
                    unit=outcome.unit,
                    decision=outcome.decision,
                    reasons=outcome.reasons,
                    seq=outcome.seq,
                    latency_ms=None
                    if acked is None
                    else round((acked - outcome.trigger_s) * 1000, 2),
                    corrected=outcome.corrected,
                )
            )
    plc = agent.plc
    if plc is not None and plc.counter is not None:
        counters["units_unwatched"] = plc.units_unwatched
        counters["counter_resets"] = plc.counter_resets
        if (value := agent.trigger_counter()) is not None:
            counters[TRIGGER_COUNTER] = value
    for name, feed in (("route", agent.route), ("commands", agent.commands)):
        if feed is not None:
            for key, value in dataclasses.asdict(feed.counters).items():
                counters[f"{name}_{key}"] = int(value)
    publisher: dict[str, str | int | None] = {}
    if agent.publisher is not None:
        status = agent.publisher.status()
        publisher = {
            "state": status.state,
            "broker": status.broker,
            "published_total": status.published_total,
            "last_error": status.last_error,
        }
    metrics = agent.outbox.metrics() if agent.outbox is not None and running else None
    state = agent.state
    order = state.work_order if state is not None else None
    interlock = agent.interlock
    return AgentStatus(
        device_id=agent.checkpoint.device_id,
        checkpoint=agent.checkpoint.id,
        pid=pid,
        running=running,
        started_at=agent.started_at,
        updated_at=now,
        period_s=agent.options.status_period_s,
        links=tuple(
            LinkStatus(
                name=link.name,
                kind=link.kind,
                state=link.status,
                since=link.since,
                detail=link.last_error,
            )
            for link in links
        ),
        tasks=tuple(
            TaskStatus(
                name=h.name,
                critical=h.critical,
                up=h.up,
                restarts=h.restarts,
                last_error=h.last_error,
            )
            for h in agent.supervisor.health()
        ),
        counters=counters,
        reasons=reasons,
        publisher=publisher,
        outbox_depth=metrics.depth if metrics is not None else None,
        last_seq=metrics.last_seq if metrics is not None else None,
        work_order=order.work_order if order is not None else None,
        line_stop_requested=interlock.line_stop_requested if interlock is not None else None,
        last_decisions=tuple(decisions),
        alarms=tuple(
            AlarmStatus(code=a.code, message=a.message, at=a.raised_at) for a in agent.alarms.recent
        ),
    )
