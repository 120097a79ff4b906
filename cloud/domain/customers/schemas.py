"""Request and response bodies of the customer API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Street = Annotated[str, msgspec.Meta(max_length=300)]
City = Annotated[str, msgspec.Meta(max_length=100)]
Postal = Annotated[str, msgspec.Meta(max_length=20)]
Region = Annotated[str, msgspec.Meta(max_length=100)]
Country = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")]
Email = Annotated[str, msgspec.Meta(max_length=200, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class CustomerIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Code
    name: Name
    country: Country
    """ISO 3166-1 alpha-2, e.g. "DE"."""
    street: Street = ""
    city: City = ""
    postal_code: Postal = ""
    region: Region = ""
    email: Email = ""


class CustomerPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    country: Country | UnsetType = UNSET
    street: Street | UnsetType = UNSET
    city: City | UnsetType = UNSET
    postal_code: Postal | UnsetType = UNSET
    region: Region | UnsetType = UNSET
    email: Email | UnsetType = UNSET


class CustomerOut(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    country: str
    street: str
    city: str
    postal_code: str
    region: str
    email: str
    created_at: datetime
