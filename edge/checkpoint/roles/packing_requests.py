"""Asking the packing agent from the command line: take a unit out of its case, close the
open case or pallet. The request is written into the packing store; the running agent
does it within a fraction of a second (records first), and the CLI waits for its answer.
An agent that is not running does it when it starts.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from edge.checkpoint.roles.packing_store import AnyRequest, PackingStore, RequestResult
from edge.checkpoint.roles.sqlite_store import role_store_path
from protocols.config import Checkpoint


class PackingRequestError(ValueError):
    """A request the packing checkpoint cannot take."""


def packing_store_file(checkpoint: Checkpoint) -> Path:
    if checkpoint.role != "packing":
        raise PackingRequestError(
            f"--checkpoint: {checkpoint.id} is a {checkpoint.role} checkpoint, not packing"
        )
    return role_store_path(checkpoint.state_path, "packing")


async def ask_packing(
    checkpoint: Checkpoint, request: AnyRequest, *, wait_s: float
) -> RequestResult:
    """Queue `request` and wait up to `wait_s` for the agent's answer (`done` False if it
    has not answered by then)."""
    store = await PackingStore.open(packing_store_file(checkpoint))
    try:
        n = await store.request(request)
        deadline_s = time.monotonic() + wait_s
        while True:
            result = await store.result(n)
            assert result is not None
            if result.done or time.monotonic() >= deadline_s:
                return result
            await asyncio.sleep(0.05)
    finally:
        await store.close()
