"""Trace and recall at plant scale: end-unit and current-container columns kept current at
ingest, the end units' lineage index, and the excursion index over values.

- `units.consumed`, `lineage.descendant_end` and a partial index of the lineage rows that lead
  to end units: a recall reads its end units instead of probing every unit it reaches;
- `units.container_id`: a trace reads a unit's current container with the unit;
- `measurements (checkpoint_id, parameter, value, measured_at) INCLUDE (unit_id)`: a
  process-excursion scope is an index-only range over the out-of-limit values.

The columns are filled from the tables they summarise (genealogy edges, containment), so a
database migrated with data answers exactly as one ingested after the change.

Revision ID: 8a02
Revises: 8a01
Create Date: 2026-11-25 07:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8a02"
down_revision: str | None = "8a01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ADD COLUMNs (no foreign key): SQLite would otherwise copy `units`, and it refuses
    # to drop the old copy once other tables' rows refer to it (foreign keys are on).
    op.add_column(
        "units", sa.Column("consumed", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("units", sa.Column("container_id", _BIG_ID, nullable=True))
    op.add_column(
        "lineage",
        sa.Column("descendant_end", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.execute(
        "UPDATE units SET consumed = true "
        "WHERE id IN (SELECT child_id FROM genealogy_edges WHERE child_kind = 'unit')"
    )
    op.execute(
        "UPDATE units SET container_id = ("
        "SELECT k.container_id FROM containment AS k "
        "WHERE k.child_kind = 'unit' AND k.child_id = units.id "
        "AND k.packed_at IS NOT NULL AND k.unpacked_at IS NULL "
        "ORDER BY k.packed_at DESC, k.id DESC LIMIT 1) "
        "WHERE id IN (SELECT child_id FROM containment WHERE child_kind = 'unit' "
        "AND packed_at IS NOT NULL AND unpacked_at IS NULL)"
    )
    op.execute(
        "UPDATE lineage SET descendant_end = true WHERE descendant_kind = 'unit' "
        "AND descendant_id IN (SELECT id FROM units WHERE NOT consumed)"
    )
    op.create_index(
        op.f("ix_lineage_ancestor_kind_ancestor_id_descendant_id"),
        "lineage",
        ["ancestor_kind", "ancestor_id", "descendant_id"],
        unique=False,
        postgresql_where=sa.text("descendant_end"),
        sqlite_where=sa.text("descendant_end"),
    )
    op.create_index(
        op.f("ix_measurements_checkpoint_id_parameter_value_measured_at"),
        "measurements",
        ["checkpoint_id", "parameter", "value", "measured_at"],
        unique=False,
        postgresql_include=["unit_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_measurements_checkpoint_id_parameter_value_measured_at"),
        table_name="measurements",
    )
    op.drop_index(op.f("ix_lineage_ancestor_kind_ancestor_id_descendant_id"), table_name="lineage")
    op.drop_column("lineage", "descendant_end")
    op.drop_column("units", "container_id")
    op.drop_column("units", "consumed")
