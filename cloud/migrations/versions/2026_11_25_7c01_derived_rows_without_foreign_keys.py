"""The per-event derived rows (`unit_events`, `measurements`) without foreign keys.

Each foreign key costs PostgreSQL a lookup and a KEY SHARE lock of the referenced
row for every row inserted; at ingest that was 3 such checks per event (a unit
history row and two measurements), about 21 of the 56 µs of PostgreSQL CPU an
event cost (bench/ingest.py, measured with and without), and two batches in
flight locked the same few checkpoint rows, which makes PostgreSQL create
multixacts. The rows are written only by the ingest, in the transaction that
resolved their unit and checkpoint ids, from ids it has just read or inserted;
units and checkpoints are never deleted (no route or service deletes either).

Revision ID: 7c01
Revises: 8a02
Create Date: 2026-11-25 07:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "7c01"
down_revision: str | None = "8a02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROPPED = (
    ("unit_events", "unit_id", "units"),
    ("unit_events", "checkpoint_id", "checkpoints"),
    ("measurements", "unit_id", "units"),
    ("measurements", "checkpoint_id", "checkpoints"),
)


def upgrade() -> None:
    for table in ("unit_events", "measurements"):
        # Batch mode: SQLite cannot drop a constraint in place (it copies the table, which
        # nothing refers to); PostgreSQL gets a plain ALTER TABLE ... DROP CONSTRAINT.
        with op.batch_alter_table(table) as batch:
            for name, column, referred in _DROPPED:
                if name == table:
                    batch.drop_constraint(
                        op.f(f"fk_{table}_{column}_{referred}"), type_="foreignkey"
                    )


def downgrade() -> None:
    for table in ("unit_events", "measurements"):
        with op.batch_alter_table(table) as batch:
            for name, column, referred in _DROPPED:
                if name == table:
                    batch.create_foreign_key(
                        op.f(f"fk_{table}_{column}_{referred}"),
                        referred,
                        [column],
                        ["id"],
                        ondelete="RESTRICT",
                    )
