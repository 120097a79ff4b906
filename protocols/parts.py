"""The structs that event and command bodies are made of: reads, identities, parties, samples."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Literal

import msgspec

from protocols.scalars import (
    CountryCode,
    Di,
    Identifier,
    LotNumber,
    NonNegativeInt,
    Quantity,
    SerialNumber,
    SsccText,
    Text,
    UnitOfMeasure,
    UtcDatetime,
    require_utc,
)
from protocols.sscc import check_sscc, check_sscc_field

__all__ = [
    "AdapterState",
    "ContainerRef",
    "Decision",
    "InterlockResult",
    "LotQuantity",
    "ParameterSample",
    "ParsedUdi",
    "Party",
    "Read",
    "Reason",
    "UnitRef",
]

Decision = Literal["pass", "hold"]
"""A checkpoint's verdict on one unit: `pass` lets it go on, `hold` stops or diverts it."""

SymbologyId = Annotated[str, msgspec.Meta(pattern=r"^\][A-Za-z][0-9A-Za-z]\Z")]


class Read(msgspec.Struct, frozen=True, kw_only=True):
    """One barcode read as the reader delivered it, before any parsing."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=8192)]
    """The decoded text exactly as read, GS (0x1D) separators included, symbology prefix removed."""
    symbology_id: SymbologyId | None = None
    """The AIM symbology identifier such as "]d2" (GS1 DataMatrix); None if the reader gave none."""
    source: Literal["scanner", "camera"]
    """The kind of reader."""
    source_name: Identifier
    """The reader's name in the device config."""
    read_at: UtcDatetime
    """When the reader delivered the read (device clock, UTC)."""

    def __post_init__(self) -> None:
        require_utc("read_at", self.read_at)


class ParsedUdi(msgspec.Struct, frozen=True, kw_only=True):
    """The UDI parsed from the reads: only present when parsing found a device identifier."""

    issuer: Literal["GS1", "HIBCC"]
    """The issuing agency whose syntax the UDI follows."""
    di: Di
    """The device identifier (GTIN-14, or HIBCC labeler + product + unit of measure)."""
    lot: LotNumber | None = None
    """Lot or batch number, if the label carries one."""
    serial: SerialNumber | None = None
    """Serial number, if the label carries one."""
    expiry: dt.date | None = None
    """Expiry date; a GS1 day of 00 has already been resolved to the month's last day."""
    production_date: dt.date | None = None
    """Production (manufacturing) date."""


class ParameterSample(msgspec.Struct, frozen=True, kw_only=True):
    """One process parameter as last polled from the PLC when the decision was made."""

    name: Identifier
    """The parameter's name in the register map, such as "seal_temp"."""
    value: float | None
    """The scaled value, or None when it could not be read or was not a finite number."""
    unit: Annotated[str, msgspec.Meta(max_length=16)] = ""
    """Engineering unit such as "degC", "bar" or "ms"; empty for a dimensionless value."""
    lo: float | None = None
    """Lower specification limit (inclusive), if any."""
    hi: float | None = None
    """Upper specification limit (inclusive), if any."""
    age_ms: NonNegativeInt
    """How old the value was at decision time, in milliseconds."""
    in_limits: bool
    """Whether the value was present and within [lo, hi]."""

    def __post_init__(self) -> None:
        for field, number in (("value", self.value), ("lo", self.lo), ("hi", self.hi)):
            # JSON has no NaN or infinity; msgspec would write null and the event would not decode.
            if number is not None and not math.isfinite(number):
                raise ValueError(
                    f"{field}: expected a finite number or None for parameter {self.name!r}, "
                    f"got {number}"
                )


class Reason(msgspec.Struct, frozen=True, kw_only=True):
    """Why a decision came out as it did, for machines (code) and people (text)."""

    code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    """A stable code such as "udi.missing" or "param.out_of_limits"."""
    text: Text = ""
    """A sentence for the operator naming the input, the expectation and what was found."""


class InterlockResult(msgspec.Struct, frozen=True, kw_only=True):
    """What happened when the decision was signalled to the PLC."""

    output: Identifier
    """The interlock output's name in the device config, such as "pass" or "reject"."""
    written: bool
    """Whether the write was acknowledged by the PLC."""
    verified: bool
    """Whether reading the output back returned the value written."""
    error: Text | None = None
    """What went wrong, when the write or the read-back failed."""


class UnitRef(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="unit"):
    """A unit identified by its UDI: the device identifier plus a serial and/or a lot."""

    di: Di
    """The device identifier."""
    serial: SerialNumber | None = None
    """Serial number; identifies the single unit when present."""
    lot: LotNumber | None = None
    """Lot number; the identity for lot-controlled units without a serial."""
    raw: Annotated[str, msgspec.Meta(max_length=8192)] | None = None
    """The text the identity was parsed from, if it came from a read."""

    def __post_init__(self) -> None:
        if self.serial is None and self.lot is None:
            raise ValueError(f"Invalid unit {self.di!r}: expected a serial or a lot, got neither")


class LotQuantity(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="lot"):
    """An amount taken from (or made into) a lot."""

    di: Di
    """The device identifier of the lot's material or part."""
    lot: LotNumber
    """The lot number."""
    quantity: Quantity
    """How much, in `unit_of_measure`."""
    unit_of_measure: UnitOfMeasure = "EA"
    """Unit of measure of `quantity` ("EA" for pieces)."""


class ContainerRef(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="container"):
    """A logistic unit (case, pallet) identified by its SSCC."""

    sscc: SsccText
    """The 18-digit SSCC; its check digit is verified."""

    def __post_init__(self) -> None:
        check_sscc_field("sscc", self.sscc)

    @classmethod
    def parse(cls, text: str) -> ContainerRef:
        """Build a reference from SSCC text, raising ValueError on a wrong length or check digit.

        >>> ContainerRef.parse("376130321109103420")
        ContainerRef(sscc='376130321109103420')
        """
        return cls(sscc=check_sscc(text))


class Party(msgspec.Struct, frozen=True, kw_only=True):
    """A recipient or sender of goods: a customer, a distributor, a hospital."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    """The party's name."""
    address_lines: tuple[Annotated[str, msgspec.Meta(max_length=256)], ...] = ()
    """Street address lines, in order, without the country."""
    country_code: CountryCode
    """ISO 3166-1 alpha-2 code of the destination country."""
    region: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    """State, province or region, where the address uses one."""
    gln: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{13}\Z")] | None = None
    """The party's GS1 Global Location Number, if known (used for EPCIS export)."""


class AdapterState(msgspec.Struct, frozen=True, kw_only=True):
    """The link state of one device adapter (scanner, camera, PLC, broker) on an edge agent."""

    name: Identifier
    """The adapter's name in the device config."""
    kind: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    """The adapter kind, such as "scanner", "camera", "plc" or "mqtt"."""
    state: Literal["up", "down", "unknown"]
    """Whether the link works now."""
    since: UtcDatetime | None = None
    """When the adapter entered this state, if known."""
    detail: Text | None = None
    """The last error or a short note, for people."""

    def __post_init__(self) -> None:
        if self.since is not None:
            require_utc("since", self.since)
