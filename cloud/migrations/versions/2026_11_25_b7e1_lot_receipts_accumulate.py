"""Lots received in several cases: `lots.last_received_at`, and quantities summed.

Each case of a lot scanned at goods receipt is its own `lot.received`; a lot's row now
keeps the sum of their quantities, the first receipt (`received_at`) and the latest
(`last_received_at`). Rows written before this revision kept the last case's quantity and
time: they are worked out again from the lot.received events (one read of those events).
Their inspection state is left as it is: whether a later receipt had overwritten a verdict
cannot be told from the row, and the audit trail holds every verdict.

Revision ID: b7e1
Revises: 9d01
Create Date: 2026-11-25 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec
import sqlalchemy as sa
from alembic import op

revision: str = "b7e1"
down_revision: str | None = "9d01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


class _Receipt(msgspec.Struct):
    di: str
    lot: str
    quantity: float


def upgrade() -> None:
    op.add_column("lots", sa.Column("last_received_at", _TIME, nullable=True))
    bind = op.get_bind()
    events = sa.text("SELECT payload, occurred_at FROM events WHERE kind = 'lot.received'").columns(
        sa.column("payload", sa.Text()), sa.column("occurred_at", _TIME)
    )
    totals: dict[tuple[str, str], tuple[float, datetime, datetime]] = {}
    decoder = msgspec.json.Decoder(_Receipt)
    for payload, at in bind.execute(events):
        receipt = decoder.decode(payload)
        key = (receipt.di, receipt.lot)
        quantity, first, last = totals.get(key, (0.0, at, at))
        totals[key] = (quantity + receipt.quantity, min(first, at), max(last, at))
    lots = sa.table(
        "lots",
        sa.column("di", sa.String()),
        sa.column("lot", sa.String()),
        sa.column("quantity", sa.Float()),
        sa.column("received_at", _TIME),
        sa.column("last_received_at", _TIME),
    )
    if totals:
        bind.execute(
            lots.update()
            .where(lots.c.di == sa.bindparam("k_di"), lots.c.lot == sa.bindparam("k_lot"))
            .values(
                quantity=sa.bindparam("k_quantity"),
                received_at=sa.bindparam("k_first"),
                last_received_at=sa.bindparam("k_last"),
            ),
            [
                {"k_di": di, "k_lot": lot, "k_quantity": q, "k_first": f, "k_last": la}
                for (di, lot), (q, f, la) in sorted(totals.items())
            ],
        )


def downgrade() -> None:
    with op.batch_alter_table("lots") as batch:
        batch.drop_column("last_received_at")
