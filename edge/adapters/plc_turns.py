"""Whose turn it is on a Modbus connection: one request at a time, outputs before polls.

A Modbus TCP connection carries one request at a time (pymodbus' client serialises them, and
many PLCs answer only one outstanding request per connection). The trigger poll, the process
value polls, heartbeats, resets and a unit's pass or reject output all share it. With a plain
FIFO lock a unit's output could wait behind every poll queued before it; here an urgent
request (the output that decides a unit) takes the next turn, and polls keep their order
among themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from types import TracebackType


class LinkTurns:
    """A lock with two classes of waiters: urgent ones are served first, each class in
    arrival order. `async with turns.take(urgent=True): ...`"""

    def __init__(self) -> None:
        self._busy = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()
        self.waited_urgent = 0
        """Urgent requests that found the link busy (one request ahead of them at most)."""

    def take(self, *, urgent: bool) -> _Turn:
        return _Turn(self, urgent)

    @property
    def waiting(self) -> int:
        return sum(not f.done() for f in (*self._urgent, *self._normal))

    async def _acquire(self, urgent: bool) -> None:
        if not self._busy:
            self._busy = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._urgent if urgent else self._normal
        self.waited_urgent += urgent
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # The turn was handed over just as the caller was cancelled: pass it on.
                self._release()
            else:
                with contextlib.suppress(ValueError):
                    queue.remove(waiter)
            raise

    def _release(self) -> None:
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the turn passes on; the link stays busy
                    return
        self._busy = False


class _Turn:
    __slots__ = ("_turns", "_urgent")

    def __init__(self, turns: LinkTurns, urgent: bool) -> None:
        self._turns = turns
        self._urgent = urgent

    async def __aenter__(self) -> None:
        await self._turns._acquire(self._urgent)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._turns._release()
