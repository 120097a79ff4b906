"""Products (by UDI device identifier), materials and their suppliers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db.base import Base
from cloud.db.types import UtcDateTime, utc_now


class Product(Base):
    """A device model identified by its UDI-DI (a GS1 GTIN or a HIBCC labeler+product+UoM).

    The columns follow the FDA GUDID record's core attributes; the rest of a
    GUDID record goes into `attributes`.
    """

    __tablename__ = "products"
    __table_args__ = (CheckConstraint("issuer IN ('GS1', 'HIBCC')", name="issuer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    di: Mapped[str] = mapped_column(String(32), unique=True)
    issuer: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(100), default="")
    brand_name: Mapped[str] = mapped_column(String(200), default="")
    company_name: Mapped[str] = mapped_column(String(200), default="")
    catalog_number: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(String(2000), default="")
    device_count: Mapped[int] = mapped_column(Integer, default=1)
    sterile: Mapped[bool] = mapped_column(Boolean, default=False)
    single_use: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, onupdate=utc_now)


class Supplier(Base):
    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500), default="")
    approved: Mapped[bool] = mapped_column(Boolean, default=True)


class Material(Base):
    """A purchased component or raw material, optionally carrying its own DI."""

    __tablename__ = "materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    di: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    uom: Mapped[str] = mapped_column(String(16), default="EA")
    supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("suppliers.id", ondelete="RESTRICT"), default=None
    )
