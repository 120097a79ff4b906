"""The PLC adapter against a real pymodbus TCP server running the conveyor model."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from edge.adapters.plc import ModbusPlc
from edge.adapters.plc_codec import RegisterMapError, RegisterSpec
from edge.adapters.plc_types import (
    HeartbeatSpec,
    PlcLinkError,
    PlcRefusedError,
    PollGroup,
    TriggerEdge,
    TriggerSpec,
)
from edge.sim.plc import SimPlc
from edge.sim.units import LineClock

PlcFactory = Callable[..., ModbusPlc]
"""The `make_plc` fixture of conftest.py."""


async def test_read_decodes_the_map_into_named_values_with_their_time(plc: ModbusPlc) -> None:
    before = time.monotonic()
    samples = await plc.read_many(["seal_temp", "seal_pressure", "dwell_time", "line_running"])
    temp = samples["seal_temp"]
    assert temp.unit == "°C"
    assert temp.value == pytest.approx(180.0, abs=2.5)
    assert samples["seal_pressure"].value == pytest.approx(4.0, abs=0.2)
    assert samples["seal_pressure"].unit == "bar"
    assert samples["dwell_time"].value == pytest.approx(800.0, abs=15)
    assert samples["line_running"].value is True
    assert before <= temp.monotonic_s <= time.monotonic()
    assert plc.latest("seal_temp") == temp


async def test_poll_groups_keep_fresh_values_at_their_own_periods(
    sim: SimPlc, make_plc: PlcFactory
) -> None:
    plc = make_plc(
        port=sim.port,
        registers=sim.layout.register_map(),
        poll_groups=[
            PollGroup(name="fast", period_ms=10, registers=("seal_temp", "seal_pressure")),
            PollGroup(name="slow", period_ms=200, registers=("dwell_time",)),
        ],
    )
    await plc.start()
    assert await plc.wait_up(timeout_s=2.0)
    await asyncio.sleep(0.12)
    first = plc.latest("seal_temp")
    assert first is not None and first.age_s() < 0.05
    await asyncio.sleep(0.05)
    second = plc.latest("seal_temp")
    assert second is not None and second.monotonic_s > first.monotonic_s
    assert set(plc.snapshot(["seal_temp", "dwell_time", "units_seen"])) == {
        "seal_temp",
        "dwell_time",
    }
    slow = plc.latest("dwell_time")
    assert slow is not None and slow.monotonic_s < second.monotonic_s


async def test_trigger_edges_match_the_units_and_their_arrival_times(
    sim: SimPlc, make_plc: PlcFactory
) -> None:
    plc = make_plc(
        port=sim.port,
        registers=sim.layout.register_map(),
        trigger=TriggerSpec(register="photo_eye", edge="both", period_ms=2),
    )
    edges = plc.edges()
    await plc.start()
    assert await plc.wait_up(timeout_s=5.0)
    # The line starts once the adapter watches it: on a loaded machine the connection can take
    # longer than the first unit's lead.
    sim.clock = LineClock()
    got: list[TriggerEdge] = []
    async with asyncio.timeout(3):
        while len(got) < 6:
            got.append(await edges.get())
    assert [e.rising for e in got] == [True, False] * 3
    assert [e.seq for e in got] == [1, 2, 3, 4, 5, 6]
    for n, rise in enumerate(got[0::2]):
        arrival = sim.arrival_monotonic_s(n)
        # the photo-eye changed between the read that saw the old state and the one that saw
        # the new state (allowing the old answer's transit back)
        assert rise.previous_read_monotonic_s is not None
        assert rise.previous_read_monotonic_s - 0.005 <= arrival <= rise.monotonic_s
        assert rise.uncertainty_ms < 50


async def test_a_trigger_poll_asked_for_comes_at_once_not_at_the_next_period(
    sim: SimPlc, make_plc: PlcFactory
) -> None:
    plc = make_plc(
        port=sim.port,
        registers=sim.layout.register_map(),
        trigger=TriggerSpec(register="photo_eye", period_ms=60_000),
    )
    await plc.start()
    assert await plc.wait_up(timeout_s=5.0)
    # The adapter has no event to wait on: its samples are polled for.
    async with asyncio.timeout(5):
        while plc.trigger_polls < 1 or plc.latest("photo_eye") is None:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    first = plc.latest("photo_eye")
    assert first is not None
    asked_s = time.monotonic()
    plc.poll_trigger_soon()
    async with asyncio.timeout(10):  # the next periodic poll is a minute away
        while (latest := plc.latest("photo_eye")) is None or latest is first:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    assert latest.monotonic_s > asked_s
    assert plc.trigger_polls == 2


async def test_requests_answered_are_counted_on_both_sides(sim: SimPlc, plc: ModbusPlc) -> None:
    before = sim.requests
    await plc.read_many(["seal_temp", "seal_pressure", "dwell_time"])  # one block
    await plc.write("pass", True)  # the write and its read-back
    await plc.write("heartbeat", True, verify=False)
    assert plc.requests == 4
    assert sim.requests - before == 4


async def test_an_urgent_write_goes_before_polls_waiting_for_the_link(
    sim: SimPlc, plc: ModbusPlc
) -> None:
    polls = [asyncio.create_task(plc.read("seal_temp")) for _ in range(6)]
    await asyncio.sleep(0)  # the first poll has the link, the others wait
    write = asyncio.create_task(plc.write("pass", True, urgent=True))
    done_order: list[str] = []
    for task, name in [(write, "write"), *((t, "poll") for t in polls)]:
        task.add_done_callback(lambda _, name=name: done_order.append(name))
    await asyncio.gather(write, *polls)
    assert write.result().verified
    # Only the poll already under way went before it.
    assert done_order.index("write") <= 1, done_order


async def test_write_is_verified_by_reading_it_back(sim: SimPlc, plc: ModbusPlc) -> None:
    result = await plc.write("pass", True)
    assert result.verified and result.read_back is True and result.problem is None
    assert result.raw == (1,)
    decision = await plc.write("decision", 2)
    assert decision.verified and decision.read_back == 2
    assert [(w.name, w.value) for w in sim.writes] == [("pass", True), ("decision", 2)]
    assert (await plc.read("pass")).value is True


async def test_a_forced_output_fails_verification(sim: SimPlc, plc: ModbusPlc) -> None:
    sim.force_output("reject", False)
    result = await plc.write("reject", True)
    assert not result.verified
    assert result.read_back is False
    assert result.problem == "read back False, wrote True"


async def test_unverified_write_says_so(plc: ModbusPlc) -> None:
    result = await plc.write("heartbeat", True, verify=False)
    assert not result.verified and result.problem == "read-back skipped"


async def test_write_refuses_inputs_and_out_of_range_values_before_any_io(
    sim: SimPlc, plc: ModbusPlc
) -> None:
    with pytest.raises(RegisterMapError) as info:
        await plc.write("photo_eye", True)
    assert str(info.value) == (
        "discrete_input 0 (photo_eye): only coils and holding registers can be written"
    )
    with pytest.raises(RegisterMapError, match=r"^holding_register 10 \(decision\): value 70000"):
        await plc.write("decision", 70000)
    with pytest.raises(RegisterMapError, match=r"^write: no register named 'nope' in the map"):
        await plc.write("nope", 1)
    assert sim.writes == []


async def test_an_address_the_plc_lacks_is_refused_with_the_modbus_exception(
    sim: SimPlc, make_plc: PlcFactory
) -> None:
    missing = RegisterSpec(name="nowhere", table="holding_register", address=500)
    plc = make_plc(port=sim.port, registers=[missing])
    await plc.start()
    assert await plc.wait_up(timeout_s=2.0)
    with pytest.raises(PlcRefusedError) as info:
        await plc.read("nowhere")
    assert str(info.value) == (
        f"PLC 127.0.0.1:{sim.port}, reading holding_register 500 (nowhere): "
        "PLC refused: illegal data address (code 2)"
    )
    assert info.value.exception_code == 2
    assert plc.link.is_up


async def test_heartbeat_toggles_and_the_plc_sees_the_agent_alive(
    sim: SimPlc, plc: ModbusPlc, make_plc: PlcFactory
) -> None:
    assert (await plc.read("agent_alive")).value is False
    beating = make_plc(
        port=sim.port,
        registers=sim.layout.register_map(),
        heartbeat=HeartbeatSpec(register="heartbeat", period_ms=30),
    )
    await beating.start()
    await asyncio.sleep(0.25)
    beats = [w.value for w in sim.writes if w.name == "heartbeat"]
    assert len(beats) >= 5
    assert beats[:5] == [True, False, True, False, True]
    assert (await plc.read("agent_alive")).value is True


async def test_stop_output_stops_the_conveyor_until_cleared(sim: SimPlc, plc: ModbusPlc) -> None:
    assert (await plc.write("stop", True)).verified
    assert (await plc.read("line_running")).value is False
    held = sim.clock.now_s()
    await asyncio.sleep(0.05)
    assert sim.clock.now_s() == pytest.approx(held, abs=1e-3)
    assert (await plc.write("stop", False)).verified
    assert (await plc.read("line_running")).value is True


async def test_edges_need_a_trigger(plc: ModbusPlc) -> None:
    with pytest.raises(RegisterMapError, match=r"no trigger configured, so no edges$"):
        plc.edges()


async def test_a_plc_that_is_not_there_leaves_the_link_down_and_reads_fail_fast(
    make_plc: PlcFactory, unused_tcp_port: int
) -> None:
    plc = make_plc(
        port=unused_tcp_port,
        registers=[RegisterSpec(name="t", table="holding_register", address=0)],
    )
    await plc.start()
    assert not await plc.wait_up(timeout_s=0.3)
    assert plc.link.status == "down"
    assert plc.link.last_error is not None
    assert plc.link.last_error.startswith(f"cannot connect to 127.0.0.1:{unused_tcp_port}")
    started = time.monotonic()
    with pytest.raises(
        PlcLinkError,
        match=rf"^PLC 127.0.0.1:{unused_tcp_port}, reading "
        r"holding_register 0 \(t\): link down since \d\d:\d\d:\d\d: cannot",
    ):
        await plc.read("t")
    assert time.monotonic() - started < 0.05


async def test_a_register_can_be_the_trigger_non_zero_being_on(
    sim: SimPlc, make_plc: PlcFactory
) -> None:
    plc = make_plc(
        port=sim.port,
        registers=sim.layout.register_map(),
        trigger=TriggerSpec(register="decision", edge="rising", period_ms=2),
    )
    edges = plc.edges()
    await plc.start()
    assert await plc.wait_up(timeout_s=2.0)
    await asyncio.sleep(0.02)
    await plc.write("decision", 7)
    async with asyncio.timeout(1):
        edge = await edges.get()
    assert (edge.name, edge.rising, edge.seq) == ("decision", True, 1)


async def test_after_close_the_link_is_down_and_reads_fail(plc: ModbusPlc) -> None:
    await plc.close()
    assert plc.link.status == "down" and plc.link.last_error == "closed"
    assert not await plc.wait_up(timeout_s=0.05)
    with pytest.raises(PlcLinkError, match=r"link down since \d\d:\d\d:\d\d: closed$"):
        await plc.read("seal_temp")
