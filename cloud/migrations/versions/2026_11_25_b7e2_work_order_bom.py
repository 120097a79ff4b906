"""A work order's bill of materials (`work_orders.bom`), sent to the edges in `cmd/workorder`.

JSON like `route`: a list of `{"di", "quantity_per_unit", "unit_of_measure"}`, checked by
`cloud.domain.production.bom` when it is set; orders made before this revision have none.

Revision ID: b7e2
Revises: b7e1
Create Date: 2026-11-25 11:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e2"
down_revision: str | None = "b7e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "work_orders",
        sa.Column("bom", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_column("bom")
