"""Initial schema: plant, catalog, work orders, customers, genealogy, shipments, holds, events.

On PostgreSQL `events` is partitioned by RANGE (id_time); its monthly
partitions are created by the ingest when first needed
(cloud.domain.events.partitions). On SQLite it is a plain table.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 04:25:38.307275
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "containers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sscc", sa.String(length=18), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_containers")),
        sa.UniqueConstraint("sscc", name=op.f("uq_containers_sscc")),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("street", sa.String(length=300), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("code", name=op.f("uq_customers_code")),
    )
    op.create_index(op.f("ix_customers_region"), "customers", ["region"], unique=False)

    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("topic", sa.String(length=300), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("payload_size", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_index(
        op.f("ix_dead_letters_received_at"), "dead_letters", ["received_at"], unique=False
    )

    op.create_table(
        "device_sequences",
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("max_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_sequences")),
    )
    op.create_table(
        "events",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("id_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("line", sa.String(length=64), nullable=False),
        sa.Column("checkpoint", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clock_offset_ms", sa.BigInteger(), nullable=False),
        sa.Column("clock_skew", sa.Boolean(), nullable=False),
        sa.Column("seq_reused", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "id_time", name=op.f("pk_events")),
        postgresql_partition_by="RANGE (id_time)",
    )
    op.create_index(op.f("ix_events_device_id_seq"), "events", ["device_id", "seq"], unique=False)

    op.create_table(
        "genealogy_edges",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("parent_kind", sa.String(length=8), nullable=False),
        sa.Column(
            "parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("child_kind", sa.String(length=8), nullable=False),
        sa.Column("child_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=True),
        sa.Column("uom", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "child_kind IN ('unit', 'lot')", name=op.f("ck_genealogy_edges_child_kind")
        ),
        sa.CheckConstraint(
            "parent_kind IN ('unit', 'lot')", name=op.f("ck_genealogy_edges_parent_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_genealogy_edges")),
        sa.UniqueConstraint(
            "parent_kind",
            "parent_id",
            "child_kind",
            "child_id",
            "event_id",
            name=op.f("uq_genealogy_edges_parent_kind_parent_id_child_kind_child_id_event_id"),
        ),
    )
    op.create_index(
        op.f("ix_genealogy_edges_child_kind_child_id"),
        "genealogy_edges",
        ["child_kind", "child_id"],
        unique=False,
    )

    op.create_table(
        "lineage",
        sa.Column("ancestor_kind", sa.String(length=8), nullable=False),
        sa.Column(
            "ancestor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("descendant_kind", sa.String(length=8), nullable=False),
        sa.Column(
            "descendant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.PrimaryKeyConstraint(
            "ancestor_kind",
            "ancestor_id",
            "descendant_kind",
            "descendant_id",
            name=op.f("pk_lineage"),
        ),
    )
    op.create_index(
        op.f("ix_lineage_descendant_kind_descendant_id"),
        "lineage",
        ["descendant_kind", "descendant_id"],
        unique=False,
    )

    op.create_table(
        "lots",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("di", sa.String(length=32), nullable=False),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.Column("production_date", sa.Date(), nullable=True),
        sa.Column("quantity", sa.Float(), nullable=True),
        sa.Column("uom", sa.String(length=16), nullable=False),
        sa.Column("supplier", sa.String(length=200), nullable=False),
        sa.Column("inspection_state", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lots")),
        sa.UniqueConstraint("di", "lot", name=op.f("uq_lots_di_lot")),
    )
    op.create_table(
        "outgoing_commands",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("topic", sa.String(length=300), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("retain", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_commands")),
    )
    op.create_index(
        op.f("ix_outgoing_commands_published_at_id"),
        "outgoing_commands",
        ["published_at", "id"],
        unique=False,
    )

    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("di", sa.String(length=32), nullable=False),
        sa.Column("issuer", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("brand_name", sa.String(length=200), nullable=False),
        sa.Column("company_name", sa.String(length=200), nullable=False),
        sa.Column("catalog_number", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("device_count", sa.Integer(), nullable=False),
        sa.Column("sterile", sa.Boolean(), nullable=False),
        sa.Column("single_use", sa.Boolean(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("issuer IN ('GS1', 'HIBCC')", name=op.f("ck_products_issuer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("di", name=op.f("uq_products_di")),
    )
    op.create_table(
        "seq_gaps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("missing", sa.BigInteger(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seq_gaps")),
    )
    op.create_index(
        op.f("ix_seq_gaps_device_id_closed_at"),
        "seq_gaps",
        ["device_id", "closed_at"],
        unique=False,
    )

    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("code", name=op.f("uq_sites_code")),
    )
    op.create_table(
        "suppliers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
        sa.UniqueConstraint("code", name=op.f("uq_suppliers_code")),
    )
    op.create_table(
        "containment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("child_kind", sa.String(length=10), nullable=False),
        sa.Column("child_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "container_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("packed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unpacked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pack_event_id", sa.Uuid(), nullable=True),
        sa.Column("unpack_event_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "child_kind IN ('unit', 'container')", name=op.f("ck_containment_child_kind")
        ),
        sa.ForeignKeyConstraint(
            ["container_id"],
            ["containers.id"],
            name=op.f("fk_containment_container_id_containers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_containment")),
    )
    op.create_index(
        op.f("ix_containment_child_kind_child_id"),
        "containment",
        ["child_kind", "child_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_containment_container_id"), "containment", ["container_id"], unique=False
    )

    op.create_table(
        "lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_lines_site_id_sites"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lines")),
        sa.UniqueConstraint("site_id", "code", name=op.f("uq_lines_site_id_code")),
    )
    op.create_table(
        "materials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("di", sa.String(length=32), nullable=True),
        sa.Column("uom", sa.String(length=16), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_materials_supplier_id_suppliers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_materials")),
        sa.UniqueConstraint("code", name=op.f("uq_materials_code")),
    )
    op.create_index(op.f("ix_materials_di"), "materials", ["di"], unique=False)

    op.create_table(
        "shipments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("recipient_name", sa.String(length=200), nullable=False),
        sa.Column("recipient_address", sa.String(length=500), nullable=False),
        sa.Column("order_ref", sa.String(length=64), nullable=False),
        sa.Column("ship_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('planned', 'shipped')", name=op.f("ck_shipments_status")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_shipments_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
        sa.UniqueConstraint("number", name=op.f("uq_shipments_number")),
    )
    op.create_index(op.f("ix_shipments_customer_id"), "shipments", ["customer_id"], unique=False)

    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["lines.id"],
            name=op.f("fk_checkpoints_line_id_lines"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoints")),
        sa.UniqueConstraint("line_id", "code", name=op.f("uq_checkpoints_line_id_code")),
    )
    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.Column("production_date", sa.Date(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("route", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'closed')", name=op.f("ck_work_orders_status")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_work_orders_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["lines.id"],
            name=op.f("fk_work_orders_line_id_lines"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_work_orders_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_work_orders_number")),
    )
    op.create_index(op.f("ix_work_orders_line_id"), "work_orders", ["line_id"], unique=False)

    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("registered_by", sa.String(length=16), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["checkpoints.id"],
            name=op.f("fk_devices_checkpoint_id_checkpoints"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("device_id", name=op.f("uq_devices_device_id")),
    )
    op.create_index(op.f("ix_devices_checkpoint_id"), "devices", ["checkpoint_id"], unique=False)

    op.create_table(
        "units",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("di", sa.String(length=32), nullable=False),
        sa.Column("ident", sa.String(length=80), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=True),
        sa.Column("lot", sa.String(length=64), nullable=True),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.Column("production_date", sa.Date(), nullable=True),
        sa.Column("work_order", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_checkpoint_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('in_process', 'held', 'in_stock', 'shipped', 'returned', 'scrapped')",
            name=op.f("ck_units_status"),
        ),
        sa.ForeignKeyConstraint(
            ["last_checkpoint_id"],
            ["checkpoints.id"],
            name=op.f("fk_units_last_checkpoint_id_checkpoints"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("di", "ident", name=op.f("uq_units_di_ident")),
    )
    op.create_index(op.f("ix_units_di_lot"), "units", ["di", "lot"], unique=False)
    op.create_index(op.f("ix_units_work_order"), "units", ["work_order"], unique=False)

    op.create_table(
        "holds",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("di", sa.String(length=32), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=True),
        sa.Column("lot", sa.String(length=64), nullable=True),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("checkpoint_id", sa.Integer(), nullable=True),
        sa.Column("placed_by", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("scope IN ('unit', 'lot')", name=op.f("ck_holds_scope")),
        sa.CheckConstraint("source IN ('edge', 'cloud')", name=op.f("ck_holds_source")),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_holds_status")),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["checkpoints.id"],
            name=op.f("fk_holds_checkpoint_id_checkpoints"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], name=op.f("fk_holds_lot_id_lots"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_holds_unit_id_units"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
        sa.UniqueConstraint("event_id", name=op.f("uq_holds_event_id")),
    )
    op.create_index(op.f("ix_holds_di_lot"), "holds", ["di", "lot"], unique=False)
    op.create_index(op.f("ix_holds_lot_id"), "holds", ["lot_id"], unique=False)
    op.create_index(op.f("ix_holds_unit_id"), "holds", ["unit_id"], unique=False)

    op.create_table(
        "measurements",
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("parameter", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("uom", sa.String(length=16), nullable=False),
        sa.Column("low", sa.Float(), nullable=True),
        sa.Column("high", sa.Float(), nullable=True),
        sa.Column("age_ms", sa.Integer(), nullable=True),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["checkpoints.id"],
            name=op.f("fk_measurements_checkpoint_id_checkpoints"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
            name=op.f("fk_measurements_unit_id_units"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("unit_id", "event_id", "parameter", name=op.f("pk_measurements")),
    )
    op.create_index(
        op.f("ix_measurements_checkpoint_id_parameter_measured_at"),
        "measurements",
        ["checkpoint_id", "parameter", "measured_at"],
        unique=False,
    )

    op.create_table(
        "shipment_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column(
            "container_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("lot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["container_id"],
            ["containers.id"],
            name=op.f("fk_shipment_items_container_id_containers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], name=op.f("fk_shipment_items_lot_id_lots"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
            name=op.f("fk_shipment_items_shipment_id_shipments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
            name=op.f("fk_shipment_items_unit_id_units"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_items")),
    )
    op.create_index(
        op.f("ix_shipment_items_container_id"), "shipment_items", ["container_id"], unique=False
    )
    op.create_index(op.f("ix_shipment_items_lot_id"), "shipment_items", ["lot_id"], unique=False)
    op.create_index(
        op.f("ix_shipment_items_shipment_id"), "shipment_items", ["shipment_id"], unique=False
    )
    op.create_index(op.f("ix_shipment_items_unit_id"), "shipment_items", ["unit_id"], unique=False)

    op.create_table(
        "unit_events",
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["checkpoint_id"],
            ["checkpoints.id"],
            name=op.f("fk_unit_events_checkpoint_id_checkpoints"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["units.id"],
            name=op.f("fk_unit_events_unit_id_units"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("unit_id", "occurred_at", "event_id", name=op.f("pk_unit_events")),
    )

    op.create_table(
        "dispositions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hold_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "decision IN ('release', 'scrap', 'rework', 'quarantine')",
            name=op.f("ck_dispositions_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["holds.id"],
            name=op.f("fk_dispositions_hold_id_holds"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispositions")),
    )
    op.create_index(op.f("ix_dispositions_hold_id"), "dispositions", ["hold_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dispositions_hold_id"), table_name="dispositions")

    op.drop_table("dispositions")

    op.drop_table("unit_events")
    op.drop_index(op.f("ix_shipment_items_unit_id"), table_name="shipment_items")
    op.drop_index(op.f("ix_shipment_items_shipment_id"), table_name="shipment_items")
    op.drop_index(op.f("ix_shipment_items_lot_id"), table_name="shipment_items")
    op.drop_index(op.f("ix_shipment_items_container_id"), table_name="shipment_items")

    op.drop_table("shipment_items")
    op.drop_index(
        op.f("ix_measurements_checkpoint_id_parameter_measured_at"), table_name="measurements"
    )

    op.drop_table("measurements")
    op.drop_index(op.f("ix_holds_unit_id"), table_name="holds")
    op.drop_index(op.f("ix_holds_lot_id"), table_name="holds")
    op.drop_index(op.f("ix_holds_di_lot"), table_name="holds")

    op.drop_table("holds")
    op.drop_index(op.f("ix_units_work_order"), table_name="units")
    op.drop_index(op.f("ix_units_di_lot"), table_name="units")

    op.drop_table("units")
    op.drop_index(op.f("ix_devices_checkpoint_id"), table_name="devices")

    op.drop_table("devices")
    op.drop_index(op.f("ix_work_orders_line_id"), table_name="work_orders")

    op.drop_table("work_orders")
    op.drop_table("checkpoints")
    op.drop_index(op.f("ix_shipments_customer_id"), table_name="shipments")

    op.drop_table("shipments")
    op.drop_index(op.f("ix_materials_di"), table_name="materials")

    op.drop_table("materials")
    op.drop_table("lines")
    op.drop_index(op.f("ix_containment_container_id"), table_name="containment")
    op.drop_index(op.f("ix_containment_child_kind_child_id"), table_name="containment")

    op.drop_table("containment")
    op.drop_table("suppliers")
    op.drop_table("sites")
    op.drop_index(op.f("ix_seq_gaps_device_id_closed_at"), table_name="seq_gaps")

    op.drop_table("seq_gaps")
    op.drop_table("products")
    op.drop_index(op.f("ix_outgoing_commands_published_at_id"), table_name="outgoing_commands")

    op.drop_table("outgoing_commands")
    op.drop_table("lots")
    op.drop_index(op.f("ix_lineage_descendant_kind_descendant_id"), table_name="lineage")

    op.drop_table("lineage")
    op.drop_index(op.f("ix_genealogy_edges_child_kind_child_id"), table_name="genealogy_edges")

    op.drop_table("genealogy_edges")
    op.drop_index(op.f("ix_events_device_id_seq"), table_name="events")

    op.drop_table("events")
    op.drop_table("device_sequences")
    op.drop_index(op.f("ix_dead_letters_received_at"), table_name="dead_letters")

    op.drop_table("dead_letters")
    op.drop_index(op.f("ix_customers_region"), table_name="customers")

    op.drop_table("customers")
    op.drop_table("containers")
