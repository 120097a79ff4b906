"""HIBC LIC data (HIBCC UDIs), read here since no maintained Python library does it.

The layout follows ANSI/HIBC 2.6 as summarised in shared/HIBCC.md: `+`, primary data
(labeler code, product number, unit of measure) and/or secondary data (lot, serial,
expiry, quantity) and a mod-43 check character.

A concatenated symbol carries both:

>>> data = parse_hibc("+A99912345/$$52001510X33")
>>> data.di, data.lot, data.expiry
('A99912345', '10X3', datetime.date(2020, 1, 15))

Every problem is listed, not only the first:

>>> for problem in parse_hibc("+A99912345/$$52136610X3A").problems:
...     print(problem)
Invalid HIBC check character for '+A99912345/$$52136610X3A': Expected 'D', got 'A'.
Invalid HIBC expiry date '21366' (YYJJJ): Expected a day of the year from 001 to 365, got 366.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date

CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"
"""The 43 HIBC characters, in the order of their values for the check character."""

_VALUES = {char: value for value, char in enumerate(CHARACTERS)}
_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")

MAX_PRODUCT_LENGTH = 18
"""Longest product or catalogue number in primary data."""

MAX_LOT_LENGTH = 18
"""Longest lot or serial in the `$` / `$$` secondary forms (HIBC's own limit)."""

MAX_SUPPLEMENTAL_SERIAL_LENGTH = 20
"""Longest `/S` serial: the standard's table is silent there, so the UDI limit of 20 applies."""

_SUPPLEMENTAL = re.compile(r"S|16D|14D")


@dataclass(frozen=True)
class HibcData:
    """What one HIBC symbol says, read as far as it could be, and what is wrong with it."""

    labeler: str | None = None
    """Labeler identification code (4 characters, the first a letter)."""

    product: str | None = None
    """Product or catalogue number (1-18 letters or digits)."""

    unit_of_measure: str | None = None
    """Unit of measure (one digit; 0 is the unit of use)."""

    lot: str | None = None
    """Lot or batch number."""

    serial: str | None = None
    """Serial number (from `$+`, `$$+` or the `/S` supplemental field)."""

    expiry: date | None = None
    """Expiry date; a month and year alone means that month's last day."""

    production_date: date | None = None
    """Production date (the `/16D` supplemental field)."""

    quantity: int | None = None
    """Quantity from the `$$8` / `$$9` forms."""

    check_character: str | None = None
    """The symbol's check character as read."""

    link_character: str | None = None
    """In a separate secondary symbol: the primary symbol's check character, as read."""

    problems: tuple[str, ...] = ()
    """Every problem found, in reading order; empty when the data is valid."""

    text: str = ""
    """The symbol's data as read, from `+` to the check character."""

    @property
    def di(self) -> str | None:
        """The UDI-DI: labeler code, product number and unit of measure, when all were read."""
        if self.labeler is None or self.product is None or self.unit_of_measure is None:
            return None
        return f"{self.labeler}{self.product}{self.unit_of_measure}"

    @property
    def is_secondary_only(self) -> bool:
        """Whether this is a separate secondary symbol (it carries a link character)."""
        return self.link_character is not None


def hibc_check_character(data: str) -> str:
    """Return the mod-43 check character for `data` (the leading `+` included).

    >>> hibc_check_character("+A99912345/$$52001510X3")
    '3'
    >>> hibc_check_character("+A999021")
    ' '
    """
    return CHARACTERS[sum(_VALUES[char] for char in data) % 43]


def parse_hibc(data: str) -> HibcData:
    """Read one HIBC symbol: primary, separate secondary, or both concatenated with `/`.

    `data` starts with `+`, optionally wrapped in the `*` of printed text. A `+` followed
    by `$`, or by five digits (the older Julian-date form), starts a separate secondary
    symbol; anything else is primary data, since labeler codes start with a letter.

    >>> parse_hibc("*+A99912345/$$52001510X33*").production_date is None
    True
    >>> secondary = parse_hibc("+$$3251231LOT779")
    >>> secondary.is_secondary_only, secondary.link_character, secondary.lot, secondary.problems
    (True, '7', 'LOT7', ())
    >>> parse_hibc("+A999021 ").di  # the check character may be a space
    'A999021'
    """
    problems: list[str] = []
    text = data.removeprefix("*").removesuffix("*")
    if not text.startswith("+"):
        problems.append(f"Invalid HIBC data {data!r}: Expected '+' first, got {text[:1]!r}.")
        return HibcData(problems=tuple(problems), text=text)
    if len(text) < 3:
        problems.append(
            f"Invalid HIBC data {data!r}: Expected '+', data and a check character, "
            f"got {len(text)} characters."
        )
        return HibcData(problems=tuple(problems), text=text)
    foreign = [char for char in text if char not in _VALUES]
    if foreign:
        problems.append(
            f"Invalid HIBC data {data!r}: Expected only the characters "
            f"'{CHARACTERS}', got {foreign[0]!r}."
        )
    check = text[-1]
    if not foreign:
        expected = hibc_check_character(text[:-1])
        if check != expected:
            problems.append(
                f"Invalid HIBC check character for {text!r}: Expected {expected!r}, got {check!r}."
            )
    body = text[1:-1]
    if _starts_secondary(body):
        secondary = _read_secondary(body[:-1], problems)
        return replace(
            secondary,
            check_character=check,
            link_character=body[-1:],
            problems=tuple(problems),
            text=text,
        )
    primary_text, slash, secondary_text = body.partition("/")
    primary = _read_primary(primary_text, problems)
    if slash:
        secondary = _read_secondary(secondary_text, problems)
        primary = replace(
            secondary,
            labeler=primary.labeler,
            product=primary.product,
            unit_of_measure=primary.unit_of_measure,
        )
    return replace(primary, check_character=check, problems=tuple(problems), text=text)


def link_hibc(primary: HibcData, secondary: HibcData) -> HibcData:
    """Join a primary symbol with its separate secondary symbol, checking the link character.

    >>> primary = parse_hibc("+A999123457")
    >>> secondary = parse_hibc("+$$3251231LOT779")
    >>> joined = link_hibc(primary, secondary)
    >>> joined.di, joined.lot, joined.expiry, joined.problems
    ('A99912345', 'LOT7', datetime.date(2025, 12, 31), ())
    """
    problems = [*primary.problems, *secondary.problems]
    if secondary.link_character != primary.check_character:
        problems.append(
            f"Invalid HIBC link character in {secondary.text!r}: Expected "
            f"{primary.check_character!r} (the check character of {primary.text!r}), "
            f"got {secondary.link_character!r}."
        )
    return replace(
        secondary,
        labeler=primary.labeler,
        product=primary.product,
        unit_of_measure=primary.unit_of_measure,
        check_character=primary.check_character,
        link_character=None,
        problems=tuple(problems),
        text=f"{primary.text}\n{secondary.text}",
    )


def _starts_secondary(body: str) -> bool:
    if body.startswith("$"):
        return True
    # The older secondary form starts with a Julian date (YYJJJ); a primary whose
    # labeler code wrongly starts with a digit is still read as primary when it
    # cannot be such a date or when `/$` shows concatenated secondary data.
    return body[:5].isdecimal() and len(body) >= 6 and "/$" not in body


def _read_primary(text: str, problems: list[str]) -> HibcData:
    if len(text) < 6:
        problems.append(
            f"Invalid HIBC primary data {text!r}: Expected a labeler code (4), a product number "
            f"(1-{MAX_PRODUCT_LENGTH}) and a unit of measure (1), got {len(text)} characters."
        )
        return HibcData()
    labeler, product, unit = text[:4], text[4:-1], text[-1]
    if labeler[0] not in _LETTERS:
        problems.append(
            f"Invalid HIBC labeler code {labeler!r}: Expected a letter first, got {labeler[0]!r}."
        )
    elif not set(labeler) <= _ALPHANUMERIC:
        problems.append(f"Invalid HIBC labeler code {labeler!r}: Expected letters and digits.")
    if len(product) > MAX_PRODUCT_LENGTH:
        problems.append(
            f"Invalid HIBC product number {product!r}: Expected at most "
            f"{MAX_PRODUCT_LENGTH} characters, got {len(product)}."
        )
    if not set(product) <= _ALPHANUMERIC:
        problems.append(f"Invalid HIBC product number {product!r}: Expected letters and digits.")
    if not unit.isdecimal():
        problems.append(
            f"Invalid HIBC unit of measure in {text!r}: Expected a digit 0-9 last, got {unit!r}."
        )
    return HibcData(labeler=labeler, product=product, unit_of_measure=unit)


def _read_secondary(text: str, problems: list[str]) -> HibcData:
    main, *supplements = text.split("/")
    if _SUPPLEMENTAL.match(main) and not main.startswith("$"):
        main, supplements = "", [main, *supplements]
    data = _read_main_secondary(main, problems) if main else HibcData()
    if not main and not supplements:
        problems.append("Invalid HIBC secondary data '': Expected a lot, serial or date.")
    for supplement in supplements:
        data = _read_supplement(supplement, data, problems)
    return data


def _read_main_secondary(main: str, problems: list[str]) -> HibcData:
    if main.startswith("$$+"):
        return _read_dated(main, main[3:], problems, serial=True)
    if main.startswith("$$"):
        return _read_dated(main, main[2:], problems, serial=False)
    if main.startswith("$+"):
        return HibcData(serial=_identifier(main[2:], "serial", MAX_LOT_LENGTH, problems))
    if main.startswith("$"):
        return HibcData(lot=_identifier(main[1:], "lot", MAX_LOT_LENGTH, problems))
    if main[:5].isdecimal():
        expiry = _julian(main[:5], "expiry", "YYJJJ", problems)
        return HibcData(expiry=expiry, lot=_identifier(main[5:], "lot", MAX_LOT_LENGTH, problems))
    problems.append(
        f"Invalid HIBC secondary data {main!r}: Expected '$', '$$', '$+', '$$+' or "
        f"a Julian date (YYJJJ) first, got {main[:1]!r}."
    )
    return HibcData()


def _read_dated(main: str, rest: str, problems: list[str], *, serial: bool) -> HibcData:
    quantity: int | None = None
    flag = rest[:1]
    if flag in ("8", "9"):
        digits = 2 if flag == "8" else 5
        quantity_text = rest[1 : 1 + digits]
        if len(quantity_text) == digits and quantity_text.isdecimal():
            quantity = int(quantity_text)
        else:
            problems.append(
                f"Invalid HIBC quantity in {main!r}: Expected {digits} digits after "
                f"'{flag}', got {quantity_text!r}."
            )
        rest = rest[1 + digits :]
        flag = rest[:1]
    expiry, rest = _read_flagged_expiry(main, flag, rest, problems)
    name = "serial" if serial else "lot"
    identifier = _identifier(rest, name, MAX_LOT_LENGTH, problems)
    if serial:
        return HibcData(serial=identifier, expiry=expiry, quantity=quantity)
    return HibcData(lot=identifier, expiry=expiry, quantity=quantity)


def _read_flagged_expiry(
    main: str, flag: str, rest: str, problems: list[str]
) -> tuple[date | None, str]:
    """Read the expiry after a `$$` date flag; return it and the text after it."""
    if flag in ("0", "1"):
        # No separate flag: the month's first digit is the flag.
        return _month_year(rest[:4], problems), rest[4:]
    if flag == "2":
        return _calendar_date(rest[1:7], "expiry", "MMDDYY", problems), rest[7:]
    if flag == "3":
        return _calendar_date(rest[1:7], "expiry", "YYMMDD", problems), rest[7:]
    if flag == "4":
        return _calendar_date(rest[1:9], "expiry", "YYMMDDHH", problems), rest[9:]
    if flag == "5":
        return _julian(rest[1:6], "expiry", "YYJJJ", problems), rest[6:]
    if flag == "6":
        return _julian(rest[1:8], "expiry", "YYJJJHH", problems), rest[8:]
    if flag in ("7", ""):
        return None, rest[1:]
    problems.append(
        f"Invalid HIBC secondary data {main!r}: Expected a date format flag 0-7, got {flag!r}."
    )
    return None, rest


def _read_supplement(text: str, data: HibcData, problems: list[str]) -> HibcData:
    if text.startswith("S"):
        serial = _identifier(text[1:], "serial", MAX_SUPPLEMENTAL_SERIAL_LENGTH, problems)
        if data.serial is not None and serial != data.serial:
            problems.append(
                f"Conflicting HIBC serials: {data.serial!r} in the secondary data, "
                f"{serial!r} in '/S'."
            )
            return data
        return replace(data, serial=serial)
    if text.startswith(("16D", "14D")):
        name = "production" if text.startswith("16D") else "expiry"
        when = _calendar_date(text[3:], name, "YYYYMMDD", problems)
        if text.startswith("16D"):
            return replace(data, production_date=when)
        if data.expiry is not None and when is not None and when != data.expiry:
            problems.append(
                f"Conflicting HIBC expiry dates: {data.expiry.isoformat()} in the secondary "
                f"data, {when.isoformat()} in '/14D'."
            )
            return data
        return replace(data, expiry=when if when is not None else data.expiry)
    problems.append(
        f"Invalid HIBC supplemental data {'/' + text!r}: Expected '/S', '/16D' or '/14D' first."
    )
    return data


def _identifier(text: str, name: str, max_length: int, problems: list[str]) -> str | None:
    if not text:
        return None
    if len(text) > max_length:
        problems.append(
            f"Invalid HIBC {name} {text!r}: Expected at most {max_length} characters, "
            f"got {len(text)}."
        )
    return text


def _month_year(text: str, problems: list[str]) -> date | None:
    if len(text) != 4 or not text.isdecimal():
        problems.append(f"Invalid HIBC expiry date {text!r} (MMYY): Expected 4 digits.")
        return None
    year, month = 2000 + int(text[2:]), int(text[:2])
    if not 1 <= month <= 12:
        problems.append(
            f"Invalid HIBC expiry date {text!r} (MMYY): Expected a month from 01 to 12, "
            f"got {text[:2]}."
        )
        return None
    return date(year, month, calendar.monthrange(year, month)[1])


def _calendar_date(text: str, name: str, layout: str, problems: list[str]) -> date | None:
    """Read `text` laid out as MMDDYY, YYMMDD, YYMMDDHH or YYYYMMDD."""
    label = f"HIBC {name} date {text!r} ({layout})"
    if len(text) != len(layout) or not text.isdecimal():
        problems.append(f"Invalid {label}: Expected {len(layout)} digits.")
        return None
    if layout == "MMDDYY":
        year, month, day = 2000 + int(text[4:6]), int(text[:2]), int(text[2:4])
    elif layout == "YYYYMMDD":
        year, month, day = int(text[:4]), int(text[4:6]), int(text[6:8])
    else:
        year, month, day = 2000 + int(text[:2]), int(text[2:4]), int(text[4:6])
    if layout == "YYMMDDHH" and int(text[6:8]) > 23:
        problems.append(f"Invalid {label}: Expected an hour from 00 to 23, got {text[6:8]}.")
        return None
    return _valid_date(year, month, day, label, problems)


def _julian(text: str, name: str, layout: str, problems: list[str]) -> date | None:
    label = f"HIBC {name} date {text!r} ({layout})"
    if len(text) != len(layout) or not text.isdecimal():
        problems.append(f"Invalid {label}: Expected {len(layout)} digits.")
        return None
    year, day_of_year = 2000 + int(text[:2]), int(text[2:5])
    days = 366 if calendar.isleap(year) else 365
    if not 1 <= day_of_year <= days:
        problems.append(
            f"Invalid {label}: Expected a day of the year from 001 to {days}, got {text[2:5]}."
        )
        return None
    if layout == "YYJJJHH" and int(text[5:7]) > 23:
        problems.append(f"Invalid {label}: Expected an hour from 00 to 23, got {text[5:7]}.")
        return None
    return date.fromordinal(date(year, 1, 1).toordinal() + day_of_year - 1)


def _valid_date(year: int, month: int, day: int, label: str, problems: list[str]) -> date | None:
    if not 1 <= month <= 12:
        problems.append(f"Invalid {label}: Expected a month from 01 to 12, got {month:02d}.")
        return None
    last_day = calendar.monthrange(year, month)[1]
    if day > last_day:
        problems.append(
            f"Invalid {label}: Expected a day from 00 to {last_day} in "
            f"{year:04d}-{month:02d}, got {day:02d}."
        )
        return None
    # As in GS1, day 00 stands for the month's last day.
    return date(year, month, day or last_day)
