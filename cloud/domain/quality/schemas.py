"""Request and response bodies of nonconformances and CAPAs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from cloud.domain.trace.schemas import SignatureOut

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Description = Annotated[str, msgspec.Meta(max_length=4000)]
HoldNumber = Annotated[str, msgspec.Meta(pattern=r"^H[0-9]{1,18}\Z")]
NcNumber = Annotated[str, msgspec.Meta(pattern=r"^NC[0-9]{1,18}\Z")]


class NonconformanceIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    title: Title
    description: Description = ""
    holds: list[HoldNumber] = []
    """Holds this nonconformance explains (`H1`, ...)."""


class HoldLinkIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    hold_id: HoldNumber


class CapaIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    title: Title
    description: Description = ""
    nonconformances: list[NcNumber] = []


class NonconformanceOut(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    title: str
    description: str
    status: str
    holds: list[str]
    capa: str | None
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    closed_by: str | None
    signatures: list[SignatureOut]


class CapaOut(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    title: str
    description: str
    status: str
    nonconformances: list[str]
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    closed_by: str | None
    signatures: list[SignatureOut]
