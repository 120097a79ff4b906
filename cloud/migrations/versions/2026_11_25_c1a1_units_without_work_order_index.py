"""`units.work_order` without its index: no query looks units up by work order.

The index cost every new unit an index entry at ingest (one `unit.inspected` in the
ingest bench makes one), about 1-2 µs of PostgreSQL CPU per event of the 35-45 the
event costs (bench/ingest.py). A work order's units are those of its lot, which
`ix_units_di_lot` finds; the column stays, shown with each unit.

Revision ID: c1a1
Revises: b7e2
Create Date: 2026-11-25 10:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "c1a1"
down_revision: str | None = "b7e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index(op.f("ix_units_work_order"), table_name="units")


def downgrade() -> None:
    op.create_index(op.f("ix_units_work_order"), "units", ["work_order"])
