"""Scanner adapter against the simulated scanner over real pty pairs and TCP sockets."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from edge.adapters.scanner import SerialScanner
from edge.reads import CodeRead
from edge.sim.scanner import SimScanner

FAST = {
    "reconnect_backoff_min_s": 0.02,
    "reconnect_backoff_max_s": 0.2,
    "read_timeout_s": 0.3,
}


def scanner_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("scanner-")]


@pytest.fixture(autouse=True)
def no_scanner_thread_left() -> Iterator[None]:
    yield
    assert scanner_threads() == []


@pytest.fixture(params=["pty", "tcp"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make_sim(transport: str, **options: Any) -> SimScanner:
    if transport == "pty":
        return SimScanner.over_pty(**options)
    return SimScanner.over_tcp(**options)


@pytest.fixture
async def sim(transport: str) -> AsyncIterator[SimScanner]:
    async with make_sim(transport, symbology_id="]d2") as scanner:
        yield scanner


def make_scanner(url: str, **options: Any) -> SerialScanner:
    return SerialScanner(name="front", port=url, **{**FAST, **options})


async def connected(scanner: SerialScanner, sim: SimScanner) -> None:
    """Both ends ready: the adapter's port is open and (TCP) the server saw the client."""
    await scanner.wait_up(timeout_s=3.0)
    if sim.url.startswith("socket://"):
        await sim.wait_for_clients(1, timeout_s=3.0)


async def next_read(reads: AsyncIterator[CodeRead], *, timeout_s: float = 3.0) -> CodeRead:
    return await asyncio.wait_for(anext(reads), timeout_s)


async def eventually(check: Callable[[], bool], *, timeout_s: float = 3.0) -> None:
    # Polls: link state and counters have no event of their own to wait on.
    async with asyncio.timeout(timeout_s):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.005)
