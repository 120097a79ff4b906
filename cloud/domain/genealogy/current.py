"""Columns that say where a unit stands now, kept current at ingest, one statement each per batch.

- `units.consumed`: the unit went into another unit (it is a child in a genealogy edge);
- `lineage.descendant_end`: the row's descendant is a unit not consumed (an end unit);
- `units.container_id`: the innermost container the unit sits in now.

Trace and recall read these instead of working them out per unit: a recall of a connector
lot reaches 300,000 units of which 100,000 are end units (bench/trace.py), and looking for
each unit's edges and open containment cost more than the rest of the query.

`lineage.link` sets `descendant_end` on the rows it adds from the lineage as it stands (a
unit is an end unit while no unit descends from it); `mark_consumed` runs after the batch's
links, so rows added for a unit consumed in the same batch are corrected too, whatever the
order the events arrived in.

The ids are bound as one list (PostgreSQL: an array, SQLite: a JSON array): one prepared
statement whatever a batch's size, where an expanded `IN` would be planned anew for each.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import ARRAY, BigInteger, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter, TextClause

from cloud.db.dialect import is_postgres

# The open containment packed last, as the device history record shows it; the id breaks a
# tie between two packs at the same instant.
CURRENT_CONTAINER = (
    "SELECT k.container_id FROM containment AS k "
    "WHERE k.child_kind = 'unit' AND k.child_id = units.id "
    "AND k.packed_at IS NOT NULL AND k.unpacked_at IS NULL "
    "ORDER BY k.packed_at DESC, k.id DESC LIMIT 1"
)
_CONSUMED = "UPDATE units SET consumed = true WHERE {id} AND NOT consumed"
_NOT_END = (
    "UPDATE lineage SET descendant_end = false "
    "WHERE descendant_kind = 'unit' AND {descendant_id} AND descendant_end"
)
_PLACE = f"UPDATE units SET container_id = ({CURRENT_CONTAINER}) WHERE {{id}}"


def _for_ids(session: AsyncSession, sql: str, ids: Collection[int]) -> TextClause:
    """`sql` with its `{column}` placeholder as "column is one of `ids`"."""
    values = sorted(ids)
    param: BindParameter[Any]
    if is_postgres(session):
        member = "{} = ANY(:ids)"
        param = bindparam("ids", values, type_=ARRAY(BigInteger()))
    else:
        member = "{} IN (SELECT value FROM json_each(:ids))"
        param = bindparam("ids", json.dumps(values))
    columns = {name: member.format(name) for name in ("id", "descendant_id")}
    return text(sql.format(**columns)).bindparams(param)


async def mark_consumed(session: AsyncSession, unit_ids: Collection[int]) -> None:
    """These units went into other units: they are no longer end units."""
    if unit_ids:
        for sql in (_CONSUMED, _NOT_END):
            await session.execute(_for_ids(session, sql, unit_ids))


async def place(session: AsyncSession, unit_ids: Collection[int]) -> None:
    """Work out again the current container of units packed or unpacked in this batch."""
    if unit_ids:
        await session.execute(_for_ids(session, _PLACE, unit_ids))
