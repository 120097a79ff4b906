"""One edge agent per checkpoint, each a child process (so one can be SIGKILLed mid-run and
started again, as a power cut and a reboot would), watched through its status file."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path

from edge.checkpoint.status_file import AgentStatus, read_status, status_path
from edge.checkpoint.status_report import OutboxSnapshot, read_outbox
from protocols.config import Checkpoint
from tracegate.demo.errors import DemoError
from tracegate.demo.procs import ChildProcess


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentFiles:
    plant: Path
    plan: Path
    clock: Path
    logs: Path


@dataclass
class AgentProcess:
    """The agent of `checkpoint`; `generation` counts its starts."""

    checkpoint: Checkpoint
    files: AgentFiles
    process: ChildProcess | None = None
    generation: int = 0
    kills: int = 0
    exits: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.checkpoint.id

    def argv(self) -> list[str]:
        cp = self.checkpoint
        if cp.camera is not None:
            module = ["-m", "tracegate.demo.camera_agent", str(self.files.plant), cp.id]
            return [sys.executable, *module, str(self.files.plan), str(self.files.clock)]
        edge_run = ["-m", "tracegate.cli", "edge", "run", str(self.files.plant)]
        return [sys.executable, *edge_run, "--checkpoint", cp.id, "--log-format", "logfmt"]

    async def start(self) -> None:
        self.generation += 1
        self.process = await ChildProcess.start(
            f"agent {self.name}", self.argv(), log=self.files.logs / f"agent-{self.name}.log"
        )

    def kill(self) -> None:
        """SIGKILL the agent (its outbox keeps every record it committed)."""
        if self.process is not None and self.process.running:
            self.kills += 1
            self.process.kill()

    async def wait_exit(self) -> int:
        assert self.process is not None
        code = await self.process.wait()
        self.exits.append(code)
        return code

    async def stop(self) -> None:
        """SIGTERM: finish the units in flight, flush the outbox, say offline."""
        if self.process is not None:
            was_running = self.process.running
            code = await self.process.stop(timeout_s=15.0)
            if was_running:
                self.exits.append(code)
            self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running

    def status(self) -> AgentStatus | None:
        """The status file as last written, if it is this process's."""
        found = read_status(status_path(self.checkpoint.state_path))
        if found is None or self.process is None or found.pid != self.process.pid:
            return None
        return found

    def outbox(self) -> OutboxSnapshot | None:
        try:
            return read_outbox(self.checkpoint.outbox.path)
        except Exception:  # sqlite3.Error or OSError: not created yet, or mid-write
            return None

    def ready_problem(self, *, work_order: str | None) -> str | None:
        """Why the agent is not yet watching the line as it should (None: it is)."""
        if not self.running:
            return "not running"
        status = self.status()
        if status is None or not status.running:
            return "starting"
        down = [f"{link.name} ({link.kind})" for link in status.links if link.state != "up"]
        if down:
            return "links down: " + ", ".join(down)
        tasks = [t.name for t in status.tasks if not t.up]
        if tasks:
            return "tasks down: " + ", ".join(tasks)
        if work_order is not None and status.work_order != work_order:
            return f"waiting for work order {work_order}"
        return None

    async def wait_ready(self, *, work_order: str | None, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while (problem := self.ready_problem(work_order=work_order)) is not None:
            if self.process is not None and not self.process.running:
                raise DemoError(
                    f"the agent of {self.name} exited with code"
                    f" {self.process.process.returncode}:\n{self.process.tail()}"
                )
            if loop.time() > deadline:
                tail = self.process.tail() if self.process is not None else ""
                raise DemoError(
                    f"the agent of {self.name} was not ready within {timeout_s} s ({problem})"
                    f":\n{tail}"
                )
            await asyncio.sleep(0.1)
