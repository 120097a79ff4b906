"""Child processes of the demo: each with its log file, stopped by signal with a deadline.

Children run in sessions of their own, so the terminal's Ctrl-C reaches only the demo,
which then stops them in order (agents first, so they flush their outboxes to a broker
still up). Should the demo itself die, Linux sends each child SIGTERM (PR_SET_PDEATHSIG):
no agent, broker or service outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from tracegate.demo.errors import DemoError

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


INHERITED_NOT = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")
"""systemd's notify socket belongs to the demo's own unit, if any, not to its agents."""


def child_env() -> dict[str, str]:
    """This process's environment without `TRACEGATE_*` settings (a database or broker of
    the user's must not replace the demo's own) and without systemd's notify variables."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TRACEGATE_") and key not in INHERITED_NOT
    }


class ChildProcess:
    """One child: started with `start`, ended with `stop` (signal, then SIGKILL)."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, log: Path) -> None:
        self.name = name
        self.process = process
        self.log = log

    @classmethod
    async def start(
        cls,
        name: str,
        argv: Sequence[str],
        *,
        log: Path,
        env: dict[str, str] | None = None,
    ) -> ChildProcess:
        """Start `argv` with the demo's environment (`child_env`) plus `env`."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env={**child_env(), **(env or {})},
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        return cls(name, process, log)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def kill(self) -> None:
        """SIGKILL: no goodbye, no flush (what a power cut does to the agent)."""
        if self.running:
            self.process.kill()

    async def wait(self) -> int:
        return await self.process.wait()

    async def stop(self, signum: int = signal.SIGTERM, *, timeout_s: float = 10.0) -> int:
        """Send `signum`, wait up to `timeout_s`, then SIGKILL; the exit code."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)
            try:
                return await asyncio.wait_for(self.process.wait(), timeout_s)
            except TimeoutError:
                self.kill()
        return await self.process.wait()

    def tail(self, lines: int = 20) -> str:
        """The end of the child's log, for an error message."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


async def wait_for_port(
    port: int, *, timeout_s: float, process: ChildProcess | None = None, host: str = "127.0.0.1"
) -> None:
    """Wait until `host:port` accepts connections; fail early if `process` exits."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        if process is not None and not process.running:
            raise DemoError(
                f"{process.name} exited with code {process.process.returncode} before"
                f" listening on {host}:{port}:\n{process.tail()}"
            )
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            if loop.time() > deadline:
                raise DemoError(
                    f"nothing listened on {host}:{port} within {timeout_s} s"
                    + (f":\n{process.tail()}" if process is not None else "")
                ) from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return
