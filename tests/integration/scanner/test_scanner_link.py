"""Link state over real ports: unplugged and back, absent at start, stop, exclusive access."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

from edge.adapters.scanner import ScannerError, SerialScanner, enable_tcp_keepalive
from edge.sim.scanner import SimScanner

from .conftest import connected, eventually, make_scanner, next_read, scanner_threads


async def test_scanner_unplugged_and_back(sim: SimScanner) -> None:
    async with make_scanner(sim.url) as scanner:
        await connected(scanner, sim)
        reads = scanner.reads()
        await sim.emit("BEFORE")
        assert (await next_read(reads)).text == "BEFORE"
        up_since = scanner.link.since

        await sim.unplug()
        await eventually(lambda: scanner.link.status == "down")
        assert scanner.link.last_error is not None
        assert scanner.link.last_error.startswith(f"Scanner 'front' ({sim.url}): link lost: ")
        assert scanner.link.since > up_since
        # While away, each attempt to reopen fails and says so.
        await eventually(lambda: "cannot open the port" in (scanner.link.last_error or ""))
        assert scanner.link.status == "down"

        await sim.replug()
        await connected(scanner, sim)
        assert scanner.link.is_up
        assert scanner.link.last_error is None
        await sim.emit("AFTER")
        assert (await next_read(reads)).text == "AFTER"
    assert (scanner.stats.connects, scanner.stats.disconnects) == (2, 1)


async def test_tcp_error_names_the_lost_socket() -> None:
    async with SimScanner.over_tcp() as sim, make_scanner(sim.url) as scanner:
        await connected(scanner, sim)
        await sim.unplug()
        await eventually(lambda: scanner.link.status == "down")
        assert scanner.link.last_error == (
            f"Scanner 'front' ({sim.url}): link lost: read failed: socket disconnected"
        )


async def test_line_cut_by_an_unplug_is_a_problem_read(sim: SimScanner) -> None:
    async with make_scanner(sim.url, read_timeout_s=5.0) as scanner:
        await connected(scanner, sim)
        reads = scanner.reads()
        await sim.emit_raw(b"]d2010950")
        await eventually(lambda: scanner.stats.bytes_received == 9)
        await sim.unplug()
        read = await next_read(reads)
    assert read.problem == (
        "Line b']d2010950' is unfinished: the link was lost before the terminator b'\\r'"
    )


async def test_scanner_absent_at_start_comes_up_when_plugged_in(tmp_path: Path) -> None:
    link = tmp_path / "by-id" / "usb-Scanner-if00"
    link.parent.mkdir()
    async with make_scanner(str(link)) as scanner:
        await eventually(lambda: scanner.link.status == "down")
        assert scanner.link.last_error == (
            f"Scanner 'front' ({link}): cannot open the port: [Errno 2] could not open port "
            f"{link}: [Errno 2] No such file or directory: '{link}'"
        )
        with pytest.raises(ScannerError) as info:
            await scanner.wait_up(timeout_s=0.05)
        assert str(info.value) == (
            f"Scanner 'front' ({link}): link not up within 0.05 s (last error: "
            f"{scanner.link.last_error})"
        )
        assert (info.value.name, info.value.port) == ("front", str(link))
        async with SimScanner.over_pty(link_path=link) as sim:
            await connected(scanner, sim)
            await sim.emit("AB")
            assert (await next_read(scanner.reads())).text == "AB"


async def test_tcp_reader_absent_at_start_comes_up_when_it_listens() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with make_scanner(f"socket://127.0.0.1:{port}") as scanner:
        await eventually(lambda: scanner.link.status == "down")
        assert (scanner.link.last_error or "").startswith(
            f"Scanner 'front' (socket://127.0.0.1:{port}): cannot open the port: Could not open "
            f"port socket://127.0.0.1:{port}: [Errno 111] Connection refused"
        )
        async with SimScanner.over_tcp(port=port) as sim:
            await connected(scanner, sim)
            assert scanner.link.is_up


async def test_stop_is_prompt_and_leaves_no_thread(sim: SimScanner) -> None:
    scanner = make_scanner(sim.url)
    await scanner.start()
    await connected(scanner, sim)
    assert [t.name for t in scanner_threads()] == ["scanner-front"]
    reader = asyncio.create_task(anext(scanner.reads(), None))
    await asyncio.sleep(0.01)
    started = time.monotonic()
    await scanner.stop()
    took_s = time.monotonic() - started
    assert await asyncio.wait_for(reader, 1.0) is None
    assert scanner_threads() == []
    # pyserial sleeps 0.3 s when it closes a socket:// port; a pty closes at once.
    assert took_s < (0.6 if sim.url.startswith("socket://") else 0.1)


async def test_stop_during_reconnect_backoff_is_prompt(tmp_path: Path) -> None:
    scanner = make_scanner(
        str(tmp_path / "absent"), reconnect_backoff_min_s=30.0, reconnect_backoff_max_s=30.0
    )
    await scanner.start()
    await eventually(lambda: scanner.link.status == "down")
    started = time.monotonic()
    await scanner.stop()
    assert time.monotonic() - started < 0.1
    assert scanner_threads() == []


async def test_second_agent_on_the_same_serial_port_is_refused() -> None:
    async with SimScanner.over_pty() as sim, make_scanner(sim.url) as first:
        await first.wait_up(timeout_s=3.0)
        async with SerialScanner(name="rear", port=sim.url) as second:
            await eventually(lambda: second.link.status == "down")
            assert (second.link.last_error or "").startswith(
                f"Scanner 'rear' ({sim.url}): cannot open the port: [Errno 11] Could not "
                f"exclusively lock port {sim.url}"
            )


def test_tcp_keepalive_is_set_on_the_socket() -> None:
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname()) as client,
    ):
        enable_tcp_keepalive(client.fileno(), idle_s=10.0)
        assert client.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 10
        assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 3
        assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
