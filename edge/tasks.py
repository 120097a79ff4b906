"""Stopping asyncio tasks reliably."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)


async def stop_tasks(tasks: Iterable[asyncio.Task[object]], *, owner: str) -> None:
    """Cancel `tasks` and wait until every one has ended.

    Python 3.11's `asyncio.wait_for` (used inside pymodbus and paho helpers) can
    swallow a cancellation that races with its inner future completing; the task
    then runs on, and a single cancel-then-await hangs forever (seen here under
    load). So cancel again until each task is done.
    """
    pending = set(tasks)
    ended = list(pending)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.5)
    for task in ended:
        if not task.cancelled() and task.exception() is not None:
            log.warning("%s: task %s ended with %r", owner, task.get_name(), task.exception())
