"""Trace and recall on PostgreSQL at plant scale, each beside a plain indexed lookup of the
same number of rows, measured in the same run.

    .venv/bin/python bench/trace.py [--kits 200000] [--events 10000000] [--fresh] [--drop]

The default seeds 1,000,000 units (200,000 kits, 400,000 catheters, 400,000 tube sets),
10,000,000 events and a five-level genealogy (supplier lots -> split / merged lots ->
tube sets -> catheters -> kits), cases, pallets, shipments (bench/trace_plant.py), by
COPY into a database of its own (`tracegate_bench_trace`), kept for the next run unless
`--drop`; `--fresh` seeds again. Then, through the service's own code
(TraceService, the recall scope and impact):

1. backward trace of a random kit (every level down to the supplier lots);
2. forward trace of a film lot, in ~10,000 finished kits (one level);
3. forward trace of a tubing supplier lot: ~10,000 kits plus the ~40,000 tube sets and
   catheters between (four levels), all returned;
4. recall impact of connector lot CONN-A: ~100,000 affected kits, with place, shipment,
   recipients and regions;
5. process-excursion scope: seal_temp at sealing above 185 on one day.

Each beside `SELECT ... FROM units WHERE id = ANY($ids)` for as many random ids as the
query returned, run through the same session machinery, rounds interleaved.
Targets (issue 8, p99): backward 5 ms, forward 150 ms, recall impact 500 ms, excursion
5 ms; forward and recall within 2x the plain lookup.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
from sqlalchemy import ARRAY, BigInteger, bindparam, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from trace_plant import CONNECTOR_DI, FILM_DI, KIT_DI, TUBING_DI, Plant
from trace_seed import seed

from cloud.db.database import Database
from cloud.db.migrate import upgrade_database
from cloud.domain.recall.queries import compute_impact
from cloud.domain.recall.schemas import Excursion, LotScope, RecallScope
from cloud.domain.recall.scope import check_scope
from cloud.domain.trace.services import TraceService

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PLAIN_LOOKUP = text(
    "SELECT id, di, serial, lot, status, status_at FROM units WHERE id = ANY(:ids)"
).bindparams(bindparam("ids", type_=ARRAY(BigInteger())))


@dataclass
class Figure:
    name: str
    rows: int
    times_ms: list[float]
    baseline_ms: list[float]
    target_p99_ms: float
    within_2x: bool

    @staticmethod
    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _database(name: str, plant: Plant, *, fresh: bool) -> tuple[str, bool]:
    """(URL, whether it still needs seeding)."""
    marker = f"trace-bench kits={plant.kits} events={plant.events}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        comment = await admin.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            name,
        )
        if exists and comment == marker and not fresh:
            return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", False
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{marker} (seeding)'")
    finally:
        await admin.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", True


async def _seed(url: str, name: str, plant: Plant) -> None:
    marker = f"trace-bench kits={plant.kits} events={plant.events}"
    await upgrade_database(url)
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    started = time.perf_counter()
    sys.stderr.write(
        f"seeding {plant.units:,} units, ~{plant.events:,} events "
        f"({plant.inspections} inspections per unit)\n"
    )
    try:
        counts = await seed(conn, plant)
        await conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{marker}'")
    finally:
        await conn.close()
    sys.stderr.write(
        f"seeded in {time.perf_counter() - started:.0f} s: "
        + ", ".join(f"{t} {n:,}" for t, n in counts.items())
        + "\n"
    )


async def _plain(db: Database, ids: list[int]) -> int:
    async with db.sessions() as session:
        return len((await session.execute(PLAIN_LOOKUP, {"ids": ids})).all())


async def _measure(
    db: Database,
    name: str,
    run: Callable[[], Awaitable[int]],
    *,
    rounds: int,
    units: int,
    target_p99_ms: float,
    rng: random.Random,
) -> Figure:
    for _ in range(2):  # warm-up: plans, caches
        rows = await run()
    times, baseline = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        rows = await run()
        times.append((time.perf_counter() - started) * 1000)
        ids = rng.sample(range(1, units + 1), max(rows, 1))
        started = time.perf_counter()
        await _plain(db, ids)
        baseline.append((time.perf_counter() - started) * 1000)
    figure = Figure(name, rows, times, baseline, target_p99_ms, False)
    figure.within_2x = Figure.pct(times, 0.99) <= 2 * Figure.pct(baseline, 0.99)
    _print(figure)
    return figure


def _print(f: Figure) -> None:
    p50, p99 = Figure.pct(f.times_ms, 0.5), Figure.pct(f.times_ms, 0.99)
    b50, b99 = Figure.pct(f.baseline_ms, 0.5), Figure.pct(f.baseline_ms, 0.99)
    verdict = "meets" if p99 <= f.target_p99_ms else "MISSES"
    print(
        f"{f.name:<40} {f.rows:>8,} rows  p50 {p50:8.2f} ms  p99 {p99:8.2f} ms  | plain lookup "
        f"p50 {b50:8.2f} p99 {b99:8.2f} ms  | {p99 / b99:5.2f}x plain, target p99 "
        f"{f.target_p99_ms:g} ms ({verdict})",
        flush=True,
    )


async def _run(args: argparse.Namespace) -> list[Figure]:
    plant = Plant(kits=args.kits, events=args.events)
    url, needs_seed = await _database(args.database, plant, fresh=args.fresh)
    if needs_seed:
        await _seed(url, args.database, plant)
    else:
        sys.stderr.write(f"reusing the seeded database {args.database} (--fresh to seed again)\n")
        # A database seeded before a newer migration gets it (its backfill included).
        await upgrade_database(url)
    db = Database.connect(url, pool_size=4)
    trace = TraceService(db)
    rng = random.Random(8)
    figures = []
    try:
        async with db.sessions() as session:
            sizes = (
                await session.execute(
                    text(
                        "SELECT (SELECT count(*) FROM units), (SELECT count(*) FROM events), "
                        "(SELECT count(*) FROM lineage), (SELECT count(*) FROM genealogy_edges),"
                        " pg_size_pretty(pg_database_size(current_database())), version()"
                    )
                )
            ).one()
        print(
            f"database: {sizes[0]:,} units, {sizes[1]:,} events, {sizes[2]:,} lineage rows, "
            f"{sizes[3]:,} genealogy edges, {sizes[4]}; {sizes[5].split(',')[0]}"
        )
        units = int(sizes[0])

        async def backward() -> int:
            kit = rng.randrange(plant.kits)
            result = await trace.backward(f"{KIT_DI}:{plant.serial('kit', kit)}")
            return len(result.nodes) + 1

        async def forward(di: str, lot: str) -> int:
            return len((await trace.forward_from_lot(di, lot)).units)

        async def impact(scope: RecallScope) -> int:
            check_scope(scope)
            async with db.sessions() as session:
                return (await compute_impact(session, scope))[2].unit_count

        day = plant.made_at("catheter", 0) + dt.timedelta(days=30)
        start = day.replace(hour=0, minute=0, second=0, microsecond=0)
        excursion = RecallScope(
            excursions=[
                Excursion(
                    checkpoint="sealing",
                    parameter="seal_temp",
                    high=185.0,
                    start=start,
                    end=start + dt.timedelta(days=1),
                )
            ]
        )
        recall = RecallScope(lots=[LotScope(di=CONNECTOR_DI, lots=["CONN-A"])])
        figures.append(
            await _measure(
                db,
                "backward trace (random kit)",
                backward,
                rounds=args.rounds * 10,
                target_p99_ms=5,
                units=units,
                rng=rng,
            )
        )
        figures.append(
            await _measure(
                db,
                "forward trace, film lot FILM-03",
                lambda: forward(FILM_DI, "FILM-03"),
                rounds=args.rounds,
                target_p99_ms=150,
                units=units,
                rng=rng,
            )
        )
        figures.append(
            await _measure(
                db,
                "forward trace, tubing lot TUBE-S03",
                lambda: forward(TUBING_DI, "TUBE-S03"),
                rounds=args.rounds,
                target_p99_ms=150,
                units=units,
                rng=rng,
            )
        )
        figures.append(
            await _measure(
                db,
                "recall impact, connector lot CONN-A",
                lambda: impact(recall),
                rounds=max(5, args.rounds // 2),
                target_p99_ms=500,
                units=units,
                rng=rng,
            )
        )
        figures.append(
            await _measure(
                db,
                "excursion scope (seal_temp > 185, 1 day)",
                lambda: impact(excursion),
                rounds=args.rounds * 5,
                target_p99_ms=5,
                units=units,
                rng=rng,
            )
        )
    finally:
        await db.close()
        if args.drop:
            admin = await asyncpg.connect(ADMIN_DSN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            await admin.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kits", type=int, default=200_000, help="kits (units = 5 x kits)")
    parser.add_argument("--events", type=int, default=10_000_000, help="events to seed")
    parser.add_argument("--rounds", type=int, default=20, help="rounds of the forward traces")
    parser.add_argument("--database", default="tracegate_bench_trace")
    parser.add_argument("--fresh", action="store_true", help="seed again even if seeded")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    args = parser.parse_args()
    figures = asyncio.run(_run(args))
    misses = [f.name for f in figures if Figure.pct(f.times_ms, 0.99) > f.target_p99_ms]
    print("all targets met" if not misses else f"targets missed: {', '.join(misses)}")


if __name__ == "__main__":
    main()
