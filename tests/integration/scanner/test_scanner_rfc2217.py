"""A scanner behind an RFC 2217 terminal server (`rfc2217://` ports, polled: no fd to wait on)."""

from __future__ import annotations

import threading
import time

import pytest

from edge.sim.scanner import SimScanner

from .conftest import eventually, make_scanner, next_read, scanner_threads
from .rfc2217_relay import Rfc2217Relay


# pyserial's rfc2217 client names its reader thread with calls deprecated since Python 3.10.
@pytest.mark.filterwarnings("ignore:set(Daemon|Name)\\(\\) is deprecated:DeprecationWarning")
async def test_reads_through_an_rfc2217_server_and_its_loss() -> None:
    async with SimScanner.over_pty(symbology_id="]C1") as sim:
        with Rfc2217Relay(sim.url) as relay:
            scanner = make_scanner(relay.url)
            await scanner.start()
            try:
                await scanner.wait_up(timeout_s=5.0)
                reads = scanner.reads()
                await sim.emit("0109506000134352\x1d21AB")
                read = await next_read(reads)
                assert (read.text, read.symbology_id, read.problem) == (
                    "0109506000134352\x1d21AB",
                    "]C1",
                    None,
                )
                relay.stop()
                await eventually(lambda: scanner.link.status == "down")
                assert scanner.link.last_error == (
                    f"Scanner 'front' ({relay.url}): link lost: connection failed (reader "
                    "thread died)"
                )
            finally:
                started = time.monotonic()
                await scanner.stop()
                stop_s = time.monotonic() - started
    assert scanner_threads() == []
    assert not [t for t in threading.enumerate() if t.name.startswith("pySerial")]
    assert stop_s < 1.0
