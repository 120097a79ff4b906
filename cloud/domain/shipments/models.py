"""Shipments to recipients and what each carried (containers, units, lot quantities)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloud.db.base import Base
from cloud.db.types import UtcDateTime, utc_now
from cloud.domain.customers.models import Customer


class Shipment(Base):
    """A shipment; planned through the API or first seen in a `container.shipped` event.

    The recipient's name and address are copied at shipping time: a recall
    report needs where it went, not where the customer lives today.
    """

    __tablename__ = "shipments"
    __table_args__ = (CheckConstraint("status IN ('planned', 'shipped')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), default=None, index=True
    )
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    recipient_address: Mapped[str] = mapped_column(String(500), default="")
    order_ref: Mapped[str] = mapped_column(String(64), default="")
    ship_date: Mapped[date | None] = mapped_column(Date, default=None)
    status: Mapped[str] = mapped_column(String(16), default="planned")
    shipped_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    customer: Mapped[Customer | None] = relationship()
    items: Mapped[list[ShipmentItem]] = relationship(
        back_populates="shipment", order_by="ShipmentItem.id", cascade="all, delete-orphan"
    )


class ShipmentItem(Base):
    """One line of a shipment: a container (SSCC), a unit, or a quantity of a lot."""

    __tablename__ = "shipment_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(
        ForeignKey("shipments.id", ondelete="CASCADE"), index=True
    )
    container_id: Mapped[int | None] = mapped_column(
        ForeignKey("containers.id", ondelete="RESTRICT"), default=None, index=True
    )
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), default=None, index=True
    )
    lot_id: Mapped[int | None] = mapped_column(
        ForeignKey("lots.id", ondelete="RESTRICT"), default=None, index=True
    )
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    shipment: Mapped[Shipment] = relationship(back_populates="items")
