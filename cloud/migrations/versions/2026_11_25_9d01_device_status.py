"""The edge agents' latest `device.status` and their online/offline changes.

Kept current by the status consumer (cloud/ingest/status.py) from the retained status
topics; read by `GET /api/devices/status` and the console's line status page. Both tables
are state derived from status messages, not records: nothing refers to them and downgrading
drops them.

Revision ID: 9d01
Revises: 7c01
Create Date: 2026-11-25 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d01"
down_revision: str | None = "7c01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "device_status",
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("topic", sa.String(length=300), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("line", sa.String(length=64), nullable=False),
        sa.Column("checkpoint", sa.String(length=64), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("since", _TIME, nullable=False),
        sa.Column("heard_at", _TIME, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", _TIME, nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
        sa.Column("retained", sa.Boolean(), nullable=False),
        sa.Column("software_version", sa.String(length=64), nullable=False),
        sa.Column("config_hash", sa.String(length=128), nullable=False),
        sa.Column("adapters", sa.Text(), nullable=False),
        sa.Column("outbox_depth", sa.BigInteger(), nullable=False),
        sa.Column("outbox_oldest_age_s", sa.Float(), nullable=False),
        sa.Column("outbox_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_status")),
    )
    op.create_index(op.f("ix_device_status_topic"), "device_status", ["topic"], unique=False)
    op.create_table(
        "device_status_changes",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("retained", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_status_changes")),
        sa.UniqueConstraint(
            "device_id", "event_id", name=op.f("uq_device_status_changes_device_id_event_id")
        ),
    )
    op.create_index(
        op.f("ix_device_status_changes_device_id_at"),
        "device_status_changes",
        ["device_id", "at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_device_status_changes_device_id_at"), table_name="device_status_changes")
    op.drop_table("device_status_changes")
    op.drop_index(op.f("ix_device_status_topic"), table_name="device_status")
    op.drop_table("device_status")
