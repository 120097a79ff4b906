"""What a scanner or a camera saw: the edge's own read type, before any parsing.

Adapters produce `CodeRead`s; the checkpoint engine parses them into UDIs and
turns them into the wire's `protocols.events.Read`. Kept separate from the wire
type so an adapter never depends on the contract's evolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

SourceKind = Literal["scanner", "camera"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeRead:
    """One code read by one source."""

    text: str
    """The decoded text with the symbology identifier removed; GS kept as U+001D."""

    symbology_id: str | None
    """AIM symbology identifier such as `]d2`, `]C1`, `]Q3`, or None when the source gave none."""

    source_kind: SourceKind
    """Whether a fixed scanner or a camera produced the read."""

    source_name: str
    """The scanner's or camera's name from the device config."""

    read_at: datetime
    """Wall-clock time (UTC) the read completed."""

    monotonic_s: float
    """`time.monotonic()` when the read completed, for read windows immune to clock steps."""

    code_format: str | None = None
    """Barcode format as the decoder names it (`DataMatrix`, `Code128`, `QRCode`), if known."""

    gs1: bool | None = None
    """True when the symbol carries the GS1 flag (FNC1 in first position), None when unknown."""

    problem: str | None = None
    """Why the bytes could not be taken as text (bad encoding, overlong line); text is then a
    best-effort rendering with replacement characters, never used as a UDI."""
