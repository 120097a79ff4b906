"""GS1 UDIs: element strings, the `(01)...` text and Digital Link URIs, read through biip.

biip checks each element (the GTIN check digit, the AI patterns); this module cuts the
message into elements itself so that one broken element does not hide the others, and
checks what biip lets through or reports only as the first failure: impossible dates,
lots and serials over their length, repeated AIs with different values.

>>> data = parse_gs1_element_string("0109506000134352172512311012345\\x1d21SN1")
>>> data.gtin, data.expiry, data.lot, data.serial
('09506000134352', datetime.date(2025, 12, 31), '12345', 'SN1')

>>> for problem in parse_gs1_element_string("010950600013435317250230").problems:
...     print(problem)
Invalid GTIN check digit for '09506000134353': Expected 2, got 3.
Invalid GS1 AI (17) date '250230': Expected a day from 00 to 28 in 2025-02, got 30.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    from biip import ParseConfig
    from biip.gs1_application_identifiers import GS1ApplicationIdentifier

GS = "\x1d"
"""The group separator that scanners send for FNC1, ending a variable-length field."""

_DATE_AIS = frozenset({"11", "12", "13", "15", "16", "17"})
_FIELD_AIS = {"01": "gtin", "10": "lot", "11": "production_date", "17": "expiry", "21": "serial"}
_LENGTHS = re.compile(r"[NXYZ](?:\.\.)?(\d+)")


@dataclass(frozen=True)
class Gs1Data:
    """What a GS1 message says about a device, read as far as it could be."""

    gtin: str | None = None
    """AI (01): the GTIN-14 as read, also when its check digit is wrong."""

    lot: str | None = None
    """AI (10): batch or lot number."""

    serial: str | None = None
    """AI (21): serial number."""

    expiry: date | None = None
    """AI (17): expiry date; DD=00 is the month's last day."""

    production_date: date | None = None
    """AI (11): production date; DD=00 is the month's last day."""

    problems: tuple[str, ...] = ()
    """Every problem found, in reading order; empty when the data is valid."""


def parse_gs1_element_string(value: str, *, separators: Iterable[str] = (GS,)) -> Gs1Data:
    """Read a GS1 element string (no symbology identifier), its fields ended by `separators`.

    >>> parse_gs1_element_string("0109506000134352|10ABC|21X", separators="|").serial
    'X'
    >>> print(*parse_gs1_element_string("0109506000134352" + "10" + "A" * 21).problems)
    Invalid GS1 AI (10) BATCH/LOT 'AAAAAAAAAAAAAAAAAAAAA': Expected at most 20 characters, got 21.
    """
    from biip import ParseError
    from biip.gs1_application_identifiers import GS1ApplicationIdentifier

    separator_chars = tuple(separators)
    reader = _Reader(separator_chars)
    rest = value.lstrip("".join(separator_chars))
    while rest:
        try:
            ai = GS1ApplicationIdentifier.extract(rest)
        except ParseError as exc:
            reader.problems.append(str(exc))
            break
        end = min((i for i in map(rest.find, separator_chars) if i >= 0), default=len(rest))
        if not ai.separator_required:
            end = min(end, len(ai.ai) + _data_length(ai))
        reader.add(ai, rest[len(ai.ai) : end])
        rest = rest[end:].lstrip("".join(separator_chars))
    return reader.result()


def parse_gs1_hri(value: str) -> Gs1Data:
    """Read the human-readable form, each AI in parentheses.

    >>> parse_gs1_hri("(01)09506000134352(17)240229(10)ABC").expiry
    datetime.date(2024, 2, 29)
    """
    reader = _Reader((GS,))
    hri = "".join(value.split())
    pairs: list[tuple[str, str]] = re.findall(r"\((\d+)\)([^(]*)", hri)
    if not pairs or "".join(f"({ai}){data}" for ai, data in pairs) != hri:
        reader.problems.append(
            f"Could not read {value!r} as GS1 text: Expected format '(AI)DATA(AI)DATA'."
        )
    for number, data in pairs:
        ai = _known_ai(number)
        if ai is None:
            reader.problems.append(f"Unknown GS1 Application Identifier {number!r} in {value!r}.")
            continue
        reader.add(ai, data)
    return reader.result()


def parse_gs1_digital_link(value: str) -> Gs1Data:
    """Read a GS1 Digital Link URI: AIs as path pairs after the primary key, or in the query.

    >>> data = parse_gs1_digital_link("https://id.gs1.org/01/09506000134352/10/ABC?17=250100")
    >>> data.gtin, data.lot, data.expiry
    ('09506000134352', 'ABC', datetime.date(2025, 1, 31))
    """
    reader = _Reader((GS,))
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        reader.problems.append(
            f"Expected URI scheme to be 'http' or 'https', got {parts.scheme!r}."
        )
        return reader.result()
    segments = parts.path.split("/")
    # The path may start with any prefix of the resolver's; the primary key ends it.
    start = next((i for i, segment in enumerate(segments) if segment in ("01", "00")), None)
    pairs: list[tuple[str, str]] = []
    if start is not None:
        keyed = segments[start:]
        if len(keyed) % 2:
            reader.problems.append(
                f"Expected even number of path segments, got {'/' + '/'.join(keyed)!r}."
            )
        pairs = [(key, unquote(data)) for key, data in zip(keyed[::2], keyed[1::2], strict=False)]
    pairs += [
        (key, values[-1])
        for key, values in parse_qs(parts.query, keep_blank_values=True).items()
        if _known_ai(key)  # other query parameters are allowed and carry no AI
    ]
    for number, data in pairs:
        ai = _known_ai(number)
        if ai is None:
            reader.problems.append(f"Unknown GS1 Application Identifier {number!r} in {value!r}.")
            continue
        reader.add(ai, data.zfill(14) if number == "01" else data)
    return reader.result()


def release_unused_tables() -> bool:
    """Drop biip's table of GS1 company prefixes, which nothing here reads; True if dropped.

    biip builds it on import to report each GTIN's `company_prefix`: a trie of about 49,000
    dicts, 3 MB of an edge agent's 60 MB resident budget (DESIGN.md). Once dropped, biip
    reports no company prefix; GTINs, their check digits and every AI parse as before. For a
    long-running process, after biip is loaded (the edge agent); a biip that keeps no such
    table is left as it is.
    """
    import biip.gs1_prefixes as prefixes

    table = getattr(prefixes, "_GS1_COMPANY_PREFIX_TRIE", None)
    if not isinstance(table, dict) or not table:
        return False
    prefixes._GS1_COMPANY_PREFIX_TRIE = {}
    return True


def parse_gtin(value: str) -> Gs1Data:
    """Read a bare GTIN (EAN-13, UPC-A, EAN-8, GTIN-14): a UDI with a DI only.

    >>> parse_gtin("9506000134352").gtin
    '09506000134352'
    >>> parse_gtin("9506000134353").problems
    ("Invalid GTIN check digit for '9506000134353': Expected 2, got 3.",)
    """
    from biip import ParseError
    from biip.gtin import Gtin

    try:
        gtin = Gtin.parse(value)
    except ParseError as exc:
        known = value.zfill(14) if value.isdecimal() and len(value) in (8, 12, 13, 14) else None
        return Gs1Data(gtin=known, problems=(str(exc),))
    return Gs1Data(gtin=gtin.as_gtin_14())


class _Reader:
    """Collects the elements of one message and the problems found in them."""

    def __init__(self, separators: tuple[str, ...]) -> None:
        self.config = _config(separators)
        self.problems: list[str] = []
        self.fields: dict[str, str | date] = {}

    def add(self, ai: GS1ApplicationIdentifier, data: str) -> None:
        if ai.ai in _DATE_AIS:
            value: str | date | None = _yymmdd(ai.ai, data, self.problems)
        else:
            value = self._checked_by_biip(ai, data)
        name = _FIELD_AIS.get(ai.ai)
        if name is None or value is None:
            return
        earlier = self.fields.setdefault(name, value)
        if earlier != value:
            self.problems.append(
                f"Conflicting values for GS1 AI ({ai.ai}): {_text(earlier)!r} and {_text(value)!r}."
            )

    def _checked_by_biip(self, ai: GS1ApplicationIdentifier, data: str) -> str | None:
        from biip import ParseError
        from biip.gs1_element_strings import GS1ElementString

        longest = _data_length(ai)
        if ai.separator_required and len(data) > longest:
            self.problems.append(
                f"Invalid GS1 AI ({ai.ai}) {ai.data_title} {data!r}: Expected at most "
                f"{longest} characters, got {len(data)}."
            )
            return None
        try:
            element = GS1ElementString.parse(f"{ai.ai}{data}", config=self.config)
        except ParseError as exc:
            self.problems.append(str(exc))
            return None
        # biip still parses a wrong check digit and only reports it in a `*_error` field.
        for field in fields(element):
            error = getattr(element, field.name) if field.name.endswith("_error") else None
            if error:
                self.problems.append(str(error))
        return element.value

    def result(self) -> Gs1Data:
        read = self.fields
        return Gs1Data(
            gtin=_str_or_none(read.get("gtin")),
            lot=_str_or_none(read.get("lot")),
            serial=_str_or_none(read.get("serial")),
            expiry=_date_or_none(read.get("expiry")),
            production_date=_date_or_none(read.get("production_date")),
            problems=tuple(self.problems),
        )


def _known_ai(number: str) -> GS1ApplicationIdentifier | None:
    from biip import ParseError
    from biip.gs1_application_identifiers import GS1ApplicationIdentifier

    try:
        ai = GS1ApplicationIdentifier.extract(number)
    except ParseError:
        return None
    return ai if ai.ai == number else None


def _config(separators: tuple[str, ...]) -> ParseConfig:
    from biip import ParseConfig

    # Dates are checked here, so that an impossible one is reported with the
    # expectation and does not stop the reading of the other elements.
    return ParseConfig(separator_chars=separators, gs1_element_strings_verify_date=False)


def _data_length(ai: GS1ApplicationIdentifier) -> int:
    """The data's length for a fixed-length AI, its longest for a variable-length one."""
    return sum(int(length) for length in _LENGTHS.findall(ai.format.partition("+")[2]))


def _yymmdd(ai: str, data: str, problems: list[str]) -> date | None:
    label = f"GS1 AI ({ai}) date {data!r}"
    if len(data) != 6 or not data.isdecimal():
        problems.append(f"Invalid {label}: Expected 6 digits (YYMMDD), got {len(data)} characters.")
        return None
    year, month, day = _full_year(int(data[:2])), int(data[2:4]), int(data[4:6])
    if not 1 <= month <= 12:
        problems.append(f"Invalid {label}: Expected a month from 01 to 12, got {data[2:4]}.")
        return None
    last_day = calendar.monthrange(year, month)[1]
    if day > last_day:
        problems.append(
            f"Invalid {label}: Expected a day from 00 to {last_day} in "
            f"{year:04d}-{month:02d}, got {data[4:6]}."
        )
        return None
    # GS1 General Specifications 7.12: day 00 is the last day of the month.
    return date(year, month, day or last_day)


def _full_year(two_digits: int) -> int:
    """GS1 General Specifications 7.12: a year from 49 years back to 50 ahead."""
    this_year = date.today().year
    century = this_year - this_year % 100
    difference = two_digits - this_year % 100
    if 51 <= difference <= 99:
        return century - 100 + two_digits
    if -99 <= difference <= -50:
        return century + 100 + two_digits
    return century + two_digits


def _text(value: str | date) -> str:
    return value.isoformat() if isinstance(value, date) else value


def _str_or_none(value: str | date | None) -> str | None:
    return value if isinstance(value, str) else None


def _date_or_none(value: str | date | None) -> date | None:
    return value if isinstance(value, date) else None
