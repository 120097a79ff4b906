"""Turns on the PLC link: one request at a time, a unit's output before waiting polls."""

from __future__ import annotations

import asyncio

import pytest

from edge.adapters.plc_turns import LinkTurns


async def _hold_turn(
    turns: LinkTurns, name: str, *, urgent: bool, order: list[str], release: asyncio.Event
) -> None:
    async with turns.take(urgent=urgent):
        order.append(name)
        await release.wait()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_urgent_waiters_go_before_polls_that_waited_longer() -> None:
    turns = LinkTurns()
    order: list[str] = []
    gates = {name: asyncio.Event() for name in ("poll-1", "poll-2", "poll-3", "pass", "reject")}
    tasks = [
        asyncio.create_task(
            _hold_turn(turns, name, urgent=name in ("pass", "reject"), order=order, release=gate)
        )
        for name, gate in gates.items()
    ]
    await _settle()
    assert order == ["poll-1"]  # the link was free: it took it at once
    assert turns.waiting == 4
    for name in ("poll-1", "pass", "reject", "poll-2", "poll-3"):
        gates[name].set()
        await _settle()
    await asyncio.gather(*tasks)
    assert order == ["poll-1", "pass", "reject", "poll-2", "poll-3"]
    assert turns.waited_urgent == 2
    assert turns.waiting == 0


async def test_a_cancelled_waiter_gives_up_its_place_and_the_link_stays_usable() -> None:
    turns = LinkTurns()
    order: list[str] = []
    first, second, third = asyncio.Event(), asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(_hold_turn(turns, "a", urgent=False, order=order, release=first))
    await _settle()
    quitter = asyncio.create_task(_hold_turn(turns, "b", urgent=True, order=order, release=second))
    waiter = asyncio.create_task(_hold_turn(turns, "c", urgent=False, order=order, release=third))
    await _settle()
    quitter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await quitter
    first.set()
    third.set()
    await asyncio.gather(holder, waiter)
    assert order == ["a", "c"]
    async with asyncio.timeout(1):
        async with turns.take(urgent=False):
            pass  # free again


async def test_a_turn_handed_to_a_waiter_being_cancelled_passes_on() -> None:
    turns = LinkTurns()
    order: list[str] = []
    gate = asyncio.Event()
    gate.set()
    held = turns.take(urgent=False)
    await held.__aenter__()
    quitter = asyncio.create_task(_hold_turn(turns, "b", urgent=True, order=order, release=gate))
    waiter = asyncio.create_task(_hold_turn(turns, "c", urgent=False, order=order, release=gate))
    await _settle()
    # Leaving hands the turn to "b", which is cancelled before it gets to run.
    await held.__aexit__(None, None, None)
    quitter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await quitter
    async with asyncio.timeout(1):
        await waiter
    assert order == ["c"]
    assert turns.waiting == 0


async def test_an_error_inside_a_turn_releases_it() -> None:
    turns = LinkTurns()
    with pytest.raises(RuntimeError):
        async with turns.take(urgent=True):
            raise RuntimeError("request failed")
    async with asyncio.timeout(1):
        async with turns.take(urgent=False):
            pass
