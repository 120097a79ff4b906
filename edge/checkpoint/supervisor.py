"""Supervised tasks: a task that crashes is logged and restarted with backoff.

Each task is a coroutine meant to run until cancelled (it cleans up in `finally`). While a
critical task is down (crashed, waiting to restart) the agent is not healthy: the engine
holds every unit, naming the task, and the heartbeat stops so the PLC can stop the line.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger("edge.checkpoint.supervisor")

# A task that ran this long before failing was working: it restarts at the shortest backoff.
_STABLE_S = 10.0


@dataclass(slots=True, kw_only=True)
class TaskHealth:
    name: str
    critical: bool
    up: bool = False
    restarts: int = 0
    last_error: str | None = None
    last_error_at: dt.datetime | None = None


@dataclass(slots=True, kw_only=True)
class _Supervised:
    health: TaskHealth
    factory: Callable[[], Awaitable[None]]
    task: asyncio.Task[None] | None = None
    started_s: float = field(default_factory=time.monotonic)


class Supervisor:
    """Runs named tasks and restarts them when they fail."""

    def __init__(self, *, backoff_min_s: float = 0.1, backoff_max_s: float = 5.0) -> None:
        if not 0 < backoff_min_s <= backoff_max_s:
            raise ValueError(
                f"Supervisor backoff: expected 0 < backoff_min_s <= backoff_max_s, got "
                f"{backoff_min_s} and {backoff_max_s}"
            )
        self._min_s = backoff_min_s
        self._max_s = backoff_max_s
        self._tasks: dict[str, _Supervised] = {}

    def start(self, name: str, factory: Callable[[], Awaitable[None]], *, critical: bool) -> None:
        """Run `factory()` as task `name`, again after each failure."""
        if name in self._tasks:
            raise ValueError(f"Supervisor: a task named {name!r} is already running")
        supervised = _Supervised(health=TaskHealth(name=name, critical=critical), factory=factory)
        supervised.task = asyncio.create_task(self._keep(supervised), name=f"supervised:{name}")
        self._tasks[name] = supervised

    def health(self) -> list[TaskHealth]:
        return [s.health for s in self._tasks.values()]

    def down(self) -> tuple[str, ...]:
        """Critical tasks not running now."""
        return tuple(
            f"task {s.health.name}"
            for s in self._tasks.values()
            if s.health.critical and not s.health.up
        )

    def healthy(self) -> bool:
        return not self.down()

    async def stop(self, *names: str, timeout_s: float = 5.0) -> None:
        """Cancel the named tasks (all when none named, newest first) and wait up to
        `timeout_s` for each; one that does not end is named in the log and left behind."""
        chosen = list(names) or list(reversed(self._tasks))
        for name in chosen:
            supervised = self._tasks.pop(name, None)
            if supervised is None or supervised.task is None:
                continue
            supervised.task.cancel()
            done, _ = await asyncio.wait({supervised.task}, timeout=timeout_s)
            if not done:
                log.error("task %s did not stop within %g s", name, timeout_s)
            supervised.health.up = False

    async def _keep(self, supervised: _Supervised) -> None:
        health = supervised.health
        backoff_s = self._min_s
        while True:
            supervised.started_s = time.monotonic()
            health.up = True
            try:
                await supervised.factory()
                error = "stopped by itself"
            except asyncio.CancelledError:
                health.up = False
                raise
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.exception("task %s crashed", health.name)
            health.up = False
            health.restarts += 1
            health.last_error = error
            health.last_error_at = dt.datetime.now(dt.UTC)
            if time.monotonic() - supervised.started_s > _STABLE_S:
                backoff_s = self._min_s
            delay_s = backoff_s * random.uniform(0.8, 1.2)
            log.error(
                "task %s down (%s); restarting in %.2f s%s",
                health.name,
                error,
                delay_s,
                ", units are held meanwhile" if health.critical else "",
                extra={"task": health.name},
            )
            await asyncio.sleep(delay_s)
            backoff_s = min(backoff_s * 2, self._max_s)
