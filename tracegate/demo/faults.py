"""The injected trouble that is not a unit's: one agent SIGKILLed mid-run and restarted.

The unit faults (no-reads, the excursion, the wrong lot, the duplicate serial, the skip)
are in the plan and the simulators act them out by themselves. The kill is driven here:
between the planned unit and the next one (three quarters of the way, when the agent has
long decided the unit and the next has not arrived), the agent is SIGKILLed. The PLC's
watchdog stops the line at once (the agent's Modbus connection is gone), the agent is
started again, and once it watches the line again the line restarts. Nothing the killed
agent committed is lost: its outbox is on disk and the new process publishes it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass

from tracegate.demo.agents import AgentProcess
from tracegate.demo.clock import SharedLineClock
from tracegate.demo.live import Notes
from tracegate.demo.plan import AGENT_KILLED, LinePlan

RESTART_PAUSE_S = 1.0
"""How long the killed agent stays down before it is started again (a reboot is longer)."""


SETTLE_AFTER_RESTART_S = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class KillRecord:
    checkpoint: str
    after_unit: int
    exit_code: int
    line_stopped_s: float
    """How long the line stood while the agent was away."""
    outbox_depth_at_kill: int | None
    """Events the killed agent had committed but not yet handed to the broker."""


class AgentKiller:
    """Kills the plan's agent after its unit's output; `run()` does kill, stop, restart."""

    def __init__(
        self,
        plan: LinePlan,
        agents: Mapping[str, AgentProcess],
        clock: SharedLineClock,
        notes: Notes,
        *,
        work_order: str,
    ) -> None:
        self.plan = plan
        self.injection = next((i for i in plan.injections if i.fault == AGENT_KILLED), None)
        self.agents = agents
        self.clock = clock
        self.notes = notes
        self.work_order = work_order
        self.record: KillRecord | None = None

    async def _until_due(self, checkpoint: str, unit: int) -> None:
        """Until three quarters of the way from `unit` to the next at `checkpoint`: its own
        output was written long ago (a decision takes a read window and a few ms), the next
        unit is not there yet. (An output seen for the unit is no sign: a late output of
        the unit before it lands on it too.)"""
        line = self.plan.line_for(checkpoint)
        due_s = line.arrival_s(unit) + 0.75 * line.pitch_s
        while self.clock.paused or self.clock.now_s() < due_s:  # noqa: ASYNC110 - a clock
            await asyncio.sleep(0.005)

    async def run(self) -> None:
        injection = self.injection
        if injection is None:
            return
        await self._until_due(injection.checkpoint, injection.unit)
        agent = self.agents[injection.checkpoint]
        outbox = agent.outbox()
        agent.kill()
        code = await agent.wait_exit()
        # The PLC's watchdog: its agent's connection dropped, so the line stops.
        self.clock.pause()
        stopped = time.monotonic()
        self.notes.add(
            f"agent of {agent.name} SIGKILLed after unit {injection.unit} (exit {code});"
            f" the PLC watchdog stopped the line"
        )
        await asyncio.sleep(RESTART_PAUSE_S)
        await agent.start()
        self.notes.add(f"agent of {agent.name} restarted")
        await agent.wait_ready(work_order=self.work_order, timeout_s=60.0)
        # A starting Python process takes a core for a while after it is ready (publishing
        # the backlog, the route feed catching up); the other agents' deadlines are tight.
        await asyncio.sleep(SETTLE_AFTER_RESTART_S)
        self.clock.resume()
        stood = time.monotonic() - stopped
        self.notes.add(f"{agent.name} watches the line again; line restarted after {stood:.1f} s")
        self.record = KillRecord(
            checkpoint=agent.name,
            after_unit=injection.unit,
            exit_code=code,
            line_stopped_s=stood,
            outbox_depth_at_kill=None if outbox is None else outbox.depth,
        )
