"""Scanner byte streams cut into lines: terminators, an optional STX-style prefix, and the
overlong and unfinished lines a noisy serial line produces. Pure code, no I/O.

A scanner sends one read per frame: an optional prefix (STX), the data, a terminator
(CR, LF, CRLF, ETX or custom bytes). Bytes arrive in arbitrary chunks, so a frame (even a
two-byte terminator) may be split anywhere. Every byte received ends up in some line:
bytes that do not form a proper frame become lines with a problem, never silence.

>>> splitter = LineSplitter(Framing.named("crlf"))
>>> splitter.feed(b"]d2010950\\r", now_s=0.0)
[]
>>> splitter.feed(b"\\nABC", now_s=0.1)
[RawLine(data=b']d2010950', problem=None)]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

FramingName = Literal["cr", "lf", "crlf", "etx"]

TERMINATORS: dict[str, bytes] = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "etx": b"\x03"}
"""The terminator of each named framing."""

STX = b"\x02"
"""Start of text: the prefix scanners set to STX/ETX framing send before each read."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Framing:
    """How a scanner delimits its reads."""

    terminator: bytes
    """Bytes that end every read (CR, LF, CRLF, ETX or custom)."""
    prefix: bytes = b""
    """Bytes that start every read (STX), stripped; a line without them has a problem.
    Empty: reads carry no prefix."""
    max_line_bytes: int = 4096
    """Longest read accepted; longer data becomes problem lines of at most this size."""

    def __post_init__(self) -> None:
        if not self.terminator:
            raise ValueError("Framing terminator: expected at least one byte, got b''")
        if self.prefix and self.terminator in self.prefix:
            raise ValueError(
                f"Framing prefix {self.prefix!r}: expected bytes without the terminator "
                f"{self.terminator!r}"
            )
        if self.max_line_bytes < 1:
            raise ValueError(f"Framing max_line_bytes: expected >= 1, got {self.max_line_bytes}")

    @classmethod
    def named(
        cls, name: str, *, prefix: bytes | None = None, max_line_bytes: int = 4096
    ) -> Framing:
        """The framing called `name` (`cr`, `lf`, `crlf`, `etx`); `etx` implies an STX prefix
        unless `prefix` says otherwise.

        >>> Framing.named("etx")
        Framing(terminator=b'\\x03', prefix=b'\\x02', max_line_bytes=4096)
        >>> Framing.named("cr lf")
        Traceback (most recent call last):
        ...
        ValueError: Framing 'cr lf': expected one of cr, lf, crlf, etx
        """
        try:
            terminator = TERMINATORS[name]
        except KeyError:
            raise ValueError(
                f"Framing {name!r}: expected one of {', '.join(TERMINATORS)}"
            ) from None
        if prefix is None:
            prefix = STX if name == "etx" else b""
        return cls(terminator=terminator, prefix=prefix, max_line_bytes=max_line_bytes)

    def frame(self, payload: bytes) -> bytes:
        """`payload` as the scanner puts it on the wire.

        >>> Framing.named("etx").frame(b"AB")
        b'\\x02AB\\x03'
        """
        return self.prefix + payload + self.terminator


@dataclass(frozen=True, slots=True)
class RawLine:
    """The bytes of one line between terminators (terminator excluded, prefix kept)."""

    data: bytes
    problem: str | None = None
    """Why these bytes are not a whole read (overlong, unfinished, cut by a lost link)."""


def _show(data: bytes, *, limit: int = 40) -> str:
    """`data` quoted for a message, shortened to `limit` bytes."""
    if len(data) <= limit:
        return repr(data)
    return f"{data[:limit]!r}... ({len(data)} bytes)"


class LineSplitter:
    """Cuts a byte stream into `RawLine`s; feed it chunks as they arrive.

    A line longer than `framing.max_line_bytes` is delivered in pieces of that size, each
    with a problem, up to and including its last piece (so the tail of a too-long line never
    passes for a read). A line whose terminator has not arrived `timeout_s` after its first
    byte is delivered by `expire` with a problem; bytes arriving later start a new line.
    """

    def __init__(self, framing: Framing) -> None:
        self.framing = framing
        self._buffer = bytearray()
        self._started_s: float | None = None
        self._overlong = False

    @property
    def pending_bytes(self) -> int:
        """Bytes received after the last terminator."""
        return len(self._buffer)

    @property
    def pending_since_s(self) -> float | None:
        """When the first byte of the unfinished line arrived (the `now_s` given to `feed`)."""
        return self._started_s

    def feed(self, data: bytes, *, now_s: float) -> list[RawLine]:
        """Lines completed by `data`, received at `now_s` (monotonic seconds)."""
        if not data:
            return []
        if not self._buffer:
            self._started_s = now_s
        self._buffer += data
        lines: list[RawLine] = []
        terminator = self.framing.terminator
        limit = self.framing.max_line_bytes
        while True:
            end = self._buffer.find(terminator)
            if end < 0:
                break
            line = bytes(self._buffer[:end])
            del self._buffer[: end + len(terminator)]
            lines.extend(self._complete(line))
        # Keep a possible first half of a multi-byte terminator; anything beyond the limit
        # cannot belong to an acceptable line.
        while len(self._buffer) - (len(terminator) - 1) > limit:
            piece = bytes(self._buffer[:limit])
            del self._buffer[:limit]
            lines.append(RawLine(piece, self._overlong_problem(piece)))
            self._overlong = True
        if lines:
            # What is left arrived in this chunk (the previous bytes went into lines).
            self._started_s = now_s if self._buffer else None
        return lines

    def _complete(self, line: bytes) -> list[RawLine]:
        limit = self.framing.max_line_bytes
        if self._overlong:
            self._overlong = False
            return [RawLine(line, self._tail_problem(line))] if line else []
        if len(line) <= limit:
            return [RawLine(line)]
        pieces = [line[i : i + limit] for i in range(0, len(line), limit)]
        out = [RawLine(p, self._overlong_problem(p)) for p in pieces[:-1]]
        out.append(RawLine(pieces[-1], self._tail_problem(pieces[-1])))
        return out

    def _overlong_problem(self, piece: bytes) -> str:
        return (
            f"Line {_show(piece)} is too long: expected the terminator "
            f"{self.framing.terminator!r} within {self.framing.max_line_bytes} bytes, found none"
        )

    def _tail_problem(self, piece: bytes) -> str:
        return (
            f"Line {_show(piece)} is the end of a line longer than "
            f"{self.framing.max_line_bytes} bytes"
        )

    def expire(self, *, now_s: float, timeout_s: float) -> list[RawLine]:
        """The unfinished line, as a problem line, once `timeout_s` have passed since its
        first byte; nothing otherwise."""
        if self._started_s is None or now_s - self._started_s < timeout_s:
            return []
        return self._drain(
            lambda data: (
                f"Line {_show(data)} is unfinished: expected the terminator "
                f"{self.framing.terminator!r} within {timeout_s:g} s, found none"
            )
        )

    def flush(self, *, reason: str) -> list[RawLine]:
        """The unfinished line, as a problem line naming `reason` (`the link was lost`)."""
        return self._drain(
            lambda data: (
                f"Line {_show(data)} is unfinished: {reason} before the terminator "
                f"{self.framing.terminator!r}"
            )
        )

    def _drain(self, problem: Callable[[bytes], str]) -> list[RawLine]:
        data = bytes(self._buffer)
        self._buffer.clear()
        self._started_s = None
        self._overlong = False
        if not data:
            return []
        return [RawLine(data, problem(data))]
