"""Unique Device Identifiers from GS1 and HIBCC barcodes, parsed at the boundary.

`Udi.parse` returns a `Udi` or raises a `UdiError` that lists every problem found;
`inspect_udi` returns the best reading and the problems without raising, for the CLI
and for rules that must record what was read even when it is not a valid UDI.

>>> udi = Udi.parse("]d20109506000134352172512001012345\\x1d21SN1")
>>> udi.issuer, udi.di, udi.lot, udi.serial, udi.expiry, udi.symbology
('GS1', '09506000134352', '12345', 'SN1', datetime.date(2025, 12, 31), ']d2')
>>> Udi.parse("+A99912345/$$52001510X33").di
'A99912345'
>>> try:
...     Udi.parse("(01)09506000134353(17)250230")
... except UdiError as error:
...     print(*error.problems, sep="\\n")
Invalid GTIN check digit for '09506000134353': Expected 2, got 3.
Invalid GS1 AI (17) date '250230': Expected a day from 00 to 28 in 2025-02, got 30.
>>> inspect_udi("ABC")
(None, ("Unknown UDI format for 'ABC': Expected GS1 data (element string, '(01)...' text \
or Digital Link URI) or HIBC data starting with '+'.",))
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, TypedDict

from protocols.gs1 import (
    GS,
    Gs1Data,
    parse_gs1_digital_link,
    parse_gs1_element_string,
    parse_gs1_hri,
    parse_gtin,
)
from protocols.hibcc import HibcData, link_hibc, parse_hibc

__all__ = [
    "GS",
    "Issuer",
    "Udi",
    "UdiError",
    "UdiJson",
    "inspect_udi",
    "inspect_udi_reads",
    "udi_to_json_dict",
]

Issuer = Literal["GS1", "HIBCC"]

GS1_SYMBOLOGIES = {
    "]C1": "GS1-128",
    "]d2": "GS1 DataMatrix",
    "]Q3": "GS1 QR Code",
    "]e0": "GS1 DataBar",
}
"""AIM symbology identifiers that mark GS1 data (FNC1 in first position)."""

_EAN_UPC = frozenset({"]E0", "]E3", "]E4"})
_AIM = re.compile(r"\][A-Za-z][0-9A-Za-z]")


class UdiError(ValueError):
    """A text that is not a valid UDI; `problems` lists every reason found."""

    def __init__(self, raw: str, problems: Sequence[str]) -> None:
        self.raw = raw
        """The text as it was given."""
        self.problems: tuple[str, ...] = tuple(problems)
        """Every problem found, in reading order (never empty)."""
        super().__init__(" ".join(self.problems))


@dataclass(frozen=True)
class Udi:
    """A valid Unique Device Identifier: the device identifier and its production data."""

    issuer: Issuer
    """The issuing agency whose rules the data follows: "GS1" or "HIBCC"."""

    di: str
    """Device identifier: the GTIN-14 for GS1; labeler code, product number and unit of
    measure for HIBCC (without `+` and check character)."""

    lot: str | None = None
    """Lot or batch number."""

    serial: str | None = None
    """Serial number."""

    expiry: date | None = None
    """Expiry date; a day given as 00, or a month and year alone, is the month's last day."""

    production_date: date | None = None
    """Production (manufacturing) date."""

    raw: str = ""
    """The text as read (reads of several symbols joined by a line break)."""

    symbology: str | None = None
    """The AIM symbology identifier the scanner sent (e.g. "]d2"), if any."""

    @classmethod
    def parse(cls, text: str, *, separators: Iterable[str] = (GS,)) -> Udi:
        """Parse one barcode's text; raise `UdiError` listing every problem.

        `separators` are the characters that end a GS1 variable-length field
        (GS by default; some scanners send another).
        """
        return cls.parse_reads((text,), separators=separators)

    @classmethod
    def parse_reads(cls, texts: Sequence[str], *, separators: Iterable[str] = (GS,)) -> Udi:
        """Parse the reads of one unit's symbols together (e.g. a HIBC primary and its
        separate secondary symbol, or a GS1-128 label split over two barcodes).

        >>> Udi.parse_reads(["+A999123457", "+$$3251231LOT779"]).lot
        'LOT7'
        """
        udi, problems = inspect_udi_reads(texts, separators=separators)
        if udi is None or problems:
            raise UdiError("\n".join(texts), problems)
        return udi


def inspect_udi(
    text: str, *, separators: Iterable[str] = (GS,)
) -> tuple[Udi | None, tuple[str, ...]]:
    """Read one barcode's text without raising: the best reading and every problem.

    The `Udi` is returned whenever a device identifier was read, also when there are
    problems (a wrong check digit still shows which DI was printed); it is valid only
    when the problems are empty.

    >>> udi, problems = inspect_udi("0109506000134353")
    >>> udi.di, problems
    ('09506000134353', ("Invalid GTIN check digit for '09506000134353': Expected 2, got 3.",))
    """
    return inspect_udi_reads((text,), separators=separators)


def inspect_udi_reads(
    texts: Sequence[str], *, separators: Iterable[str] = (GS,)
) -> tuple[Udi | None, tuple[str, ...]]:
    """Like `inspect_udi`, for the reads of several symbols on one unit."""
    separator_chars = tuple(separators)
    if not separator_chars or any(len(char) != 1 for char in separator_chars):
        msg = f"Separators must be single characters, got {list(separator_chars)!r}."
        raise ValueError(msg)
    raw = "\n".join(texts)
    reads = [_read(text, separator_chars) for text in texts]
    if not reads:
        return None, (f"Unknown UDI format for {raw!r}: Expected at least one read.",)
    issuers = sorted({read.issuer for read in reads if read.issuer is not None})
    problems = [problem for read in reads for problem in read.problems]
    if len(issuers) > 1:
        problems.append(f"Reads from different issuers in {raw!r}: Expected one, got {issuers}.")
    symbology = next((read.symbology for read in reads if read.symbology), None)
    udi: Udi | None = None
    if issuers == ["GS1"]:
        udi = _gs1_udi([read.gs1 for read in reads if read.gs1], raw, symbology, problems)
    elif issuers == ["HIBCC"]:
        udi = _hibc_udi([read.hibc for read in reads if read.hibc], raw, symbology, problems)
    return udi, tuple(dict.fromkeys(problems))


class UdiJson(TypedDict):
    """The JSON object the CLI prints for a read: exactly these keys."""

    valid: bool
    issuer: Issuer | None
    di: str | None
    lot: str | None
    serial: str | None
    expiry: str | None
    production_date: str | None
    problems: list[str]


def udi_to_json_dict(udi: Udi | None, problems: Sequence[str]) -> UdiJson:
    """The JSON object for an `inspect_udi` result (dates as ISO "YYYY-MM-DD").

    >>> udi_to_json_dict(*inspect_udi("+A99912345/$$52001510X33"))["expiry"]
    '2020-01-15'
    """
    return UdiJson(
        valid=udi is not None and not problems,
        issuer=udi.issuer if udi else None,
        di=udi.di if udi else None,
        lot=udi.lot if udi else None,
        serial=udi.serial if udi else None,
        expiry=udi.expiry.isoformat() if udi and udi.expiry else None,
        production_date=udi.production_date.isoformat() if udi and udi.production_date else None,
        problems=list(problems),
    )


@dataclass(frozen=True)
class _Read:
    symbology: str | None
    issuer: Issuer | None = None
    gs1: Gs1Data | None = None
    hibc: HibcData | None = None
    problems: tuple[str, ...] = ()


def _read(text: str, separators: tuple[str, ...]) -> _Read:
    # Only line endings go from the end: a HIBC check character may be a space.
    cleaned = text.lstrip().rstrip("\r\n")
    symbology = cleaned[:3] if _AIM.match(cleaned) else None
    body = cleaned[3:] if symbology else cleaned
    data = body.strip()
    if body.startswith(("+", "*+")):
        problems: tuple[str, ...] = ()
        if symbology in GS1_SYMBOLOGIES:
            problems = (
                f"Symbology identifier {symbology!r} marks GS1 data "
                f"({GS1_SYMBOLOGIES[symbology]}), got HIBC data {body!r}.",
            )
        hibc = parse_hibc(body)
        return _Read(symbology, "HIBCC", hibc=hibc, problems=(*problems, *hibc.problems))
    if data.lower().startswith(("http://", "https://")):
        return _gs1_read(symbology, parse_gs1_digital_link(data))
    if data.startswith("("):
        return _gs1_read(symbology, parse_gs1_hri(data))
    # EAN-13 and UPC-A carry a GTIN and nothing else; 8 or 14 bare digits may also be
    # an element string (AI 17 + date), so they are a GTIN only if they do not read as one.
    if symbology in _EAN_UPC or (symbology is None and data.isdecimal() and len(data) in (12, 13)):
        return _gs1_read(symbology, parse_gtin(data))
    if data[:1].isdecimal():
        element_string = parse_gs1_element_string(data, separators=separators)
        if symbology is None and data.isdecimal() and len(data) in (8, 14):
            gtin = parse_gtin(data)
            if (element_string.problems or element_string.gtin is None) and not gtin.problems:
                return _gs1_read(symbology, gtin)
        read = _gs1_read(symbology, element_string)
        if symbology is not None and symbology not in GS1_SYMBOLOGIES:
            mismatch = (
                f"Symbology identifier {symbology!r} does not mark GS1 data: "
                f"Expected one of {', '.join(map(repr, GS1_SYMBOLOGIES))} before a GS1 "
                "element string."
            )
            return _Read(symbology, "GS1", gs1=read.gs1, problems=(mismatch, *read.problems))
        return read
    return _Read(
        symbology,
        problems=(
            f"Unknown UDI format for {text!r}: Expected GS1 data (element string, '(01)...' "
            "text or Digital Link URI) or HIBC data starting with '+'.",
        ),
    )


def _gs1_read(symbology: str | None, data: Gs1Data) -> _Read:
    return _Read(symbology, "GS1", gs1=data, problems=data.problems)


def _gs1_udi(
    parts: list[Gs1Data], raw: str, symbology: str | None, problems: list[str]
) -> Udi | None:
    fields: dict[str, str | date] = {}
    for part in parts:
        for name in ("gtin", "lot", "serial", "expiry", "production_date"):
            value = getattr(part, name)
            if value is None:
                continue
            earlier = fields.setdefault(name, value)
            if earlier != value:
                problems.append(f"Conflicting {name} in {raw!r}: {earlier!s} and {value!s}.")
    gtin = fields.get("gtin")
    if not isinstance(gtin, str):
        problems.append(f"No device identifier in {raw!r}: Expected GS1 AI (01) GTIN.")
        return None
    return Udi(
        issuer="GS1",
        di=gtin,
        lot=_as_str(fields.get("lot")),
        serial=_as_str(fields.get("serial")),
        expiry=_as_date(fields.get("expiry")),
        production_date=_as_date(fields.get("production_date")),
        raw=raw,
        symbology=symbology,
    )


def _hibc_udi(
    parts: list[HibcData], raw: str, symbology: str | None, problems: list[str]
) -> Udi | None:
    primaries = [part for part in parts if not part.is_secondary_only]
    secondaries = [part for part in parts if part.is_secondary_only]
    if len(primaries) > 1 or len(secondaries) > 1:
        problems.append(
            f"Too many HIBC symbols in {raw!r}: Expected one primary and at most one "
            f"secondary, got {len(primaries)} primary and {len(secondaries)} secondary."
        )
    data = primaries[0] if primaries else secondaries[0]
    if primaries and secondaries:
        data = link_hibc(primaries[0], secondaries[0])
        problems.extend(problem for problem in data.problems if problem not in problems)
    di = data.di
    if di is None:
        only = ", got secondary data only" if not primaries else ""
        problems.append(
            f"No device identifier in {raw!r}: Expected HIBC primary data (labeler code, "
            f"product number, unit of measure){only}."
        )
        return None
    return Udi(
        issuer="HIBCC",
        di=di,
        lot=data.lot,
        serial=data.serial,
        expiry=data.expiry,
        production_date=data.production_date,
        raw=raw,
        symbology=symbology,
    )


def _as_str(value: str | date | None) -> str | None:
    return value if isinstance(value, str) else None


def _as_date(value: str | date | None) -> date | None:
    return value if isinstance(value, date) else None
