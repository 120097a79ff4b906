"""LineDecoder: AIM identifiers split off, GS kept, and every kind of bad line a problem."""

from __future__ import annotations

import pytest

from edge.adapters.framing import RawLine
from edge.adapters.scanner_text import LineDecoder, LineText

GS1_TEXT = "010950600013435210A1\x1d21SN7"


@pytest.mark.parametrize("symbology_id", ["]d2", "]C1", "]Q3", "]e0"])
def test_symbology_identifier_is_split_off_and_gs_kept(symbology_id: str) -> None:
    line = RawLine((symbology_id + GS1_TEXT).encode())
    assert LineDecoder().decode(line) == LineText(GS1_TEXT, symbology_id)


def test_text_without_identifier() -> None:
    assert LineDecoder().decode(RawLine(b"+A99912345/$$52001510X3")) == LineText(
        "+A99912345/$$52001510X3", None
    )


def test_bracket_not_followed_by_an_identifier_is_data() -> None:
    assert LineDecoder().decode(RawLine(b"]\x1dAB")) == LineText("]\x1dAB", None)


def test_iso_15434_separators_are_text() -> None:
    text = "[)>\x1e06\x1d1PABC\x1e\x04"
    assert LineDecoder().decode(RawLine(text.encode())) == LineText(text, None)


def test_empty_line_is_no_read() -> None:
    assert LineDecoder().decode(RawLine(b"")) is None
    assert LineDecoder(prefix=b"\x02").decode(RawLine(b"\x02")) is None


def test_invalid_utf8_is_a_problem_with_a_best_effort_text() -> None:
    decoded = LineDecoder().decode(RawLine(b"]d201\xff\xfe09"))
    assert decoded == LineText(
        "01\ufffd\ufffd09",
        "]d2",
        "Line b']d201\\xff\\xfe09' is not utf-8 text: byte 0xFF at offset 5: invalid start byte",
    )


def test_ascii_encoding_rejects_high_bytes() -> None:
    decoded = LineDecoder(encoding="ascii").decode(RawLine(b"01\xe9"))
    assert decoded is not None
    assert decoded.problem == (
        "Line b'01\\xe9' is not ascii text: byte 0xE9 at offset 2: ordinal not in range(128)"
    )


def test_control_character_is_a_problem() -> None:
    decoded = LineDecoder().decode(RawLine(b"0109\r5"))
    assert decoded == LineText(
        "0109\r5",
        None,
        "Line b'0109\\r5' holds the control character 0x0D at offset 4: expected printable text,"
        " GS, RS, FS or EOT",
    )


def test_c1_control_in_valid_utf8_is_a_problem() -> None:
    decoded = LineDecoder().decode(RawLine("AB\u0085".encode()))
    assert decoded is not None
    assert decoded.problem == (
        "Line b'AB\\xc2\\x85' holds the control character 0x85 at offset 2: expected printable"
        " text, GS, RS, FS or EOT"
    )


def test_prefix_is_stripped() -> None:
    decoder = LineDecoder(prefix=b"\x02")
    assert decoder.decode(RawLine(b"\x02]C1" + GS1_TEXT.encode())) == LineText(GS1_TEXT, "]C1")


def test_missing_prefix_is_a_problem() -> None:
    decoded = LineDecoder(prefix=b"\x02").decode(RawLine(b"ABC"))
    assert decoded == LineText("ABC", None, "Line b'ABC' does not start with the prefix b'\\x02'")


def test_required_symbology_identifier() -> None:
    decoder = LineDecoder(symbology_ids={"]d2", "]C1"})
    assert decoder.decode(RawLine(b"]C1" + GS1_TEXT.encode())) == LineText(GS1_TEXT, "]C1")
    assert decoder.decode(RawLine(GS1_TEXT.encode())) == LineText(
        GS1_TEXT,
        None,
        "Line b'010950600013435210A1\\x1d21SN7' lacks a symbology identifier: expected ']C1' or"
        " ']d2', found '010'",
    )
    assert decoder.decode(RawLine(b"]Q3" + GS1_TEXT.encode())) == LineText(
        GS1_TEXT,
        "]Q3",
        "Line b']Q3010950600013435210A1\\x1d21SN7' lacks a symbology identifier: expected ']C1'"
        " or ']d2', found ']Q3'",
    )


def test_gs_substitutes_become_gs() -> None:
    decoder = LineDecoder(gs_substitutes="~|")
    assert decoder.decode(RawLine(b"]d201095060001343521~21SN|10A")) == LineText(
        "01095060001343521\x1d21SN\x1d10A", "]d2"
    )


def test_no_read_message_is_a_problem() -> None:
    decoder = LineDecoder(no_read_texts={"NOREAD"})
    assert decoder.decode(RawLine(b"NOREAD")) == LineText(
        "NOREAD", None, "Line b'NOREAD' is the scanner's no-read message"
    )


def test_problems_from_the_splitter_are_kept_and_joined() -> None:
    decoded = LineDecoder().decode(RawLine(b"AB\xff", "Line b'AB\\xff' is unfinished"))
    assert decoded is not None
    assert decoded.problem == (
        "Line b'AB\\xff' is unfinished; Line b'AB\\xff' is not utf-8 text: byte 0xFF at offset"
        " 2: invalid start byte"
    )
