"""Which unit a request means: a UDI in any form `tracegate udi parse` reads, or DI + serial."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cloud.domain.errors import InvalidFieldError
from cloud.domain.genealogy.models import unit_ident
from protocols.udi import inspect_udi

_ESCAPED_GS = re.compile(r"\\x1d", re.IGNORECASE)
_DI_AND_SERIAL = re.compile(
    r"^(?P<di>[0-9]{14}|[A-Z][A-Z0-9]{3}[A-Z0-9]{1,18}[0-9])[:+](?P<serial>[^\s/]{1,64})\Z"
)
"""A GTIN-14 or a HIBC DI (labeler, product, unit of measure), then the serial."""
_COLLAPSED_SCHEME = re.compile(r"^(https?):/(?!/)", re.IGNORECASE)
GS = "\x1d"


@dataclass(frozen=True, slots=True)
class UnitKey:
    """A unit's identity: its DI and `S:<serial>` (or `L:<lot>` for lot-controlled units)."""

    di: str
    ident: str

    @classmethod
    def of(cls, *, di: str, serial: str | None, lot: str | None) -> UnitKey:
        return cls(di=di, ident=unit_ident(serial=serial, lot=lot))


def parse_unit_id(text: str, *, field: str = "unit_id") -> UnitKey:
    """Read a unit identifier: GS1 element string (GS literal or written `\\x1d`), `(01)...`
    text, GS1 Digital Link URI, HIBC, or `DI:SERIAL` / `DI+SERIAL`.

    >>> parse_unit_id("(01)09506000134352(10)A1(21)SN1")
    UnitKey(di='09506000134352', ident='S:SN1')
    >>> parse_unit_id("09506000134352:SN1")
    UnitKey(di='09506000134352', ident='S:SN1')
    """
    value = _ESCAPED_GS.sub(GS, text.strip())
    if value.startswith("/") and not value.startswith("//"):
        value = value[1:]  # a `{unit_id:path}` parameter keeps the slash before it
    # The router merges the `//` of a Digital Link URI passed in the path into one `/`.
    value = _COLLAPSED_SCHEME.sub(r"\1://", value)
    if not value:
        raise InvalidFieldError(field, "expected a UDI or DI:serial, got nothing")
    udi, problems = inspect_udi(value)
    if udi is not None and not problems:
        if not (udi.serial or udi.lot):
            raise InvalidFieldError(
                field,
                f"the UDI {value!r} names DI {udi.di} but neither a serial nor a lot: "
                "it identifies a product, not a unit",
            )
        return UnitKey.of(di=udi.di, serial=udi.serial, lot=udi.lot)
    plain = _DI_AND_SERIAL.match(value)
    if plain is not None and not value.startswith("+"):
        return UnitKey.of(di=plain["di"], serial=plain["serial"], lot=None)
    found = "; ".join(problems) if problems else "no device identifier"
    raise InvalidFieldError(
        field,
        f"expected a UDI (GS1 element string, (01) text, Digital Link URI or HIBC) or "
        f"DI:serial, got {value!r} ({found})",
    )
