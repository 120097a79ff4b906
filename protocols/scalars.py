"""Constrained scalar types shared by the wire structs.

msgspec checks these constraints when it decodes a message; it does not check them when a
struct is built in Python, which is why `protocols.codec.encode_event` decodes its own output
before handing it over.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

__all__ = [
    "SCHEMA",
    "CountryCode",
    "Di",
    "Identifier",
    "LotNumber",
    "NonNegativeFloat",
    "NonNegativeInt",
    "Quantity",
    "Schema",
    "Segment",
    "SerialNumber",
    "Sha256Hex",
    "SsccText",
    "Text",
    "UnitOfMeasure",
    "UtcDatetime",
    "require_utc",
]

SCHEMA: Literal["tracegate/1"] = "tracegate/1"
"""The wire schema version written into every event and command."""

Schema = Literal["tracegate/1"]

Segment = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[^/+#\x00-\x1f\x7f]+\Z",
        description="A name that is also an MQTT topic segment: no '/', '+', '#' or controls.",
    ),
]
"""Site, line, checkpoint and device names: each one becomes an MQTT topic segment."""

Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
"""A non-empty reference such as a work order, order, shipment, hold or RMA number."""

Text = Annotated[str, msgspec.Meta(max_length=4096)]
"""Free text for people (reasons, errors); bounded so one message stays small."""

Di = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=25,
        pattern=r"^[0-9A-Z]+\Z",
        description="UDI device identifier: a GTIN, or HIBCC labeler + product + unit of measure.",
    ),
]
"""A UDI device identifier (GTIN-14 digits, or the HIBCC labeler, product and unit of measure)."""

LotNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
"""A lot or batch number; GS1 AI (10) allows at most 20 characters."""

SerialNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
"""A serial number; GS1 AI (21) allows at most 20 characters."""

SsccText = Annotated[str, msgspec.Meta(min_length=18, max_length=18, pattern=r"^[0-9]{18}\Z")]
"""An SSCC as 18 digits; the check digit is verified by `protocols.sscc.check_sscc`."""

Sha256Hex = Annotated[str, msgspec.Meta(pattern=r"^(?:[0-9a-f]{64})?\Z")]
"""A lowercase SHA-256 hex digest, or "" where there is none (the first event of a chain)."""

CountryCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}\Z")]
"""An ISO 3166-1 alpha-2 country code such as "DE"."""

UnitOfMeasure = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
"""A unit of measure for a quantity ("EA", "kg", "m"); UN/ECE rec. 20 codes are preferred."""

Quantity = Annotated[float, msgspec.Meta(gt=0)]
"""A strictly positive amount, in the unit of measure beside it."""

NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]

UtcDatetime = Annotated[dt.datetime, msgspec.Meta(tz=True)]
"""A timezone-aware datetime; the structs holding one also require its offset to be zero."""


def require_utc(field: str, value: dt.datetime) -> None:
    """Raise ValueError unless `value` is timezone-aware with a zero UTC offset.

    >>> require_utc("occurred_at", dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc))
    >>> require_utc("occurred_at", dt.datetime(2024, 5, 1))
    Traceback (most recent call last):
    ...
    ValueError: occurred_at: expected a UTC time, got 2024-05-01T00:00:00 without a timezone
    """
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(
            f"{field}: expected a UTC time, got {value.isoformat()} without a timezone"
        )
    if offset:
        raise ValueError(f"{field}: expected a UTC time, got {value.isoformat()}")
