"""LineSplitter and Framing: every framing, chunks split anywhere, overlong and unfinished lines."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.adapters.framing import Framing, LineSplitter, RawLine

FRAMINGS = {
    "cr": Framing.named("cr"),
    "lf": Framing.named("lf"),
    "crlf": Framing.named("crlf"),
    "etx": Framing.named("etx"),
    "custom": Framing(terminator=b"\x1d\x04"),
}
READS = [b"]d2010950600013435210A1\x1d21SN7", b"+A99912345/$$52001510X3", b"]C1ABC"]


@pytest.mark.parametrize("name", FRAMINGS)
def test_each_framing_cuts_whole_reads(name: str) -> None:
    framing = FRAMINGS[name]
    splitter = LineSplitter(framing)
    stream = b"".join(framing.frame(r) for r in READS)
    expected = [RawLine(framing.prefix + r) for r in READS]
    assert splitter.feed(stream, now_s=0.0) == expected
    assert splitter.pending_bytes == 0


@pytest.mark.parametrize("name", FRAMINGS)
def test_each_framing_byte_by_byte(name: str) -> None:
    framing = FRAMINGS[name]
    splitter = LineSplitter(framing)
    stream = b"".join(framing.frame(r) for r in READS)
    lines = [line for i in range(len(stream)) for line in splitter.feed(stream[i : i + 1], now_s=i)]
    assert lines == [RawLine(framing.prefix + r) for r in READS]


def test_crlf_terminator_split_between_chunks() -> None:
    splitter = LineSplitter(Framing.named("crlf"))
    assert splitter.feed(b"0109\r", now_s=0.0) == []
    assert splitter.feed(b"\n01", now_s=0.1) == [RawLine(b"0109")]
    assert splitter.pending_bytes == 2


def test_lone_cr_inside_crlf_framing_stays_in_the_line() -> None:
    splitter = LineSplitter(Framing.named("crlf"))
    assert splitter.feed(b"AB\rCD\r\n", now_s=0.0) == [RawLine(b"AB\rCD")]


def test_empty_lines_are_lines() -> None:
    splitter = LineSplitter(Framing.named("cr"))
    assert splitter.feed(b"\r\rA\r", now_s=0.0) == [RawLine(b""), RawLine(b""), RawLine(b"A")]


@given(
    reads=st.lists(st.binary(max_size=30).filter(lambda b: b"\r" not in b), max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=10),
)
def test_any_chunking_gives_the_same_lines(reads: list[bytes], cuts: list[int]) -> None:
    framing = Framing.named("cr")
    stream = b"".join(framing.frame(r) for r in reads)
    bounds = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    splitter = LineSplitter(framing)
    lines = [
        line
        for start, end in itertools.pairwise(bounds)
        for line in splitter.feed(stream[start:end], now_s=0.0)
    ]
    assert lines == [RawLine(r) for r in reads]


def test_overlong_line_is_cut_into_problem_pieces_up_to_its_end() -> None:
    splitter = LineSplitter(Framing(terminator=b"\r", max_line_bytes=4))
    assert splitter.feed(b"ABCDEFGHIJ", now_s=0.0) == [
        RawLine(
            b"ABCD",
            "Line b'ABCD' is too long: expected the terminator b'\\r' within 4 bytes, found none",
        ),
        RawLine(
            b"EFGH",
            "Line b'EFGH' is too long: expected the terminator b'\\r' within 4 bytes, found none",
        ),
    ]
    assert splitter.feed(b"\rGOOD\r", now_s=0.1) == [
        RawLine(b"IJ", "Line b'IJ' is the end of a line longer than 4 bytes"),
        RawLine(b"GOOD"),
    ]


def test_overlong_line_arriving_whole_is_cut_too() -> None:
    splitter = LineSplitter(Framing(terminator=b"\n", max_line_bytes=3))
    assert splitter.feed(b"ABCDE\nXYZ\n", now_s=0.0) == [
        RawLine(
            b"ABC",
            "Line b'ABC' is too long: expected the terminator b'\\n' within 3 bytes, found none",
        ),
        RawLine(b"DE", "Line b'DE' is the end of a line longer than 3 bytes"),
        RawLine(b"XYZ"),
    ]


def test_overlong_line_ending_at_a_piece_boundary_has_no_empty_tail() -> None:
    splitter = LineSplitter(Framing(terminator=b"\r", max_line_bytes=2))
    lines = splitter.feed(b"ABCD", now_s=0.0) + splitter.feed(b"\rOK\r", now_s=0.0)
    assert [line.data for line in lines] == [b"AB", b"CD", b"OK"]
    assert lines[-1].problem is None


def test_half_a_crlf_at_the_limit_is_not_overlong() -> None:
    splitter = LineSplitter(Framing(terminator=b"\r\n", max_line_bytes=4))
    assert splitter.feed(b"ABCD\r", now_s=0.0) == []
    assert splitter.feed(b"\n", now_s=0.0) == [RawLine(b"ABCD")]


def test_long_problem_lines_are_shortened_in_the_message() -> None:
    splitter = LineSplitter(Framing(terminator=b"\r", max_line_bytes=50))
    [line] = splitter.feed(b"9" * 51, now_s=0.0)
    assert line.problem == (
        "Line b'" + "9" * 40 + "'... (50 bytes) is too long: expected the terminator b'\\r'"
        " within 50 bytes, found none"
    )


def test_unfinished_line_expires_after_the_read_timeout() -> None:
    splitter = LineSplitter(Framing.named("cr"))
    splitter.feed(b"0109506", now_s=10.0)
    assert splitter.pending_since_s == 10.0
    splitter.feed(b"00", now_s=10.4)
    assert splitter.pending_since_s == 10.0
    assert splitter.expire(now_s=10.9, timeout_s=1.0) == []
    assert splitter.expire(now_s=11.0, timeout_s=1.0) == [
        RawLine(
            b"010950600",
            "Line b'010950600' is unfinished: expected the terminator b'\\r' within 1 s,"
            " found none",
        )
    ]
    assert splitter.pending_since_s is None
    # What arrives later is a new line, not the end of the expired one.
    assert splitter.feed(b"0109\r", now_s=12.0) == [RawLine(b"0109")]


def test_pending_clock_restarts_with_the_bytes_after_a_terminator() -> None:
    splitter = LineSplitter(Framing.named("cr"))
    splitter.feed(b"AB", now_s=1.0)
    splitter.feed(b"C\rDE", now_s=2.0)
    assert splitter.pending_since_s == 2.0
    assert splitter.expire(now_s=2.5, timeout_s=1.0) == []


def test_nothing_pending_never_expires() -> None:
    splitter = LineSplitter(Framing.named("cr"))
    splitter.feed(b"AB\r", now_s=0.0)
    assert splitter.expire(now_s=100.0, timeout_s=1.0) == []


def test_flush_names_the_reason() -> None:
    splitter = LineSplitter(Framing.named("etx"))
    splitter.feed(b"\x02010", now_s=0.0)
    assert splitter.flush(reason="the link was lost") == [
        RawLine(
            b"\x02010",
            "Line b'\\x02010' is unfinished: the link was lost before the terminator b'\\x03'",
        )
    ]
    assert splitter.flush(reason="again") == []


def test_framing_named() -> None:
    assert Framing.named("crlf") == Framing(terminator=b"\r\n")
    assert Framing.named("etx").prefix == b"\x02"
    assert Framing.named("etx", prefix=b"").prefix == b""
    assert Framing.named("cr", prefix=b"\x02").frame(b"A") == b"\x02A\r"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Framing.named("tab"), "Framing 'tab': expected one of cr, lf, crlf, etx"),
        (
            lambda: Framing(terminator=b""),
            "Framing terminator: expected at least one byte, got b''",
        ),
        (
            lambda: Framing(terminator=b"\r", prefix=b"\x02\r"),
            "Framing prefix b'\\x02\\r': expected bytes without the terminator b'\\r'",
        ),
        (
            lambda: Framing(terminator=b"\r", max_line_bytes=0),
            "Framing max_line_bytes: expected >= 1, got 0",
        ),
    ],
)
def test_framing_errors(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError) as info:
        make()
    assert str(info.value) == message
