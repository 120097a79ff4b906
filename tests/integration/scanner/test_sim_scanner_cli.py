"""`tracegate sim scanner` as a separate process, read by the adapter over TCP and a pty."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

from edge.adapters.framing import Framing
from edge.sim.units import SimLine

from .conftest import make_scanner, next_read

CLI = [sys.executable, "-m", "tracegate.cli", "sim", "scanner"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_cli_scanner_over_tcp_serves_its_texts() -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *CLI,
        *("--tcp", f"127.0.0.1:{port}", "--text", "AB", "--text", "C\x1dD", "--units", "3"),
        *("--interval-ms", "10", "--wait-clients", "1"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with make_scanner(f"socket://127.0.0.1:{port}") as scanner:
            await scanner.wait_up(timeout_s=30.0)
            reads = scanner.reads()
            got = [await next_read(reads, timeout_s=30.0) for _ in range(3)]
        out, err = await asyncio.wait_for(process.communicate(), 30.0)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    assert [(r.text, r.symbology_id) for r in got] == [
        ("AB", "]d2"),
        ("C\x1dD", "]d2"),
        ("AB", "]d2"),
    ]
    assert out.decode().splitlines() == [
        f"sim scanner: socket://127.0.0.1:{port}",
        "     1  unit      -  read       b']d2AB\\r'",
        "     2  unit      -  read       b']d2C<GS>D\\r'",
        "     3  unit      -  read       b']d2AB\\r'",
    ]


async def test_cli_scanner_follows_the_sim_plc_line_over_a_pty(tmp_path: Path) -> None:
    link = tmp_path / "scanner"
    config = tmp_path / "sim.yaml"
    # The first unit arrives 1 s after the line starts: time for the adapter to open the
    # pty, which discards what was written before (a serial line has no memory).
    config.write_text(
        "line: {seed: 3, rate_per_s: 5.0, unit_count: 3, first_arrival_s: 1.0, lot: L24A17}\n"
    )
    process = await asyncio.create_subprocess_exec(
        *CLI,
        *("--pty", str(link), "--config", str(config), "--framing", "crlf"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        banner = await asyncio.wait_for(process.stdout.readline(), 10.0)
        assert banner.decode() == f"sim scanner: {link}\n"
        async with make_scanner(str(link), framing=Framing.named("crlf")) as scanner:
            await scanner.wait_up(timeout_s=30.0)
            reads = scanner.reads()
            got = [await next_read(reads, timeout_s=30.0) for _ in range(3)]
        await asyncio.wait_for(process.wait(), 10.0)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    line = SimLine(seed=3, rate_per_s=5.0, unit_count=3, lot="L24A17")
    assert [(r.text, r.symbology_id, r.problem) for r in got] == [
        (u.udi.text, "]d2", None) for u in line.units()
    ]
    assert all("L24A17" in r.text for r in got)
    assert process.returncode == 0
    assert not link.exists()
