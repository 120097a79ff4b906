"""Seed PostgreSQL with `trace_plant.Plant` through COPY (asyncpg), showing progress.

Secondary indexes of the big tables are dropped before the load and built again after
it (the usual way to bulk-load; the definitions are read back from pg_indexes, so the
schema is exactly the migrated one), then everything is VACUUM ANALYZEd.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

from trace_plant import (
    ASSEMBLY,
    CASES_PER_PALLET,
    INSPECTION_GAP,
    KITS_PER_CASE,
    LEVEL_CHECKPOINTS,
    LINE,
    REGIONS,
    SITE,
    Plant,
    checkpoint_codes,
    event_uuid,
    sscc,
)

from cloud.domain.events.partitions import month_bounds, partition_name

BIG_TABLES = (
    "units",
    "lineage",
    "genealogy_edges",
    "unit_events",
    "measurements",
    "containment",
    "shipment_items",
)
LEVELS = ("tubeset", "catheter", "kit")
PARAMETERS: dict[str, tuple[tuple[str, str, float | None, float | None], ...]] = {
    "extrusion": (("diameter", "mm", 2.9, 3.1),),
    "sealing": (("seal_temp", "degC", 170.0, 190.0), ("seal_pressure", "bar", 3.5, 4.5)),
    "kit-final": (("leak_rate", "ml/min", None, 0.5),),
}
_INSPECTED = (
    '{{"kind":"unit.inspected","schema":"tracegate/1","event_id":"{id}","device_id":"{device}",'
    '"seq":{seq},"prev_hash":"{prev}","occurred_at":"{at}","site":"'
    + SITE
    + '","line":"'
    + LINE
    + '","checkpoint":"{cp}","reads":[{{"text":"01{di}10{lot}\\u001d21{serial}",'
    '"symbology_id":"]d2","source":"scanner","source_name":"scanner-1","read_at":"{at}"}}],'
    '"udi":{{"issuer":"GS1","di":"{di}","lot":"{lot}","serial":"{serial}"}},'
    '"parameters":[{params}],"decision":"pass","work_order":"WO-{lot}","ruleset_version":"r1"}}'
)
_ASSEMBLED = (
    '{{"kind":"unit.assembled","schema":"tracegate/1","event_id":"{id}","device_id":"{device}",'
    '"seq":{seq},"prev_hash":"{prev}","occurred_at":"{at}","site":"'
    + SITE
    + '","line":"'
    + LINE
    + '","checkpoint":"{cp}","parent":{{"type":"unit","di":"{di}","serial":"{serial}",'
    '"lot":"{lot}"}},"components":[{components}],"work_order":"WO-{lot}"}}'
)


class Progress:
    """One line per table: rows, rows/s, elapsed."""

    def __init__(self, table: str, expected: int) -> None:
        self.table, self.expected, self.rows = table, expected, 0
        self.started = self.shown = time.perf_counter()

    def count(self, rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        for row in rows:
            self.rows += 1
            if self.rows % 200_000 == 0 and time.perf_counter() - self.shown > 2:
                self.show(end="\r")
            yield row

    def show(self, *, end: str = "\n") -> None:
        self.shown = time.perf_counter()
        elapsed = self.shown - self.started
        rate = self.rows / elapsed if elapsed else 0.0
        share = f" of ~{self.expected:,}" if self.expected else ""
        sys.stderr.write(
            f"  {self.table:<16} {self.rows:>12,}{share} rows  {rate:>9,.0f} rows/s  "
            f"{elapsed:6.1f} s{end}"
        )
        sys.stderr.flush()


async def copy(
    conn: Any, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]], expected: int = 0
) -> int:
    progress = Progress(table, expected)
    await conn.copy_records_to_table(table, records=progress.count(rows), columns=columns)
    progress.show()
    return progress.rows


async def seed(conn: Any, plant: Plant) -> dict[str, int]:
    await conn.execute("SET synchronous_commit = off")
    await conn.execute("SET maintenance_work_mem = '512MB'")
    indexes = await _drop_secondary_indexes(conn)
    counts: dict[str, int] = {}
    checkpoints = await _plant(conn)
    counts["lots"] = await _lots(conn, plant)
    counts["customers"] = await copy(conn, "customers", CUSTOMER_COLUMNS, _customers())
    counts["containers"] = await copy(
        conn, "containers", ["id", "sscc", "first_seen_at"], _containers(plant)
    )
    counts["units"] = await copy(conn, "units", UNIT_COLUMNS, _units(plant), plant.units)
    counts["containment"] = await copy(
        conn, "containment", CONTAINMENT_COLUMNS, _containment(plant), plant.kits
    )
    counts["shipments"] = await copy(conn, "shipments", SHIPMENT_COLUMNS, _shipments(plant))
    counts["shipment_items"] = await copy(
        conn,
        "shipment_items",
        ["id", "shipment_id", "container_id", "quantity", "event_id"],
        _shipment_items(plant),
    )
    counts["genealogy_edges"] = await copy(
        conn, "genealogy_edges", EDGE_COLUMNS, _edges(plant), plant.units * 2
    )
    counts["lineage"] = await copy(
        conn, "lineage", LINEAGE_COLUMNS, _lineage(plant), plant.units * 7
    )
    await _partitions(conn, plant)
    maxima: dict[str, int] = {}
    counts["events"] = await copy(
        conn, "events", EVENT_COLUMNS, _events(plant, maxima), plant.events
    )
    await conn.executemany(
        "INSERT INTO device_sequences (device_id, max_seq, updated_at) VALUES ($1, $2, now())",
        sorted(maxima.items()),
    )
    counts["unit_events"] = await copy(
        conn, "unit_events", UNIT_EVENT_COLUMNS, _unit_events(plant, checkpoints), plant.events
    )
    counts["measurements"] = await copy(
        conn, "measurements", MEASUREMENT_COLUMNS, _measurements(plant, checkpoints)
    )
    for table, column in (
        ("units", "id"),
        ("lots", "id"),
        ("containers", "id"),
        ("containment", "id"),
        ("shipments", "id"),
        ("shipment_items", "id"),
        ("genealogy_edges", "id"),
        ("customers", "id"),
    ):
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f"(SELECT coalesce(max({column}), 1) FROM {table}))"
        )
    await _build_indexes(conn, indexes)
    started = time.perf_counter()
    await conn.execute("VACUUM ANALYZE")
    sys.stderr.write(f"  vacuum analyze   {time.perf_counter() - started:6.1f} s\n")
    return counts


async def _drop_secondary_indexes(conn: Any) -> list[str]:
    rows = await conn.fetch(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes AS i
        WHERE i.schemaname = 'public' AND i.tablename = ANY($1::text[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conname = i.indexname)
        """,
        list(BIG_TABLES),
    )
    for row in rows:
        await conn.execute(f'DROP INDEX "{row["indexname"]}"')
    return [row["indexdef"] for row in rows]


async def _build_indexes(conn: Any, definitions: list[str]) -> None:
    started = time.perf_counter()
    for definition in definitions:
        await conn.execute(definition)
    sys.stderr.write(
        f"  {len(definitions)} indexes rebuilt  {time.perf_counter() - started:6.1f} s\n"
    )


async def _plant(conn: Any) -> dict[str, int]:
    site = await conn.fetchval("INSERT INTO sites (code, name) VALUES ($1, $1) RETURNING id", SITE)
    line = await conn.fetchval(
        "INSERT INTO lines (site_id, code, name) VALUES ($1, $2, $2) RETURNING id", site, LINE
    )
    ids = {}
    for code in checkpoint_codes():
        ids[code] = await conn.fetchval(
            "INSERT INTO checkpoints (line_id, code, name) VALUES ($1, $2, $2) RETURNING id",
            line,
            code,
        )
        await conn.execute(
            "INSERT INTO devices (device_id, checkpoint_id, registered_by, registered_at) "
            "VALUES ($1, $2, 'config', now())",
            f"edge-{code}",
            ids[code],
        )
    return ids


async def _lots(conn: Any, plant: Plant) -> int:
    received = plant.made_at("tubeset", 0) - dt.timedelta(days=3)
    rows = []
    for lot_id, (code, di, supplier, quantity, _) in enumerate(plant.lot_rows(), start=1):
        plant.lots[code] = (lot_id, di, supplier)
        rows.append(
            (
                lot_id,
                di,
                code,
                quantity,
                "EA",
                supplier,
                "accepted" if supplier else "",
                received if supplier else None,
                received,
            )
        )
    return await copy(
        conn,
        "lots",
        [
            "id",
            "di",
            "lot",
            "quantity",
            "uom",
            "supplier",
            "inspection_state",
            "received_at",
            "first_seen_at",
        ],
        iter(rows),
    )


CUSTOMER_COLUMNS = [
    "id",
    "code",
    "name",
    "street",
    "city",
    "postal_code",
    "region",
    "country",
    "email",
    "created_at",
]


def _customers() -> Iterator[tuple[Any, ...]]:
    for n in range(1, 101):
        yield (
            n,
            f"C{n:03d}",
            f"Hospital {n}",
            f"{n} Main St",
            "Springfield",
            f"{n:05d}",
            REGIONS[n % len(REGIONS)],
            "US",
            "",
            dt.datetime.now(dt.UTC),
        )


UNIT_COLUMNS = [
    "id",
    "di",
    "ident",
    "serial",
    "lot",
    "production_date",
    "work_order",
    "status",
    "status_at",
    "first_seen_at",
    "last_checkpoint_id",
    "consumed",
    "container_id",
]


def _units(plant: Plant) -> Iterator[tuple[Any, ...]]:
    for level in ("kit", "catheter", "tubeset"):
        for index in range(plant.level_size(level)):
            serial, lot = plant.serial(level, index), plant.unit_lot(level, index)
            made = plant.made_at(level, index)
            status = plant.kit_status(index) if level == "kit" else "in_process"
            yield (
                plant.unit_id(level, index),
                plant.di(level),
                f"S:{serial}",
                serial,
                lot,
                made.date(),
                f"WO-{lot}",
                status,
                made,
                made,
                None,
                level != "kit",
                _current_container(plant, index) if level == "kit" else None,
            )


def _case_id(case: int) -> int:
    return case + 1


def _pallet_id(plant: Plant, pallet: int) -> int:
    return plant.cases + pallet + 1


def _rework_id(plant: Plant, n: int) -> int:
    return plant.cases + plant.pallets + n + 1


def _current_container(plant: Plant, kit: int) -> int | None:
    """The case a kit sits in now: its rework case if it was repacked (`_containment`)."""
    case = plant.case_of(kit)
    if case is None:
        return None
    if plant.repacked(kit):
        return _rework_id(plant, kit // 200 // 10)
    return _case_id(case)


def _rework_cases(plant: Plant) -> int:
    return -(-len([k for k in range(plant.packed_kits) if plant.repacked(k)]) // KITS_PER_CASE)


def _containers(plant: Plant) -> Iterator[tuple[Any, ...]]:
    at = plant.made_at("kit", 0)
    total = plant.cases + plant.pallets + _rework_cases(plant)
    for n in range(1, total + 1):
        yield (n, sscc(n), at)


def _pack_time(plant: Plant, case: int) -> dt.datetime:
    last = min(plant.packed_kits, (case + 1) * KITS_PER_CASE) - 1
    return plant.made_at("kit", last) + dt.timedelta(hours=1)


def _pallet_time(plant: Plant, pallet: int) -> dt.datetime:
    last = min(plant.cases, (pallet + 1) * CASES_PER_PALLET) - 1
    return _pack_time(plant, last) + dt.timedelta(minutes=1)


CONTAINMENT_COLUMNS = [
    "id",
    "child_kind",
    "child_id",
    "container_id",
    "packed_at",
    "unpacked_at",
    "pack_event_id",
    "unpack_event_id",
]


def _containment(plant: Plant) -> Iterator[tuple[Any, ...]]:
    row = 0
    for kit in range(plant.packed_kits):
        case = kit // KITS_PER_CASE
        packed = _pack_time(plant, case)
        row += 1
        if plant.repacked(kit):
            unpacked = _pallet_time(plant, plant.pallet_of(case)) + dt.timedelta(hours=2)
            yield (
                row,
                "unit",
                plant.unit_id("kit", kit),
                _case_id(case),
                packed,
                unpacked,
                None,
                None,
            )
            row += 1
            yield (
                row,
                "unit",
                plant.unit_id("kit", kit),
                _current_container(plant, kit),
                unpacked,
                None,
                None,
                None,
            )
        else:
            yield (row, "unit", plant.unit_id("kit", kit), _case_id(case), packed, None, None, None)
    for case in range(plant.cases):
        row += 1
        pallet = plant.pallet_of(case)
        yield (
            row,
            "container",
            _case_id(case),
            _pallet_id(plant, pallet),
            _pallet_time(plant, pallet),
            None,
            None,
            None,
        )


def _shipment_plan(plant: Plant) -> list[tuple[int, dt.datetime, list[int]]]:
    """(shipment number, time, container ids): whole pallets, then partial (two cases)."""
    plan: list[tuple[int, dt.datetime, list[int]]] = []
    for pallet in range(plant.pallets):
        at = _pallet_time(plant, pallet) + dt.timedelta(days=1)
        if plant.pallet_shipped(pallet):
            plan.append((len(plan) + 1, at, [_pallet_id(plant, pallet)]))
        else:
            cases = [
                c
                for c in range(
                    pallet * CASES_PER_PALLET, min(plant.cases, (pallet + 1) * CASES_PER_PALLET)
                )
                if plant.case_shipped_alone(c)
            ]
            if cases:
                plan.append((len(plan) + 1, at, [_case_id(c) for c in cases]))
    return sorted(plan, key=lambda item: item[1])


SHIPMENT_COLUMNS = [
    "id",
    "number",
    "customer_id",
    "recipient_name",
    "recipient_address",
    "order_ref",
    "ship_date",
    "status",
    "shipped_at",
    "created_at",
]


def _shipments(plant: Plant) -> Iterator[tuple[Any, ...]]:
    for number, at, _ in _shipment_plan(plant):
        customer = number % 100 + 1
        region = REGIONS[customer % len(REGIONS)]
        yield (
            number,
            f"SHP-{number:05d}",
            customer,
            f"Hospital {customer}",
            f"{customer} Main St\n{customer:05d} Springfield\n{region}\nUS",
            f"SO-{number}",
            at.date(),
            "shipped",
            at,
            at,
        )


def _ship_event(plant: Plant, number: int, at: dt.datetime) -> uuid.UUID:
    return event_uuid(at, plant.logistics_number(10_000_000 + number))


def _shipment_items(plant: Plant) -> Iterator[tuple[Any, ...]]:
    row = 0
    for number, at, containers in _shipment_plan(plant):
        for container in containers:
            row += 1
            yield (row, number, container, 1, _ship_event(plant, number, at))


EDGE_COLUMNS = [
    "id",
    "parent_kind",
    "parent_id",
    "child_kind",
    "child_id",
    "quantity",
    "uom",
    "event_id",
    "occurred_at",
]


def _assembly_event(plant: Plant, level: str, index: int) -> tuple[uuid.UUID, dt.datetime]:
    at = plant.made_at(level, index)
    return event_uuid(at, plant.event_number(plant.unit_id(level, index), 0)), at


def _edges(plant: Plant) -> Iterator[tuple[Any, ...]]:
    row = 0
    received = plant.made_at("tubeset", 0) - dt.timedelta(days=2)
    for code, _, _, quantity, inputs in plant.lot_rows():
        for source in inputs:
            row += 1
            yield (
                row,
                "lot",
                plant.lots[code][0],
                "lot",
                plant.lots[source][0],
                quantity,
                "EA",
                event_uuid(received, plant.logistics_number(20_000_000 + row)),
                received,
            )
    for level in LEVELS:
        for index in range(plant.level_size(level)):
            event_id, at = _assembly_event(plant, level, index)
            parent = plant.unit_id(level, index)
            units, lots = plant.parts(level, index)
            for child in units:
                row += 1
                yield (row, "unit", parent, "unit", plant.unit_id(*child), None, "", event_id, at)
            for code in lots:
                row += 1
                yield (row, "unit", parent, "lot", plant.lots[code][0], 1.0, "EA", event_id, at)


LINEAGE_COLUMNS = [
    "ancestor_kind",
    "ancestor_id",
    "descendant_kind",
    "descendant_id",
    "descendant_end",
]


def _lineage(plant: Plant) -> Iterator[tuple[Any, ...]]:
    for code, _, _, _, _ in plant.lot_rows():
        for ancestor in set(plant.lot_ancestors(code)):
            yield ("lot", plant.lots[ancestor][0], "lot", plant.lots[code][0], False)
    for level in LEVELS:
        end = level == "kit"  # tube sets go into catheters, catheters into kits
        for index in range(plant.level_size(level)):
            descendant = plant.unit_id(level, index)
            units, lots = plant.ancestors(level, index)
            for unit_id in sorted(units):
                yield ("unit", unit_id, "unit", descendant, end)
            for code in sorted(lots):
                yield ("lot", plant.lots[code][0], "unit", descendant, end)


async def _partitions(conn: Any, plant: Plant) -> None:
    first = plant.made_at("tubeset", 0) - dt.timedelta(days=40)
    last = plant.made_at("kit", plant.kits - 1) + dt.timedelta(days=40)
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        start, end = month_bounds(year, month)
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {partition_name(year, month)} PARTITION OF events "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


EVENT_COLUMNS = [
    "event_id",
    "id_time",
    "kind",
    "device_id",
    "seq",
    "site",
    "line",
    "checkpoint",
    "occurred_at",
    "received_at",
    "clock_offset_ms",
    "clock_skew",
    "seq_reused",
    "source",
    "prev_hash",
    "payload",
]


def _seal_temp(plant: Plant, catheter: int, visit: int) -> float:
    if plant.excursion(catheter) and visit == 0:
        return 186.0 + catheter % 3
    return 175.0 + (catheter * 7 + visit) % 90 / 10


def _samples(
    plant: Plant, level: str, index: int, checkpoint: str, visit: int
) -> list[tuple[str, str, float, float | None, float | None]]:
    out: list[tuple[str, str, float, float | None, float | None]] = []
    for name, uom, low, high in PARAMETERS.get(checkpoint, ()):
        if name == "seal_temp":
            value = _seal_temp(plant, index, visit)
        else:
            value = round((low or 0) + ((high or 1) - (low or 0)) * ((index + visit) % 10) / 12, 3)
        out.append((name, uom, value, low, high))
    return out


def _schedule(plant: Plant, level: str) -> list[tuple[int, str, int]]:
    """(slot, checkpoint, visit) of a unit's inspections, the same for every unit of a level."""
    checkpoints = LEVEL_CHECKPOINTS[level]
    return [
        (slot, checkpoints[(slot - 1) % len(checkpoints)], (slot - 1) // len(checkpoints))
        for slot in range(1, plant.inspections + 1)
    ]


def _iso(at: dt.datetime) -> str:
    return at.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _events(plant: Plant, maxima: dict[str, int]) -> Iterator[tuple[Any, ...]]:
    prev: dict[str, str] = {}
    sha256 = hashlib.sha256
    received = dt.timedelta(milliseconds=40)

    def sealed(
        event_id: uuid.UUID,
        at: dt.datetime,
        kind: str,
        checkpoint: str,
        template: str,
        **fields: Any,
    ) -> tuple[Any, ...]:
        device = "edge-" + checkpoint
        seq = maxima.get(device, 0) + 1
        maxima[device] = seq
        prev_hash = prev.get(device, "")
        payload = template.format(
            id=event_id,
            device=device,
            seq=seq,
            prev=prev_hash,
            at=_iso(at),
            cp=checkpoint,
            **fields,
        )
        prev[device] = sha256(payload.encode()).hexdigest()
        id_time = at.replace(microsecond=at.microsecond // 1000 * 1000)
        return (
            event_id,
            id_time,
            kind,
            device,
            seq,
            SITE,
            LINE,
            checkpoint,
            at,
            at + received,
            -40,
            False,
            False,
            "mqtt",
            prev_hash,
            payload,
        )

    for level in LEVELS:
        di = plant.di(level)
        schedule = _schedule(plant, level)
        for index in range(plant.level_size(level)):
            serial, lot = plant.serial(level, index), plant.unit_lot(level, index)
            unit_id = plant.unit_id(level, index)
            made = plant.made_at(level, index)
            first = plant.event_number(unit_id, 0)
            units, lots = plant.parts(level, index)
            components = ",".join(
                [
                    f'{{"type":"unit","di":"{plant.di(u[0])}","serial":"{plant.serial(*u)}",'
                    f'"lot":"{plant.unit_lot(*u)}"}}'
                    for u in units
                ]
                + [
                    f'{{"type":"lot","di":"{plant.lots[c][1]}","lot":"{c}","quantity":1.0,'
                    f'"unit_of_measure":"EA"}}'
                    for c in lots
                ]
            )
            yield sealed(
                event_uuid(made, first),
                made,
                "unit.assembled",
                ASSEMBLY[level],
                _ASSEMBLED,
                di=di,
                serial=serial,
                lot=lot,
                components=components,
            )
            for slot, checkpoint, visit in schedule:
                when = made + INSPECTION_GAP * slot
                params = ",".join(
                    f'{{"name":"{n}","value":{v},"unit":"{u}","lo":{"null" if lo is None else lo},'
                    f'"hi":{"null" if hi is None else hi},"age_ms":12,"in_limits":true}}'
                    for n, u, v, lo, hi in _samples(plant, level, index, checkpoint, visit)
                )
                yield sealed(
                    event_uuid(when, first + slot),
                    when,
                    "unit.inspected",
                    checkpoint,
                    _INSPECTED,
                    di=di,
                    serial=serial,
                    lot=lot,
                    params=params,
                )


UNIT_EVENT_COLUMNS = ["unit_id", "event_id", "kind", "role", "occurred_at", "checkpoint_id"]


def _unit_events(plant: Plant, checkpoints: dict[str, int]) -> Iterator[tuple[Any, ...]]:
    for level in LEVELS:
        schedule = [(slot, checkpoints[cp]) for slot, cp, _ in _schedule(plant, level)]
        assembly = checkpoints[ASSEMBLY[level]]
        for index in range(plant.level_size(level)):
            unit_id = plant.unit_id(level, index)
            made = plant.made_at(level, index)
            first = plant.event_number(unit_id, 0)
            event_id = event_uuid(made, first)
            yield (unit_id, event_id, "unit.assembled", "parent", made, assembly)
            for child in plant.parts(level, index)[0]:
                yield (
                    plant.unit_id(*child),
                    event_id,
                    "unit.assembled",
                    "component",
                    made,
                    assembly,
                )
            for slot, checkpoint_id in schedule:
                when = made + INSPECTION_GAP * slot
                yield (
                    unit_id,
                    event_uuid(when, first + slot),
                    "unit.inspected",
                    "subject",
                    when,
                    checkpoint_id,
                )


MEASUREMENT_COLUMNS = [
    "unit_id",
    "checkpoint_id",
    "parameter",
    "value",
    "uom",
    "low",
    "high",
    "age_ms",
    "measured_at",
    "event_id",
]


def _measurements(plant: Plant, checkpoints: dict[str, int]) -> Iterator[tuple[Any, ...]]:
    age = dt.timedelta(milliseconds=12)
    for level in LEVELS:
        schedule = [
            (slot, cp, visit) for slot, cp, visit in _schedule(plant, level) if cp in PARAMETERS
        ]
        for index in range(plant.level_size(level)):
            unit_id = plant.unit_id(level, index)
            made = plant.made_at(level, index)
            first = plant.event_number(unit_id, 0)
            for slot, checkpoint, visit in schedule:
                when = made + INSPECTION_GAP * slot
                event_id = event_uuid(when, first + slot)
                checkpoint_id = checkpoints[checkpoint]
                for name, uom, value, low, high in _samples(plant, level, index, checkpoint, visit):
                    yield (
                        unit_id,
                        checkpoint_id,
                        name,
                        value,
                        uom,
                        low,
                        high,
                        12,
                        when - age,
                        event_id,
                    )
