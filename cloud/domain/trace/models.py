"""Indexes the trace queries need on tables of the data model (created by migration 8a01)."""

from __future__ import annotations

from sqlalchemy import Index

from cloud.domain.shipments.models import ShipmentItem

# A unit's shipments are found from its `shipped` unit events: by the event that shipped it.
SHIPMENT_ITEMS_BY_EVENT = Index("ix_shipment_items_event_id", ShipmentItem.__table__.c.event_id)
