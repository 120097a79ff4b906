"""The PLC link going wrong: a restart mid-poll, a PLC that never answers, stale answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from edge.adapters.plc import ModbusPlc
from edge.adapters.plc_codec import RegisterSpec
from edge.adapters.plc_types import (
    PlcDesyncError,
    PlcLinkError,
    PlcTimeoutError,
    PollGroup,
    TriggerSpec,
)
from edge.sim.plc import SimPlc
from edge.sim.plc_faults import DesyncPeer, SilentPeer

PlcFactory = Callable[..., ModbusPlc]
"""The `make_plc` fixture of conftest.py."""


VALUE = [RegisterSpec(name="v", table="holding_register", address=0)]


async def _until(condition: Callable[[], bool], *, timeout_s: float) -> None:
    """Wait for a state the adapter exposes without an event (link status, counters)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"not true within {timeout_s} s")


async def test_plc_restarted_mid_poll_link_goes_down_then_up(
    sim: SimPlc, make_plc: PlcFactory
) -> None:
    plc = make_plc(
        port=sim.port,
        registers=sim.layout.register_map(),
        poll_groups=[PollGroup(name="process", period_ms=5, registers=("seal_temp",))],
        trigger=TriggerSpec(register="photo_eye", period_ms=2),
        reconnect_min_s=0.02,
        reconnect_max_s=0.1,
    )
    await plc.start()
    assert await plc.wait_up(timeout_s=2.0)
    await asyncio.sleep(0.05)

    await sim.stop()
    await _until(lambda: plc.link.status == "down", timeout_s=1.0)
    with pytest.raises(PlcLinkError) as info:
        await plc.read("seal_temp")
    assert str(info.value).startswith(
        f"PLC 127.0.0.1:{sim.port}, reading holding_register 0 (seal_temp): link down since "
    )
    stale = plc.latest("seal_temp")
    assert stale is not None

    await asyncio.sleep(0.1)
    await sim.start()
    assert await plc.wait_up(timeout_s=2.0)
    await _until(
        lambda: (s := plc.latest("seal_temp")) is not None and s.monotonic_s > stale.monotonic_s,
        timeout_s=1.0,
    )
    assert plc.reconnects >= 1
    assert plc.link.is_up and plc.link.last_error is None
    assert all(not t.done() for t in plc._tasks)


async def test_a_plc_that_never_answers_fails_the_read_within_the_timeout(
    make_plc: PlcFactory,
) -> None:
    async with SilentPeer() as peer:
        plc = make_plc(port=peer.port, registers=VALUE, timeout_s=0.1, reconnect_min_s=0.05)
        await plc.start()
        assert await plc.wait_up(timeout_s=1.0)
        started = time.monotonic()
        with pytest.raises(PlcTimeoutError) as info:
            await plc.read("v")
        elapsed = time.monotonic() - started
        assert str(info.value) == (
            f"PLC 127.0.0.1:{peer.port}, reading holding_register 0 (v): no answer within 0.1 s"
        )
        assert 0.09 <= elapsed < 0.3
        assert plc.link.status == "down"
        assert plc.link.last_error == "no answer within 0.1 s"
        # it keeps trying, with backoff, since the connection never answered
        await _until(lambda: peer.connections >= 2, timeout_s=1.0)


async def test_a_stale_answer_is_refused_at_once_and_the_link_reconnects(
    make_plc: PlcFactory,
) -> None:
    async with DesyncPeer(registers={0: 1234}, mode="wrong_tid") as peer:
        plc = make_plc(port=peer.port, registers=VALUE, timeout_s=1.0, reconnect_min_s=0.02)
        await plc.start()
        assert await plc.wait_up(timeout_s=1.0)
        started = time.monotonic()
        with pytest.raises(PlcDesyncError) as info:
            await plc.read("v")
        assert time.monotonic() - started < 0.5  # not the 1 s timeout
        assert str(info.value) == (
            f"PLC 127.0.0.1:{peer.port}, reading holding_register 0 (v): stale or foreign "
            "answer (expected transaction 1, got 1001); reconnecting"
        )
        assert plc.desyncs == 1
        assert await plc.wait_up(timeout_s=1.0)
        assert (await plc.read("v")).value == 1234
        assert peer.connections == 2


async def test_a_late_answer_never_lands_on_the_next_request(make_plc: PlcFactory) -> None:
    async with DesyncPeer(registers={0: 1}, mode="late", late_s=0.25) as peer:
        plc = make_plc(port=peer.port, registers=VALUE, timeout_s=0.1, reconnect_min_s=0.02)
        await plc.start()
        assert await plc.wait_up(timeout_s=1.0)
        with pytest.raises(PlcTimeoutError):
            await plc.read("v")
        peer.registers[0] = 2
        assert await plc.wait_up(timeout_s=1.0)
        assert (await plc.read("v")).value == 2
        await asyncio.sleep(0.3)  # the late answer to the first read is sent now
        assert (await plc.read("v")).value == 2
        assert plc.desyncs == 0
        assert plc.link.is_up
        assert peer.connections == 2
