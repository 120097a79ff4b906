"""The agent under systemd (Type=notify, WatchdogSec): READY=1 once it watches the line,
WATCHDOG=1 while it is healthy, STOPPING=1 when told to stop; a real AF_UNIX socket plays
systemd."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from checkpoint_plant import MakePlant, make_line, running_agent


async def test_the_agent_notifies_ready_watchdog_and_stopping(
    make_plant: MakePlant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify")
    listener.bind(path)
    listener.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "100000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    plant = await make_plant(make_line())
    messages: list[str] = []

    def receive() -> None:
        messages.append(listener.recv(4096).decode())

    # Read as systemd does, as messages come: its queue holds only a few (max_dgram_qlen).
    asyncio.get_running_loop().add_reader(listener.fileno(), receive)
    try:
        async with running_agent(plant, status_period_s=0.1):
            await asyncio.sleep(0.4)
        await asyncio.sleep(0.05)
    finally:
        asyncio.get_running_loop().remove_reader(listener.fileno())
        listener.close()

    assert messages[0] == "READY=1\nSTATUS=sealing: watching the line"
    assert messages.count("WATCHDOG=1") >= 4
    assert any(m.startswith("STATUS=0 units (0 passed, 0 held)") for m in messages), messages
    # Watchdog pings may go on while the agent drains after STOPPING=1 (systemd still
    # watches a stopping service); nothing but pings and status may follow it.
    stopping = messages.index("STOPPING=1")
    after = messages[stopping + 1 :]
    assert all(m == "WATCHDOG=1" or m.startswith("STATUS=") for m in after), after


async def test_a_notify_socket_nobody_reads_does_not_stall_the_agent(
    make_plant: MakePlant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify")
    listener.bind(path)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "20000")
    plant = await make_plant(make_line(units=4))
    try:
        async with running_agent(plant, status_period_s=0.05) as agent:
            await plant.run_line(units=4)
            assert agent.engine is not None and agent.engine.counters.passed == 4
        assert plant.outcomes(4) == ["pass"] * 4
    finally:
        listener.close()
