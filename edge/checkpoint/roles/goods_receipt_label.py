"""Supplier lot labels (GS1-128 or GS1 DataMatrix on a case, reel, bin or tray), read as
goods receipt and assembly need them: DI (01), lot (10), expiry (17), count (30) or (37).

The DI, lot and expiry come from `protocols.udi` (every check of a UDI applies: GTIN check
digit, impossible dates, lengths); the count is read here, the UDI having no field for it.

>>> label = read_label("0105391234000108172712311012345\\x1d3025")
>>> label.di, label.lot, label.expiry, label.quantity, label.problems
('05391234000108', '12345', datetime.date(2027, 12, 31), 25.0, ())
>>> read_label("(01)05391234000207(37)12").problems
("No lot on the label '(01)05391234000207(37)12': Expected GS1 AI (10).",)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from protocols.udi import GS, Udi, inspect_udi

_COUNT_AIS = ("30", "37")
"""AI (30) variable count of items; AI (37) count of trade items in a logistic unit."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SupplierLabel:
    """What one supplier label says, read as far as it could be."""

    text: str
    """The read, as the scanner sent it (without AIM prefix)."""
    di: str | None
    lot: str | None
    serial: str | None
    """AI (21): set on a serialised component's own label."""
    expiry: dt.date | None
    quantity: float | None
    """AI (30) or (37), if the label carries a count."""
    udi: Udi | None
    """The label as a valid UDI (for the hold list), or None."""
    problems: tuple[str, ...]
    """Why the label cannot be booked; empty when DI and lot were read without fault."""

    @property
    def key(self) -> str:
        return f"{self.di}/{self.lot}"


def read_label(text: str, *, separators: Iterable[str] = (GS,)) -> SupplierLabel:
    """Read a supplier label; `problems` says what is missing or wrong (never raises)."""
    seps = tuple(separators)
    udi, found = inspect_udi(text, separators=seps)
    problems = list(found)
    quantity, count_problem = _count(text, seps)
    if count_problem is not None:
        problems.append(count_problem)
    if udi is not None and udi.issuer != "GS1":
        problems.append(f"Supplier label {text!r} is HIBC data: Expected a GS1 label.")
    if udi is not None and not udi.lot:
        problems.append(f"No lot on the label {text!r}: Expected GS1 AI (10).")
    return SupplierLabel(
        text=text,
        di=udi.di if udi is not None else None,
        lot=udi.lot if udi is not None else None,
        serial=udi.serial if udi is not None else None,
        expiry=udi.expiry if udi is not None else None,
        quantity=quantity,
        udi=udi if udi is not None and not found else None,
        problems=tuple(dict.fromkeys(problems)),
    )


def _count(text: str, separators: tuple[str, ...]) -> tuple[float | None, str | None]:
    """The label's count and a problem with it; (None, None) when it has none or is not an
    element string or `(AI)` text (a broken label is reported by the UDI parser)."""
    from biip import ParseConfig, ParseError
    from biip.gs1_messages import GS1Message

    data = text.strip()
    if data[:1] == "]" and len(data) > 3:
        data = data[3:]
    try:
        if data.startswith("("):
            message = GS1Message.parse_hri(data)
        elif data[:1].isdecimal():
            message = GS1Message.parse(data, config=ParseConfig(separator_chars=list(separators)))
        else:
            return None, None
    except ParseError:
        return None, None
    for ai in _COUNT_AIS:
        element = message.element_strings.get(ai=ai)
        if element is None:
            continue
        count = int(element.value)
        if count <= 0:
            return None, f"Count GS1 AI ({ai}) on {text!r}: Expected more than 0, got {count}."
        return float(count), None
    return None, None
