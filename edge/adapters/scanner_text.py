"""One scanner line made text: prefix stripped, bytes decoded, AIM identifier split off,
GS substitutes restored, and anything wrong stated as a problem (never raised). Pure code.

>>> decoder = LineDecoder()
>>> decoder.decode(RawLine(b"]d2010950600013435210A1\\x1d21SN7"))
LineText(text='010950600013435210A1\\x1d21SN7', symbology_id=']d2', problem=None)
>>> decoder.decode(RawLine(b"01\\xff\\x00")).problem
"Line b'01\\\\xff\\\\x00' is not utf-8 text: byte 0xFF at offset 2: invalid start byte"
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from edge.adapters.aim import split_symbology_id
from edge.adapters.framing import RawLine

GS = "\x1d"

SEPARATORS: dict[str, str] = {"\x04": "EOT", "\x1c": "FS", "\x1d": "GS", "\x1e": "RS"}
"""Control characters a read may hold: GS1's GS, and ISO/IEC 15434's RS, FS and EOT."""


@dataclass(frozen=True, slots=True)
class LineText:
    """What one line says."""

    text: str
    """Data without prefix or symbology identifier; GS as U+001D. With a problem, a
    best-effort rendering (undecodable bytes as U+FFFD)."""
    symbology_id: str | None
    problem: str | None = None


def _show(data: bytes, *, limit: int = 40) -> str:
    if len(data) <= limit:
        return repr(data)
    return f"{data[:limit]!r}... ({len(data)} bytes)"


def _first_control(text: str) -> int | None:
    for index, char in enumerate(text):
        if not char.isprintable() and char not in SEPARATORS:
            return index
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class LineDecoder:
    """Turns `RawLine`s from one scanner into `LineText`s."""

    prefix: bytes = b""
    """Bytes every line starts with (STX), stripped; a line without them has a problem."""
    encoding: str = "utf-8"
    """Text encoding of the scanner's output (`utf-8`, `ascii`, `latin-1`)."""
    symbology_ids: Collection[str] | None = None
    """AIM identifiers the scanner is set to send; a line without one of them has a problem.
    None: an identifier is split off when present and not required."""
    gs_substitutes: str = ""
    """Characters the scanner sends in place of GS (keyboard-style output), restored to GS."""
    no_read_texts: Collection[str] = field(default_factory=frozenset)
    """What the scanner sends when it read nothing (`NOREAD`): a read with a problem."""

    def decode(self, raw: RawLine) -> LineText | None:
        """The line's text, or None for an empty line (a bare terminator)."""
        problems = [raw.problem] if raw.problem else []
        data = raw.data
        if self.prefix:
            if data.startswith(self.prefix):
                data = data[len(self.prefix) :]
            elif not problems:
                problems.append(
                    f"Line {_show(raw.data)} does not start with the prefix {self.prefix!r}"
                )
        if not data and not problems:
            return None
        try:
            text = data.decode(self.encoding)
        except UnicodeDecodeError as exc:
            text = data.decode(self.encoding, errors="replace")
            problems.append(
                f"Line {_show(raw.data)} is not {self.encoding} text: byte "
                f"0x{data[exc.start]:02X} at offset {exc.start}: {exc.reason}"
            )
        else:
            bad = _first_control(text)
            if bad is not None:
                problems.append(
                    f"Line {_show(raw.data)} holds the control character "
                    f"0x{ord(text[bad]):02X} at offset {bad}: expected printable text, "
                    f"GS, RS, FS or EOT"
                )
        symbology_id, text = split_symbology_id(text)
        if (
            self.symbology_ids is not None
            and not problems
            and symbology_id not in self.symbology_ids
        ):
            expected = " or ".join(repr(s) for s in sorted(self.symbology_ids))
            found = repr(symbology_id) if symbology_id else f"{text[:3]!r}"
            problems.append(
                f"Line {_show(raw.data)} lacks a symbology identifier: expected {expected}, "
                f"found {found}"
            )
        for substitute in self.gs_substitutes:
            text = text.replace(substitute, GS)
        if not problems and text in self.no_read_texts:
            problems.append(f"Line {_show(raw.data)} is the scanner's no-read message")
        return LineText(text, symbology_id, "; ".join(problems) if problems else None)
