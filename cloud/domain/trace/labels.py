"""A unit's UDI written out for people (the `(01)` form) and for machines (GS1 Digital Link)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol
from urllib.parse import quote

DIGITAL_LINK_BASE = "https://id.gs1.org"


class Identified(Protocol):
    """Anything with a unit's identifiers (a trace's unit rows)."""

    @property
    def di(self) -> str: ...
    @property
    def serial(self) -> str | None: ...
    @property
    def lot(self) -> str | None: ...


def is_gtin(di: str) -> bool:
    return len(di) == 14 and di.isdigit()


def udi_text(di: str, *, serial: str | None, lot: str | None) -> str:
    """The human-readable UDI: GS1 `(01)..(10)..(21)..`, or HIBC `+DI/$$lot/Sserial`.

    >>> udi_text("09506000134352", serial="SN1", lot="A1")
    '(01)09506000134352(10)A1(21)SN1'
    >>> udi_text("A99912345", serial=None, lot="10X3")
    '+A99912345/$$10X3'
    """
    if is_gtin(di):
        return f"(01){di}" + (f"(10){lot}" if lot else "") + (f"(21){serial}" if serial else "")
    return f"+{di}" + (f"/$${lot}" if lot else "") + (f"/S{serial}" if serial else "")


def udi_texts(units: Iterable[Identified]) -> list[str]:
    """`udi_text` of each unit, the common GS1 form written inline and the GTIN check made
    once per DI: a forward trace or a recall writes out 10,000 to 100,000 of them.

    >>> class U:
    ...     di, serial, lot = "09506000134352", "SN1", "A1"
    >>> udi_texts([U()])
    ['(01)09506000134352(10)A1(21)SN1']
    """
    gtins: dict[str, bool] = {}
    out = []
    for u in units:
        di, serial, lot = u.di, u.serial, u.lot
        gtin = gtins.get(di)
        if gtin is None:
            gtin = gtins[di] = is_gtin(di)
        if gtin and lot and serial:
            out.append(f"(01){di}(10){lot}(21){serial}")
        else:
            out.append(udi_text(di, serial=serial, lot=lot))
    return out


def _segment(value: str) -> str:
    return quote(value, safe="")


def instance_uri(di: str, *, serial: str | None, lot: str | None) -> str:
    """The identifier of one unit: a GS1 Digital Link for GTINs, a URN for HIBCC DIs.

    >>> instance_uri("09506000134352", serial="SN/1", lot=None)
    'https://id.gs1.org/01/09506000134352/21/SN%2F1'
    """
    if is_gtin(di):
        if serial:
            return f"{DIGITAL_LINK_BASE}/01/{di}/21/{_segment(serial)}"
        return f"{DIGITAL_LINK_BASE}/01/{di}/10/{_segment(lot or '')}"
    tail = f"S:{serial}" if serial else f"L:{lot}"
    return f"urn:tracegate:hibcc:{_segment(di)}:{_segment(tail)}"


def class_uri(di: str, *, lot: str | None) -> str:
    """The identifier of a lot (an EPCIS class with a quantity): DI + lot as a Digital Link."""
    if is_gtin(di):
        base = f"{DIGITAL_LINK_BASE}/01/{di}"
        return f"{base}/10/{_segment(lot)}" if lot else base
    return f"urn:tracegate:hibcc:{_segment(di)}" + (f":L:{_segment(lot)}" if lot else "")


def sscc_uri(sscc: str) -> str:
    """A logistic unit as a Digital Link (AI 00).

    >>> sscc_uri("376130321109103420")
    'https://id.gs1.org/00/376130321109103420'
    """
    return f"{DIGITAL_LINK_BASE}/00/{sscc}"
