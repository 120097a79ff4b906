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
MEASUREMENT_TYPES: dict[str, TypeEngine[Any]] = {"measured_at": UtcDateTime(), "event_id": Uuid()}


def typed(statement: TextClause, **types: TypeEngine[Any]) -> TextualSelect:
    return statement.columns(**types)


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

# The unit named by (di, ident) with its product, and the process data of it and of every
# unit in it, in one statement: the unit's columns on each row, the measurement's NULL when
# there is none (a backward trace is one round trip fewer; its target is 5 ms).
BACKWARD_UNIT_AND_MEASUREMENTS = typed(
    text(
        """
    WITH unit AS (
        SELECT u.id, u.di, u.serial, u.lot, u.expiry, u.production_date, u.work_order,
               u.status, u.status_at, u.first_seen_at, p.name AS product
        FROM units AS u LEFT JOIN products AS p ON p.di = u.di
        WHERE u.di = :di AND u.ident = :ident
    ), ids(id) AS (
        SELECT id FROM unit
        UNION ALL
        SELECT l.ancestor_id FROM lineage AS l JOIN unit ON l.descendant_id = unit.id
        WHERE l.descendant_kind = 'unit' AND l.ancestor_kind = 'unit'
    ), measured AS (
        SELECT m.unit_id, c.code AS checkpoint, m.parameter, m.value, m.uom, m.low, m.high,
               m.measured_at, m.event_id
        FROM ids
        JOIN measurements AS m ON m.unit_id = ids.id
        JOIN checkpoints AS c ON c.id = m.checkpoint_id
    )
    SELECT unit.*, measured.*
    FROM unit LEFT JOIN measured ON 1 = 1
    ORDER BY measured.unit_id, measured.measured_at, measured.parameter
    """
    ),
    expiry=Date(),
    production_date=Date(),
    status_at=UtcDateTime(),
    first_seen_at=UtcDateTime(),
    **MEASUREMENT_TYPES,
)

UNIT_BY_KEY = typed(
    text(
        """
    SELECT u.id, u.di, u.serial, u.lot, u.expiry, u.production_date, u.work_order, u.status,
           u.status_at, u.first_seen_at, p.name AS product
    FROM units AS u LEFT JOIN products AS p ON p.di = u.di
    WHERE u.di = :di AND u.ident = :ident
    """
    ),
    expiry=Date(),
    production_date=Date(),
    status_at=UtcDateTime(),
    first_seen_at=UtcDateTime(),
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
