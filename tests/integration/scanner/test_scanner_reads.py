"""Reads over a pty pair and over TCP: identifiers, GS, framings, bad bytes, no-reads."""

from __future__ import annotations

from datetime import UTC

import pytest

from edge.adapters.framing import Framing
from edge.sim.scanner import FaultPlan, SimScanner

from .conftest import connected, eventually, make_scanner, make_sim, next_read

GS1 = "0109506000134352112506021728060110LX7\x1d21AB0000017"
HIBC = "+A999TG12340/$$3280601LX7/SAB0000017/16D20250602P"


async def test_reads_arrive_with_symbology_ids_and_gs_kept(sim: SimScanner) -> None:
    async with make_scanner(sim.url) as scanner:
        await connected(scanner, sim)
        reads = scanner.reads()
        await sim.emit(GS1)
        await sim.emit(GS1, symbology_id="]C1")
        await sim.emit(HIBC, symbology_id="]d1")
        await sim.emit(HIBC, symbology_id="")
        got = [await next_read(reads) for _ in range(4)]
    assert [(r.text, r.symbology_id, r.code_format, r.gs1) for r in got] == [
        (GS1, "]d2", "DataMatrix", True),
        (GS1, "]C1", "Code128", True),
        (HIBC, "]d1", "DataMatrix", False),
        (HIBC, None, None, None),
    ]
    assert {(r.source_kind, r.source_name, r.problem) for r in got} == {("scanner", "front", None)}
    assert all(r.read_at.tzinfo is UTC for r in got)
    assert [r.monotonic_s for r in got] == sorted(r.monotonic_s for r in got)
    assert scanner.stats.reads == 4
    assert scanner.stats.problem_reads == 0


@pytest.mark.parametrize(
    "framing",
    [
        Framing.named("cr"),
        Framing.named("lf"),
        Framing.named("crlf"),
        Framing.named("etx"),
        Framing(terminator=b"\x04", prefix=b"\x02"),
    ],
    ids=["cr", "lf", "crlf", "stx-etx", "custom-eot"],
)
async def test_every_framing_over_a_pty(framing: Framing) -> None:
    async with (
        SimScanner.over_pty(framing=framing, symbology_id="]C1") as sim,
        make_scanner(sim.url, framing=framing) as scanner,
    ):
        await connected(scanner, sim)
        reads = scanner.reads()
        await sim.emit(GS1)
        await sim.emit("AB")
        first, second = await next_read(reads), await next_read(reads)
    assert (first.text, first.symbology_id, first.problem) == (GS1, "]C1", None)
    assert (second.text, second.problem) == ("AB", None)


async def test_garbage_bytes_become_a_problem_read_and_the_next_read_is_clean(
    sim: SimScanner,
) -> None:
    async with make_scanner(sim.url) as scanner:
        await connected(scanner, sim)
        reads = scanner.reads()
        noise = await sim.emit_garbage()
        await sim.emit(GS1)
        bad, good = await next_read(reads), await next_read(reads)
    assert bad.problem is not None
    assert bad.problem.startswith(f"Line {noise.wire[:-1]!r} ")
    assert "\ufffd" in bad.text
    assert (good.text, good.symbology_id, good.problem) == (GS1, "]d2", None)
    assert scanner.stats.problem_reads == 1


async def test_unterminated_garbage_spoils_only_the_read_it_runs_into(sim: SimScanner) -> None:
    async with make_scanner(sim.url) as scanner:
        await connected(scanner, sim)
        reads = scanner.reads()
        await sim.emit_garbage(terminated=False)
        await sim.emit(GS1)
        await sim.emit(GS1)
        spoiled, good = await next_read(reads), await next_read(reads)
    assert spoiled.problem is not None
    assert "is not utf-8 text" in spoiled.problem
    assert (good.text, good.problem) == (GS1, None)


async def test_overlong_line_becomes_problem_reads() -> None:
    framing = Framing(terminator=b"\r", max_line_bytes=64)
    async with (
        SimScanner.over_pty(framing=framing) as sim,
        make_scanner(sim.url, framing=framing) as scanner,
    ):
        await connected(scanner, sim)
        reads = scanner.reads()
        await sim.emit_raw(b"7" * 150 + b"\r")
        await sim.emit("OK")
        got = [await next_read(reads) for _ in range(4)]
    assert [len(r.text) for r in got] == [64, 64, 22, 2]
    assert got[0].problem == (
        "Line b'" + "7" * 40 + "'... (64 bytes) is too long: expected the terminator b'\\r' "
        "within 64 bytes, found none"
    )
    assert got[2].problem == "Line b'" + "7" * 22 + "' is the end of a line longer than 64 bytes"
    assert (got[3].text, got[3].problem) == ("OK", None)


async def test_line_without_terminator_becomes_a_problem_read_after_the_read_timeout(
    sim: SimScanner,
) -> None:
    async with make_scanner(sim.url, read_timeout_s=0.2) as scanner:
        await connected(scanner, sim)
        reads = scanner.reads()
        sent = await sim.emit_raw(b"]d20109506")
        read = await next_read(reads)
        late = read.monotonic_s - sent.monotonic_s
        await sim.emit("AB")
        after = await next_read(reads)
    assert read.problem == (
        "Line b']d20109506' is unfinished: expected the terminator b'\\r' within 0.2 s, found none"
    )
    assert (read.text, read.symbology_id) == ("0109506", "]d2")
    assert 0.15 < late < 1.0
    assert (after.text, after.problem) == ("AB", None)


async def test_no_read_message_and_duplicates(transport: str) -> None:
    plan = FaultPlan(at={2: "no_read", 3: "duplicate"})
    async with (
        make_sim(transport, no_read_text="NOREAD", faults=plan) as sim,
        make_scanner(sim.url, no_read_texts=["NOREAD"]) as scanner,
    ):
        await connected(scanner, sim)
        reads = scanner.reads()
        for text in ("U1", "U2", "U3"):
            await sim.emit(text)
        got = [await next_read(reads) for _ in range(4)]
    assert [(r.text, r.problem) for r in got] == [
        ("U1", None),
        ("NOREAD", "Line b'NOREAD' is the scanner's no-read message"),
        ("U3", None),
        ("U3", None),
    ]
    assert [s.outcome for s in sim.sent] == ["read", "no_read", "duplicate"]


async def test_misread_arrives_as_a_corrupted_text(sim: SimScanner) -> None:
    async with make_scanner(sim.url) as scanner:
        await connected(scanner, sim)
        reads = scanner.reads()
        sent = await sim.emit(GS1, fault="misread")
        read = await next_read(reads)
    assert sent.outcome == "misread"
    assert read.text == sent.text != GS1
    assert read.problem is None  # the bytes are fine; the UDI check digit is not


async def test_required_symbology_ids_and_gs_substitutes(sim: SimScanner) -> None:
    async with make_scanner(sim.url, symbology_ids=["]d2"], gs_substitutes="~") as scanner:
        await connected(scanner, sim)
        reads = scanner.reads()
        await sim.emit("0109506000134352~21AB")
        await sim.emit("0109506000134352~21AB", symbology_id="")
        good, bad = await next_read(reads), await next_read(reads)
    assert (good.text, good.symbology_id, good.problem) == ("0109506000134352\x1d21AB", "]d2", None)
    assert bad.problem == (
        "Line b'0109506000134352~21AB' lacks a symbology identifier: expected ']d2', found '010'"
    )


async def test_tcp_reader_serves_every_client() -> None:
    async with SimScanner.over_tcp() as sim:
        one, two = make_scanner(sim.url), make_scanner(sim.url)
        async with one, two:
            await one.wait_up(timeout_s=3.0)
            await two.wait_up(timeout_s=3.0)
            await sim.wait_for_clients(2, timeout_s=3.0)
            sent = await sim.emit("AB")
            texts = [(await next_read(s.reads())).text for s in (one, two)]
    assert sent.receivers == 2
    assert texts == ["AB", "AB"]


async def test_unconsumed_reads_are_bounded_oldest_dropped(sim: SimScanner) -> None:
    async with make_scanner(sim.url, max_queued_reads=2) as scanner:
        await connected(scanner, sim)
        for text in ("U1", "U2", "U3", "U4"):
            await sim.emit(text)
        await eventually(lambda: scanner.stats.reads == 4)
        reads = scanner.reads()
        kept = [(await next_read(reads)).text for _ in range(2)]
    assert kept == ["U3", "U4"]
    assert scanner.stats.dropped_reads == 2


async def test_reads_end_after_stop_with_what_was_received(sim: SimScanner) -> None:
    scanner = make_scanner(sim.url)
    await scanner.start()
    await connected(scanner, sim)
    await sim.emit("U1")
    await eventually(lambda: scanner.stats.reads == 1)
    await scanner.stop()
    assert [r.text async for r in scanner.reads()] == ["U1"]
    assert [r.text async for r in scanner.reads()] == []
    assert scanner.link.status == "down"
    assert scanner.link.last_error == "stopped"
