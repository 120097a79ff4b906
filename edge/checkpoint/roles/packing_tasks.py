"""The packing role's background work: the CLI's requests, the PLC's close-case signal, and
pruning the store."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from edge.adapters.plc_types import PlcError
from edge.checkpoint.roles.packing_store import AnyRequest, CloseCase, ClosePallet
from protocols.config.plc import PlcInput

if TYPE_CHECKING:
    from edge.adapters.plc import ModbusPlc
    from edge.checkpoint.roles.packing import PackingRole

log = logging.getLogger("edge.checkpoint.packing")

CLOSE_CASE = "close_case"
"""The close-case input's name in the PLC adapter's register map."""


async def run_requests(role: PackingRole, *, period_s: float) -> None:
    """Requests queued by the CLI in the store, done in order; each is answered, a failed
    one too."""
    while True:
        for pending in await role.store.pending():
            try:
                ok, result = await _do(role, pending.request)
            except Exception as exc:
                log.exception("request %d failed", pending.n)
                ok, result = False, f"Not done: {exc}"
            log.info("request %d: %s", pending.n, result)
            await role.store.finish(pending.n, ok=ok, result=result)
        await asyncio.sleep(period_s)


async def _do(role: PackingRole, request: AnyRequest) -> tuple[bool, str]:
    if isinstance(request, CloseCase):
        return await role.close_case(cause="tracegate edge close-case")
    if isinstance(request, ClosePallet):
        return await role.close_pallet(cause="tracegate edge close-pallet")
    return await role.unpack(request)


async def run_prune(role: PackingRole, *, period_s: float) -> None:
    while True:
        await role.prune()
        await asyncio.sleep(period_s)


async def watch_close_signal(role: PackingRole, signal: PlcInput, plc: ModbusPlc) -> None:
    """Poll the close-case input; its configured edge closes the open case."""
    period_s = signal.poll_period_ms / 1000
    wanted = signal.edge == "rising"
    level: bool | None = None
    while True:
        try:
            sample = await plc.read(CLOSE_CASE)
        except PlcError:
            # A press while the link is down is not seen: the case stays open.
            level = None
            await asyncio.sleep(max(period_s, 0.2))
            continue
        now = bool(sample.value)
        if level is not None and now != level and now == wanted:
            _, result = await role.close_case(cause="the PLC's close-case signal")
            log.info("close-case signal: %s", result)
        level = now
        await asyncio.sleep(period_s)
