"""Request and response bodies of the catalog API (products, suppliers, materials)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from protocols.scalars import Di

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Short = Annotated[str, msgspec.Meta(max_length=200)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class ProductIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    di: Di
    issuer: Literal["GS1", "HIBCC"]
    name: Name
    model: Annotated[str, msgspec.Meta(max_length=100)] = ""
    brand_name: Short = ""
    company_name: Short = ""
    catalog_number: Annotated[str, msgspec.Meta(max_length=100)] = ""
    description: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    device_count: Annotated[int, msgspec.Meta(ge=1)] = 1
    sterile: bool = False
    single_use: bool = False
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)


class ProductPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    model: Annotated[str, msgspec.Meta(max_length=100)] | UnsetType = UNSET
    brand_name: Short | UnsetType = UNSET
    company_name: Short | UnsetType = UNSET
    catalog_number: Annotated[str, msgspec.Meta(max_length=100)] | UnsetType = UNSET
    description: Annotated[str, msgspec.Meta(max_length=2000)] | UnsetType = UNSET
    device_count: Annotated[int, msgspec.Meta(ge=1)] | UnsetType = UNSET
    sterile: bool | UnsetType = UNSET
    single_use: bool | UnsetType = UNSET
    attributes: dict[str, Any] | UnsetType = UNSET


class ProductOut(msgspec.Struct, frozen=True, kw_only=True):
    di: str
    issuer: str
    name: str
    model: str
    brand_name: str
    company_name: str
    catalog_number: str
    description: str
    device_count: int
    sterile: bool
    single_use: bool
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class SupplierIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Code
    name: Name
    address: Annotated[str, msgspec.Meta(max_length=500)] = ""
    approved: bool = True


class SupplierOut(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    address: str
    approved: bool


class MaterialIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Code
    name: Name
    di: Di | None = None
    uom: Annotated[str, msgspec.Meta(min_length=1, max_length=16)] = "EA"
    supplier: Code | None = None
    """The supplier's code."""


class MaterialOut(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    di: str | None
    uom: str
    supplier: str | None
