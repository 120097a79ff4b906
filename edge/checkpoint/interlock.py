"""The outputs through which decisions reach the line: pass and reject pulses, a latched
line stop, and a heartbeat the PLC's watchdog listens to. Every write is read back.

The heartbeat is the agent's own rather than the PLC adapter's (which writes without
read-back): it toggles only while the agent is healthy, so a crashed engine stops the
heartbeat and the PLC's watchdog stops the line even though the process still runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from edge.adapters.plc_codec import RegisterMapError, Value
from edge.adapters.plc_types import PlcError, PlcTooLateError, WriteResult
from edge.checkpoint.plc_map import output_name
from protocols.config.plc import InterlockConfig
from protocols.events import InterlockResult

log = logging.getLogger("edge.checkpoint")

Alarm = Callable[[str, str], None]
"""`alarm(code, message)`: something the line's people must hear about."""


class OutputPort(Protocol):
    """What the interlock needs of the PLC adapter."""

    async def write(
        self,
        name: str,
        value: Value,
        *,
        verify: bool = True,
        urgent: bool = False,
        not_after_s: float | None = None,
    ) -> WriteResult: ...


@dataclass(frozen=True, slots=True)
class OutputWrite:
    """One verified write of an interlock output."""

    record: InterlockResult
    """What goes into the unit.inspected event."""
    acked_monotonic_s: float | None
    """When the PLC acknowledged the write; None when it did not."""
    late: bool = False
    """Not sent: the deadline it was given had passed when the PLC link was free for it."""

    @property
    def ok(self) -> bool:
        return self.record.written and self.record.verified


class Interlock:
    """The checkpoint's interlock outputs on one PLC."""

    def __init__(self, plc: OutputPort, config: InterlockConfig, *, alarm: Alarm) -> None:
        self._plc = plc
        self._config = config
        self._alarm = alarm
        self._tables = {key: out.table for key, out in config.outputs().items()}
        self._locks = {key: asyncio.Lock() for key in self._tables}
        self._level = dict.fromkeys(self._tables, False)
        self._resets: dict[str, asyncio.Task[None]] = {}
        self.line_stop_requested: str | None = None
        """Why the line stop was last requested, or None."""
        self.heartbeat_ok: bool | None = None
        """Whether the last heartbeat write was verified; None before the first."""

    def has(self, key: str) -> bool:
        """Whether output `key` (`pass`, `reject`, `line_stop`, `heartbeat`) is configured."""
        return key in self._tables

    async def pulse(self, key: str, *, not_after_s: float | None = None) -> OutputWrite:
        """Set output `key` for `pulse_ms`, verified; the reset follows in the background.

        A pulse still set from the previous unit is reset first, so each unit gives the PLC
        an edge of its own. The unit's writes go before polls waiting for the PLC link; the
        reset does not (it has `pulse_ms` to happen). A pulse that cannot be sent by
        `not_after_s` (monotonic; the unit's decision deadline) is not sent at all: written
        later, the PLC would credit it to the next unit.
        """
        async with self._locks[key]:
            pending = self._resets.pop(key, None)
            if pending is not None:
                pending.cancel()
            if self._level[key]:
                await self._write(key, False, urgent=True)
            result = await self._write(key, True, urgent=True, not_after_s=not_after_s)
            if result.record.written:
                self._resets[key] = asyncio.create_task(
                    self._reset_later(key), name=f"interlock-reset-{key}"
                )
            return result

    async def request_line_stop(self, reason: str) -> OutputWrite | None:
        """Latch the line-stop output (the line's people restart the line) and raise an
        alarm; None without a line-stop output."""
        self.line_stop_requested = reason
        if not self.has("line_stop"):
            self._alarm(
                "line_stop_requested", f"Line stop needed, but none is configured: {reason}"
            )
            return None
        async with self._locks["line_stop"]:
            result = await self._write("line_stop", True)
        detail = "" if result.ok else f" (the line-stop output failed: {result.record.error})"
        self._alarm("line_stop_requested", f"Line stop requested: {reason}{detail}")
        return result

    async def run_heartbeat(self, *, healthy: Callable[[], bool]) -> None:
        """Toggle the heartbeat every `heartbeat_period_ms` while `healthy()`."""
        period_s = self._config.heartbeat_period_ms / 1000
        level = False
        while True:
            if healthy():
                level = not level
                async with self._locks["heartbeat"]:
                    result = await self._write("heartbeat", level)
                if result.ok != self.heartbeat_ok:
                    if result.ok:
                        log.info("heartbeat output verified")
                    elif self.heartbeat_ok:
                        log.warning("heartbeat output not verified: %s", result.record.error)
                    self.heartbeat_ok = result.ok
            await asyncio.sleep(period_s)

    async def close(self) -> None:
        """Finish the pending resets (an output left set would pass the next unit)."""
        resets = list(self._resets.values())
        self._resets.clear()
        for task in resets:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _reset_later(self, key: str) -> None:
        await asyncio.sleep(self._config.pulse_ms / 1000)
        async with self._locks[key]:
            if self._resets.get(key) is asyncio.current_task():
                del self._resets[key]
            result = await self._write(key, False)
        if not result.ok:
            self._alarm(
                "output_reset_failed",
                f"Interlock output '{key}' could not be reset: {result.record.error}",
            )
            if key == "pass":
                # A pass output left set lets the next units through unjudged.
                await self.request_line_stop(f"the pass output could not be reset ({key})")

    async def _write(
        self, key: str, on: bool, *, urgent: bool = False, not_after_s: float | None = None
    ) -> OutputWrite:
        value: Value = on if self._tables[key] == "coil" else int(on)
        try:
            written = await self._plc.write(
                output_name(key), value, verify=True, urgent=urgent, not_after_s=not_after_s
            )
        except (PlcError, RegisterMapError) as exc:
            return OutputWrite(
                InterlockResult(output=key, written=False, verified=False, error=str(exc)[:4096]),
                None,
                late=isinstance(exc, PlcTooLateError),
            )
        self._level[key] = on if written.verified else True
        problem = None if written.verified else (written.problem or "not verified")
        return OutputWrite(
            InterlockResult(output=key, written=True, verified=written.verified, error=problem),
            written.monotonic_s if written.monotonic_s else time.monotonic(),
        )
