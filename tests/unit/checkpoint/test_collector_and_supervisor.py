"""The asyncio side of read windows (when `collect` returns) and supervised tasks (restart with
backoff, health while down), without I/O."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import UTC, datetime

import pytest

from edge.checkpoint.collector import ReadCollector
from edge.checkpoint.supervisor import Supervisor
from edge.checkpoint.window import ReadWindows, Window
from edge.reads import CodeRead


def read(text: str = "A", *, source: str = "front", at_s: float | None = None) -> CodeRead:
    return CodeRead(
        text=text,
        symbology_id=None,
        source_kind="scanner",
        source_name=source,
        read_at=datetime.now(UTC),
        monotonic_s=time.monotonic() if at_s is None else at_s,
    )


def collector(
    *sources: str, known_until: list[float] | None = None, settle_s: float = 0.0
) -> ReadCollector:
    known = known_until if known_until is not None else [math.inf]
    return ReadCollector(
        ReadWindows(sources=sources or ("front",), read_window_s=0.08, deadline_s=0.1),
        triggers_known_until=lambda: known[0],
        settle_poll_s=0.001,
        reads_trigger=lambda r: settle_s == 0,
        settle_s=settle_s,
    )


async def test_collect_returns_as_soon_as_every_source_has_read() -> None:
    c = collector()
    window = c.windows.open(trigger_s=time.monotonic())
    asyncio.get_running_loop().call_later(0.01, c.add, read("A"))
    started = time.monotonic()
    reads = await c.collect(window)
    assert [r.text for r in reads] == ["A"]
    assert time.monotonic() - started < 0.05


async def test_collect_waits_out_the_window_for_a_missing_source() -> None:
    c = collector("front", "back")
    window = c.windows.open(trigger_s=time.monotonic())
    c.add(read("A", source="front"))
    reads = await c.collect(window)
    assert [r.source_name for r in reads] == ["front"]
    assert time.monotonic() >= window.end_s


async def test_collect_waits_for_the_trigger_poll_that_settles_the_read() -> None:
    known = [time.monotonic()]
    c = collector(known_until=known)
    window = c.windows.open(trigger_s=time.monotonic())
    c.add(read("A"))
    collecting = asyncio.ensure_future(c.collect(window))
    await asyncio.sleep(0.02)
    assert not collecting.done()
    known[0] = time.monotonic()
    assert [r.text for r in await asyncio.wait_for(collecting, 0.05)] == ["A"]


async def test_each_read_asks_for_the_trigger_poll_that_settles_it() -> None:
    asked: list[int] = []
    windows = ReadWindows(sources=("front",), read_window_s=0.08, deadline_s=0.1)
    c = ReadCollector(
        windows,
        triggers_known_until=lambda: -math.inf,
        settle_poll_s=0.001,
        reads_trigger=lambda r: False,
        settle_s=0.05,
        poll_triggers=lambda: asked.append(len(windows.unclaimed)),
    )
    c.add(read("A"))
    c.add(read("B"))
    # Asked as each read arrives, before the windows take it.
    assert asked == [0, 1]


async def test_where_reads_trigger_a_read_opens_its_window_at_once() -> None:
    c = collector()
    opened: list[Window] = []
    c.on_open = opened.append
    c.add(read("A"))
    assert [w.by_read for w in opened] == [True]
    assert [r.text for r in await c.collect(opened[0])] == ["A"]


async def test_a_crashed_task_is_restarted_and_is_down_meanwhile() -> None:
    runs: list[float] = []

    async def flaky() -> None:
        runs.append(time.monotonic())
        if len(runs) < 3:
            raise RuntimeError(f"crash {len(runs)}")
        await asyncio.Event().wait()

    supervisor = Supervisor(backoff_min_s=0.02, backoff_max_s=0.05)
    supervisor.start("scanner front", flaky, critical=True)
    await asyncio.sleep(0.005)
    assert supervisor.down() == ("task scanner front",)
    assert not supervisor.healthy()
    async with asyncio.timeout(1):
        while len(runs) < 3:  # noqa: ASYNC110 - the supervisor has no event to wait on
            await asyncio.sleep(0.005)
    await asyncio.sleep(0)
    (health,) = supervisor.health()
    assert (health.up, health.restarts, health.last_error) == (
        True,
        2,
        "RuntimeError: crash 2",
    )
    assert supervisor.healthy()
    # The backoff: at least 0.02 s, then at least 0.04 s (less 20 % jitter).
    assert runs[1] - runs[0] >= 0.016 and runs[2] - runs[1] >= 0.032
    await supervisor.stop()
    assert supervisor.health() == []


async def test_a_task_that_ends_by_itself_is_restarted_too() -> None:
    ended = asyncio.Event()
    runs = 0

    async def quits() -> None:
        nonlocal runs
        runs += 1
        if runs == 2:
            ended.set()
            await asyncio.Event().wait()

    supervisor = Supervisor(backoff_min_s=0.01, backoff_max_s=0.01)
    supervisor.start("status", quits, critical=False)
    await asyncio.wait_for(ended.wait(), 1)
    (health,) = supervisor.health()
    assert health.last_error == "stopped by itself"
    assert supervisor.healthy()  # not critical
    await supervisor.stop("status")


def test_backoff_bounds_are_checked() -> None:
    with pytest.raises(ValueError) as error:
        Supervisor(backoff_min_s=1.0, backoff_max_s=0.5)
    assert str(error.value) == (
        "Supervisor backoff: expected 0 < backoff_min_s <= backoff_max_s, got 1.0 and 0.5"
    )
