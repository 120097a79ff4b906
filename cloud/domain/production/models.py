"""Work orders: what a line makes, under which lot, until when."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloud.db.base import Base
from cloud.db.types import UtcDateTime, utc_now
from cloud.domain.catalog.models import Product
from cloud.domain.plant.models import Line

WORK_ORDER_STATUSES = ("draft", "active", "closed")


class WorkOrder(Base):
    __tablename__ = "work_orders"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'active', 'closed')", name="status"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="RESTRICT"), index=True)
    lot: Mapped[str] = mapped_column(String(64))
    expiry: Mapped[date | None] = mapped_column(Date, default=None)
    production_date: Mapped[date | None] = mapped_column(Date, default=None)
    quantity: Mapped[int] = mapped_column(Integer)
    route: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Checkpoint codes on the line, in the order a unit passes them."""
    bom: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )
    """The bill of materials per unit, in its order: `{"di", "quantity_per_unit",
    "unit_of_measure"}` each (`production.bom`); JSON like `route`, so a change is audited
    with the order's row."""
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    product: Mapped[Product] = relationship()
    line: Mapped[Line] = relationship()
