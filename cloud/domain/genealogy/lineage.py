"""The lineage (closure) table and the containment walk, kept current at ingest.

Adding the edge child -> parent links every ancestor of the child (and the
child) to every descendant of the parent (and the parent). Descendants of the
parent matter when events arrive out of order: a kit may be assembled from a
device before the device's own assembly event arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.types import UtcDateTime

# `WHERE true` lets SQLite tell the SELECT's end from the ON CONFLICT clause.
# `descendant_end` (cloud.domain.genealogy.current) from the lineage alone: a unit is an end
# unit while no unit descends from it, and the parent's rows already say it of each of its
# descendants. (Joining `units` for it doubled the statement's time: the planner hashed the
# whole table while its statistics were young.) Rows of a unit consumed later in the same
# batch are set right at the batch's end (`current.mark_consumed`).
_LINK = text(
    """
    INSERT INTO lineage (ancestor_kind, ancestor_id, descendant_kind, descendant_id,
                         descendant_end)
    SELECT a.kind, a.id, d.kind, d.id, d.is_end
    FROM (
        SELECT CAST(:child_kind AS VARCHAR(8)) AS kind, CAST(:child_id AS BIGINT) AS id
        UNION
        SELECT ancestor_kind, ancestor_id FROM lineage
        WHERE descendant_kind = :child_kind AND descendant_id = :child_id
    ) AS a
    CROSS JOIN (
        SELECT CAST(:parent_kind AS VARCHAR(8)) AS kind, CAST(:parent_id AS BIGINT) AS id,
               (CAST(:parent_kind AS VARCHAR(8)) = 'unit' AND NOT EXISTS (
                   SELECT 1 FROM lineage
                   WHERE ancestor_kind = :parent_kind AND ancestor_id = :parent_id
                     AND descendant_kind = 'unit'
               )) AS is_end
        UNION
        SELECT descendant_kind, descendant_id, descendant_end FROM lineage
        WHERE ancestor_kind = :parent_kind AND ancestor_id = :parent_id
    ) AS d
    WHERE a.kind <> d.kind OR a.id <> d.id
    ON CONFLICT DO NOTHING
    """
)

_UNITS_INSIDE = text(
    """
    WITH RECURSIVE inside(kind, id) AS (
        SELECT CAST('container' AS VARCHAR(10)), id FROM containers WHERE id IN :container_ids
        UNION
        SELECT c.child_kind, c.child_id
        FROM containment AS c JOIN inside AS i ON i.kind = 'container' AND c.container_id = i.id
        WHERE (c.packed_at IS NULL OR c.packed_at <= :at)
          AND (c.unpacked_at IS NULL OR c.unpacked_at > :at)
    )
    SELECT id FROM inside WHERE kind = 'unit'
    """
).bindparams(bindparam("container_ids", expanding=True), bindparam("at", type_=UtcDateTime()))


async def link(session: AsyncSession, *, child: tuple[str, int], parent: tuple[str, int]) -> None:
    await session.execute(
        _LINK,
        {
            "child_kind": child[0],
            "child_id": child[1],
            "parent_kind": parent[0],
            "parent_id": parent[1],
        },
    )


async def units_inside(
    session: AsyncSession, container_ids: Sequence[int], *, at: datetime
) -> list[int]:
    """Units in these containers at time `at`, at any depth (cases on pallets)."""
    if not container_ids:
        return []
    rows = await session.execute(_UNITS_INSIDE, {"container_ids": list(container_ids), "at": at})
    return [row[0] for row in rows]
