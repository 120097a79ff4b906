"""A recall scope as one SQL statement: the affected end units with their place and shipment.

Each criterion selects seeds (units or lots); the lineage (closure) table takes
them to everything made from them in one join; only end units count (a unit
consumed into another travels, and is recalled, inside it). `any` unions the
seeds, `all` intersects each criterion's end units. The same text runs on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.sql.selectable import TextualSelect

from cloud.db.types import UtcDateTime
from cloud.domain.errors import InvalidFieldError
from cloud.domain.recall.schemas import (
    DateWindow,
    Excursion,
    LotScope,
    RecallScope,
    SerialRange,
)
from cloud.domain.trace.identify import parse_unit_id
from cloud.domain.trace.sql import PLACED_TYPES, PLACED_UNITS


@dataclass
class _Statement:
    ctes: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    expanding: set[str] = field(default_factory=set)
    times: set[str] = field(default_factory=set)

    def bind(self, name: str, value: Any, *, expanding: bool = False, time: bool = False) -> str:
        self.params[name] = value
        if expanding:
            self.expanding.add(name)
        if time:
            self.times.add(name)
        return f":{name}"


def check_scope(scope: RecallScope) -> None:
    """Refuse a scope that selects nothing or contradicts itself, naming the field."""
    if not (scope.lots or scope.serials or scope.units or scope.production or scope.excursions):
        raise InvalidFieldError(
            "scope", "expected at least one of lots, serials, units, production, excursions"
        )
    for i, serials in enumerate(scope.serials):
        if serials.first > serials.last:
            raise InvalidFieldError(
                f"scope.serials[{i}]", f"first {serials.first!r} comes after last {serials.last!r}"
            )
    for i, window in enumerate(scope.production):
        if window.first > window.last:
            raise InvalidFieldError(
                f"scope.production[{i}]", f"first {window.first} comes after last {window.last}"
            )
    for i, excursion in enumerate(scope.excursions):
        where = f"scope.excursions[{i}]"
        if excursion.low is None and excursion.high is None:
            raise InvalidFieldError(where, "expected low, high or both, got neither")
        if excursion.start.tzinfo is None or excursion.end.tzinfo is None:
            raise InvalidFieldError(where, "expected start and end with a UTC offset")
        if excursion.start >= excursion.end:
            raise InvalidFieldError(
                where, f"start {excursion.start} is not before end {excursion.end}"
            )
    for i, unit in enumerate(scope.units):
        parse_unit_id(unit, field=f"scope.units[{i}]")


def _lot_seeds(s: _Statement, n: int, scope: LotScope) -> str:
    di = s.bind(f"l{n}_di", scope.di)
    lots = s.bind(f"l{n}_lots", list(scope.lots), expanding=True)
    return (
        f"SELECT CAST('lot' AS VARCHAR(8)) AS kind, id FROM lots WHERE di = {di} AND lot IN {lots} "
        f"UNION ALL SELECT CAST('unit' AS VARCHAR(8)), id FROM units "
        f"WHERE di = {di} AND lot IN {lots}"
    )


def _serial_seeds(s: _Statement, n: int, scope: SerialRange) -> str:
    di = s.bind(f"s{n}_di", scope.di)
    first, last = s.bind(f"s{n}_first", scope.first), s.bind(f"s{n}_last", scope.last)
    width = ""
    if len(scope.first) == len(scope.last):
        width = f" AND LENGTH(serial) = {s.bind(f's{n}_len', len(scope.first))}"
    return (
        f"SELECT CAST('unit' AS VARCHAR(8)) AS kind, id FROM units "
        f"WHERE di = {di} AND serial >= {first} AND serial <= {last}{width}"
    )


def _unit_seeds(s: _Statement, n: int, unit: str) -> str:
    key = parse_unit_id(unit, field=f"scope.units[{n}]")
    di, ident = s.bind(f"u{n}_di", key.di), s.bind(f"u{n}_ident", key.ident)
    return (
        f"SELECT CAST('unit' AS VARCHAR(8)) AS kind, id FROM units "
        f"WHERE di = {di} AND ident = {ident}"
    )


def _production_seeds(s: _Statement, n: int, window: DateWindow) -> str:
    first, last = s.bind(f"p{n}_first", window.first), s.bind(f"p{n}_last", window.last)
    di = f" AND di = {s.bind(f'p{n}_di', window.di)}" if window.di else ""
    return (
        f"SELECT CAST('unit' AS VARCHAR(8)) AS kind, id FROM units "
        f"WHERE production_date >= {first} AND production_date <= {last}{di}"
    )


def _excursion_seeds(s: _Statement, n: int, e: Excursion) -> str:
    # Filtering on checkpoint, parameter and time first lets the index
    # (checkpoint_id, parameter, measured_at) do the work (DESIGN.md: 1.4 ms).
    checkpoint = s.bind(f"x{n}_cp", e.checkpoint)
    parameter = s.bind(f"x{n}_param", e.parameter)
    start = s.bind(f"x{n}_start", e.start, time=True)
    end = s.bind(f"x{n}_end", e.end, time=True)
    outside = []
    if e.low is not None:
        outside.append(f"m.value < {s.bind(f'x{n}_low', e.low)}")
    if e.high is not None:
        outside.append(f"m.value > {s.bind(f'x{n}_high', e.high)}")
    place = ""
    if e.line is not None:
        place += f" AND ln.code = {s.bind(f'x{n}_line', e.line)}"
    if e.site is not None:
        place += f" AND st.code = {s.bind(f'x{n}_site', e.site)}"
    return (
        "SELECT DISTINCT CAST('unit' AS VARCHAR(8)) AS kind, m.unit_id AS id "
        "FROM measurements AS m "
        "JOIN checkpoints AS cp ON cp.id = m.checkpoint_id "
        "JOIN lines AS ln ON ln.id = cp.line_id "
        "JOIN sites AS st ON st.id = ln.site_id "
        f"WHERE cp.code = {checkpoint}{place} AND m.parameter = {parameter} "
        f"AND m.measured_at >= {start} AND m.measured_at < {end} "
        f"AND ({' OR '.join(outside)})"
    )


def _criteria(s: _Statement, scope: RecallScope) -> list[str]:
    selects = [_lot_seeds(s, n, x) for n, x in enumerate(scope.lots)]
    selects += [_serial_seeds(s, n, x) for n, x in enumerate(scope.serials)]
    selects += [_unit_seeds(s, n, x) for n, x in enumerate(scope.units)]
    selects += [_production_seeds(s, n, x) for n, x in enumerate(scope.production)]
    selects += [_excursion_seeds(s, n, x) for n, x in enumerate(scope.excursions)]
    return selects


def _end_units(seeds: str) -> str:
    return (
        "SELECT x.id FROM ("
        f"SELECT id FROM {seeds} WHERE kind = 'unit' "
        "UNION "
        f"SELECT g.descendant_id AS id FROM lineage AS g JOIN {seeds} AS sd "
        "ON g.ancestor_kind = sd.kind AND g.ancestor_id = sd.id "
        "WHERE g.descendant_kind = 'unit'"
        ") AS x WHERE NOT EXISTS (SELECT 1 FROM genealogy_edges AS ge "
        "WHERE ge.child_kind = 'unit' AND ge.child_id = x.id)"
    )


def affected_units(scope: RecallScope) -> TextualSelect:
    """The statement: one row per affected end unit (`PLACED_UNITS` columns), by unit id."""
    check_scope(scope)
    s = _Statement()
    criteria = _criteria(s, scope)
    if scope.match == "any":
        ctes = ["seeds(kind, id) AS (" + " UNION ".join(criteria) + ")"]
        ctes.append(f"hit(id) AS ({_end_units('seeds')})")
    else:
        ctes = [f"seeds{n}(kind, id) AS ({c})" for n, c in enumerate(criteria)]
        ends = [f"SELECT id FROM ({_end_units(f'seeds{n}')}) AS e{n}" for n in range(len(criteria))]
        ctes.append("hit(id) AS (" + " INTERSECT ".join(ends) + ")")
    statement = text("WITH " + ",\n".join(ctes) + "\n" + PLACED_UNITS + " ORDER BY u.id")
    return statement.bindparams(
        *(
            bindparam(
                name,
                value,
                expanding=name in s.expanding,
                type_=UtcDateTime() if name in s.times else None,
            )
            for name, value in s.params.items()
        )
    ).columns(**PLACED_TYPES)
