"""The live view: one row per checkpoint (units seen, passed, held by reason, outbox depth,
link state), read from each agent's status file, and the line's state and latest notes.

An agent's counters start again from zero when it restarts; the view adds up the last
counters of each of its processes, so the totals cover the whole run.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from edge.checkpoint.status_file import AgentStatus
from tracegate.demo.agents import AgentProcess
from tracegate.demo.clock import SharedLineClock
from tracegate.demo.plan import LinePlan


@dataclass
class Tally:
    """One checkpoint's counters over every agent process it had."""

    by_pid: dict[int, AgentStatus] = field(default_factory=dict)

    def add(self, status: AgentStatus | None) -> None:
        if status is not None:
            self.by_pid[status.pid] = status

    def counter(self, name: str) -> int:
        return sum(s.counters.get(name, 0) for s in self.by_pid.values())

    def reasons(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for status in self.by_pid.values():
            total.update(status.reasons)
        return total


@dataclass
class Notes:
    """What happened on the line, for the view and the summary."""

    started_s: float = field(default_factory=time.monotonic)
    lines: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.lines.append(f"{time.monotonic() - self.started_s:6.1f} s  {text}")


class LiveView:
    """`view.render()` is what `rich.live.Live` shows."""

    def __init__(
        self,
        plan: LinePlan,
        clock: SharedLineClock,
        agents: Mapping[str, AgentProcess],
        notes: Notes,
        *,
        stage_of: Callable[[], str],
    ) -> None:
        self.plan = plan
        self.clock = clock
        self.agents = agents
        self.notes = notes
        self.stage_of = stage_of
        self.tallies: dict[str, Tally] = {}

    def refresh(self) -> None:
        for name, agent in self.agents.items():
            self.tallies.setdefault(name, Tally()).add(agent.status())

    def render(self) -> RenderableType:
        self.refresh()
        return Group(self._header(), self._table(), self._notes())

    def _header(self) -> Text:
        if not self.clock.started:
            line = "standing"
            entered = 0
        else:
            now = self.clock.now_s()
            line = "STOPPED" if self.clock.paused else "running"
            if now > self.plan.end_s:
                line = "done"
            first = self.plan.line_for(self.plan.stages[0].checkpoint) if self.plan.stages else None
            entered = 0
            if first is not None and now >= first.first_arrival_s:
                entered = min(
                    self.plan.units, int((now - first.first_arrival_s) * first.rate_per_s) + 1
                )
            line += f", line time {min(now, self.plan.end_s):5.1f} s of {self.plan.end_s:.1f} s"
        text = Text()
        text.append("Tracegate demo", style="bold")
        text.append(
            f"  {self.stage_of()}  |  line {line}  |  units on the line {entered}/{self.plan.units}"
        )
        return text

    def _table(self) -> Table:
        table = Table(expand=False, header_style="bold")
        for column in (
            "checkpoint",
            "agent",
            "seen",
            "passed",
            "held",
            "held by reason",
            "outbox",
            "links",
        ):
            table.add_column(
                column,
                justify="right" if column in ("seen", "passed", "held", "outbox") else "left",
            )
        for name, agent in self.agents.items():
            tally = self.tallies.setdefault(name, Tally())
            status = agent.status()
            reasons = ", ".join(f"{code} {n}" for code, n in sorted(tally.reasons().items()))
            outbox = (
                "-" if status is None or status.outbox_depth is None else str(status.outbox_depth)
            )
            table.add_row(
                name,
                _agent_cell(agent, status),
                str(tally.counter("units")),
                str(tally.counter("passed")),
                str(tally.counter("held")),
                reasons or "-",
                outbox,
                _links(status),
            )
        return table

    def _notes(self) -> Text:
        return Text("\n".join(self.notes.lines[-6:]), style="dim")


def _agent_cell(agent: AgentProcess, status: AgentStatus | None) -> Text:
    if not agent.running:
        return Text("down", style="bold red")
    label = f"pid {agent.process.pid}" if agent.process is not None else "?"
    if agent.generation > 1:
        label += f" (start {agent.generation})"
    return Text(label, style="green" if status is not None and status.running else "yellow")


def _links(status: AgentStatus | None) -> Text:
    if status is None:
        return Text("-")
    text = Text()
    for link in status.links:
        style = "green" if link.state == "up" else "red"
        text.append(f"{link.name}:{link.state} ", style=style)
    broker = status.publisher.get("state")
    if broker is not None:
        text.append(f"broker:{broker}", style="green" if broker == "connected" else "red")
    return text
