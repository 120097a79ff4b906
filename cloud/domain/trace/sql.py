"""The trace queries: one statement each, the same SQL on SQLite and PostgreSQL.

They read the lineage (closure) table kept current at ingest
(cloud.domain.genealogy.lineage), never a loop of queries per level: DESIGN.md
measured a forward trace to ~10,000 units at 83 ms through the closure against
332 ms for the recursive query PostgreSQL misplans.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, TextClause, Uuid, text
from sqlalchemy.sql.selectable import TextualSelect
from sqlalchemy.types import TypeEngine

from cloud.db.types import UtcDateTime

# Result types: raw SQL on SQLite returns dates, times and UUIDs as text otherwise.
PLACED_TYPES: dict[str, TypeEngine[Any]] = {"ship_date": Date()}
MEASUREMENT_TYPES: dict[str, TypeEngine[Any]] = {"measured_at": UtcDateTime(), "event_id": Uuid()}


def typed(statement: TextClause, **types: TypeEngine[Any]) -> TextualSelect:
    return statement.columns(**types)


# A unit's current place: innermost open containment (case), the one holding that (pallet),
# and a shipment that carried either; `consumed` when it went into another unit (it then
# travels inside that one). Needs the CTE `hit(id)` of unit ids.
PLACED_UNITS = """
SELECT u.id, u.di, u.serial, u.lot, u.status,
       EXISTS (SELECT 1 FROM genealogy_edges AS ge
               WHERE ge.child_kind = 'unit' AND ge.child_id = u.id) AS consumed,
       c1.sscc AS container, c2.sscc AS outer_container,
       sh.id AS shipment_id, sh.number AS shipment, sh.recipient_name, sh.recipient_address,
       sh.ship_date, sh.customer_id
FROM hit
JOIN units AS u ON u.id = hit.id
LEFT JOIN containment AS k1
       ON k1.child_kind = 'unit' AND k1.child_id = u.id
      AND k1.packed_at IS NOT NULL AND k1.unpacked_at IS NULL
LEFT JOIN containers AS c1 ON c1.id = k1.container_id
LEFT JOIN containment AS k2
       ON k2.child_kind = 'container' AND k2.child_id = k1.container_id
      AND k2.packed_at IS NOT NULL AND k2.unpacked_at IS NULL
LEFT JOIN containers AS c2 ON c2.id = k2.container_id
LEFT JOIN shipment_items AS s1 ON s1.container_id = k1.container_id AND s1.event_id IS NOT NULL
LEFT JOIN shipment_items AS s2 ON s2.container_id = k2.container_id AND s2.event_id IS NOT NULL
LEFT JOIN shipments AS sh ON sh.id = COALESCE(s2.shipment_id, s1.shipment_id)
"""

BACKWARD_EDGES = typed(
    text(
        """
    WITH nodes(kind, id) AS (
        SELECT CAST('unit' AS VARCHAR(8)), CAST(:unit_id AS BIGINT)
        UNION ALL
        SELECT ancestor_kind, ancestor_id FROM lineage
        WHERE descendant_kind = 'unit' AND descendant_id = :unit_id
    )
    SELECT e.parent_kind, e.parent_id, e.child_kind, e.child_id, e.quantity, e.uom,
           e.event_id, e.occurred_at,
           u.di AS unit_di, u.serial AS unit_serial, u.lot AS unit_lot, u.status AS unit_status,
           u.work_order AS unit_work_order,
           l.di AS lot_di, l.lot AS lot_lot, l.supplier AS lot_supplier,
           l.received_at AS lot_received_at
    FROM genealogy_edges AS e
    JOIN nodes AS n ON e.parent_kind = n.kind AND e.parent_id = n.id
    LEFT JOIN units AS u ON e.child_kind = 'unit' AND u.id = e.child_id
    LEFT JOIN lots AS l ON e.child_kind = 'lot' AND l.id = e.child_id
    ORDER BY e.occurred_at, e.id
    """
    ),
    event_id=Uuid(),
    occurred_at=UtcDateTime(),
    lot_received_at=UtcDateTime(),
)

BACKWARD_MEASUREMENTS = typed(
    text(
        """
    SELECT m.unit_id, c.code AS checkpoint, m.parameter, m.value, m.uom, m.low, m.high,
           m.measured_at, m.event_id
    FROM measurements AS m
    JOIN checkpoints AS c ON c.id = m.checkpoint_id
    WHERE m.unit_id = :unit_id
       OR m.unit_id IN (
            SELECT ancestor_id FROM lineage
            WHERE descendant_kind = 'unit' AND descendant_id = :unit_id
              AND ancestor_kind = 'unit')
    ORDER BY m.unit_id, m.measured_at, m.parameter
    """
    ),
    **MEASUREMENT_TYPES,
)

FORWARD_FROM_LOT = typed(
    text(
        """
    WITH start(kind, id) AS (
        SELECT CAST('lot' AS VARCHAR(8)), id FROM lots WHERE di = :di AND lot = :lot
        UNION ALL
        SELECT CAST('unit' AS VARCHAR(8)), id FROM units WHERE di = :di AND lot = :lot
    ),
    hit(id) AS (
        SELECT id FROM start WHERE kind = 'unit'
        UNION
        SELECT g.descendant_id FROM lineage AS g
        JOIN start AS s ON g.ancestor_kind = s.kind AND g.ancestor_id = s.id
        WHERE g.descendant_kind = 'unit'
    )
    """
        + PLACED_UNITS
        + " ORDER BY u.id"
    ),
    **PLACED_TYPES,
)

FORWARD_FROM_UNIT = typed(
    text(
        """
    WITH hit(id) AS (
        SELECT descendant_id FROM lineage
        WHERE ancestor_kind = 'unit' AND ancestor_id = :unit_id AND descendant_kind = 'unit'
    )
    """
        + PLACED_UNITS
        + " ORDER BY u.id"
    ),
    **PLACED_TYPES,
)

UNIT_HISTORY = typed(
    text(
        """
    SELECT ue.event_id, ue.kind, ue.role, ue.occurred_at,
           ev.site, ev.line, ev.checkpoint, ev.device_id, ev.seq, ev.payload
    FROM unit_events AS ue
    JOIN events AS ev ON ev.event_id = ue.event_id
    WHERE ue.unit_id = :unit_id
    ORDER BY ue.occurred_at, ue.event_id
    """
    ),
    event_id=Uuid(),
    occurred_at=UtcDateTime(),
)

UNIT_MEASUREMENTS = typed(
    text(
        """
    SELECT m.unit_id, c.code AS checkpoint, m.parameter, m.value, m.uom, m.low, m.high,
           m.measured_at, m.event_id
    FROM measurements AS m JOIN checkpoints AS c ON c.id = m.checkpoint_id
    WHERE m.unit_id = :unit_id
    ORDER BY m.measured_at, m.parameter
    """
    ),
    **MEASUREMENT_TYPES,
)

UNIT_PLACEMENT = typed(
    text("WITH hit(id) AS (SELECT CAST(:unit_id AS BIGINT))" + PLACED_UNITS), **PLACED_TYPES
)

NEIGHBOURS: TextClause = text(
    """
    SELECT 'component' AS direction, e.child_kind AS kind, e.child_id AS id,
           COALESCE(u.di, l.di) AS di, u.serial, COALESCE(u.lot, l.lot) AS lot,
           l.supplier, u.status
    FROM genealogy_edges AS e
    LEFT JOIN units AS u ON e.child_kind = 'unit' AND u.id = e.child_id
    LEFT JOIN lots AS l ON e.child_kind = 'lot' AND l.id = e.child_id
    WHERE e.parent_kind = 'unit' AND e.parent_id = :unit_id
    UNION ALL
    SELECT 'used_in', e.parent_kind, e.parent_id, u.di, u.serial, u.lot, NULL, u.status
    FROM genealogy_edges AS e
    JOIN units AS u ON e.parent_kind = 'unit' AND u.id = e.parent_id
    WHERE e.child_kind = 'unit' AND e.child_id = :unit_id
    """
)

UNIT_SHIPMENTS: TextClause = text(
    """
    SELECT DISTINCT sh.number, ue.occurred_at
    FROM unit_events AS ue
    JOIN shipment_items AS si ON si.event_id = ue.event_id
    JOIN shipments AS sh ON sh.id = si.shipment_id
    WHERE ue.unit_id = :unit_id AND ue.role = 'shipped'
    ORDER BY ue.occurred_at
    """
)

UNIT_RECALLS: TextClause = text(
    """
    SELECT r.id FROM recall_units AS ru JOIN recalls AS r ON r.id = ru.recall_id
    WHERE ru.unit_id = :unit_id ORDER BY r.id
    """
)
