"""Console page loads on demo-size data, each beside the JSON API call it is built on, in the
same run, through the real service (uvicorn) over HTTP.

    .venv/bin/python bench/web_console.py [--kits 2000] [--events 60000] [--rounds 15]

Seeds `bench/trace_plant.py`'s five-level plant (kits x 5 units: kits, catheters, tube sets;
supplier, split and merged lots; cases, pallets, shipments, events) into a PostgreSQL
database of its own by COPY, dropped at the end. Logs in through the console's form, creates
a mock recall of a connector lot (half the kits), then times every page `--rounds` times,
rounds interleaved with the baseline calls. Target (issue 10): every page under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).parent))

from trace_plant import CONNECTOR_DI, KIT_DI, TUBING_DI, Plant
from trace_seed import seed

from cloud.app import create_app
from cloud.db.database import Database
from cloud.db.migrate import upgrade_database
from cloud.domain.auth.credentials import hash_password
from cloud.domain.auth.models import User
from cloud.settings import Settings

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench console password"
FILM_DI = "09506000134390"


async def _fresh(name: str) -> str:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def _drop(name: str) -> None:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _prepare(url: str, plant: Plant) -> None:
    await upgrade_database(url)
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        counts = await seed(conn, plant)
    finally:
        await conn.close()
    sys.stderr.write("seeded: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()) + "\n")
    db = Database.connect(url)
    try:
        async with db.sessions.begin() as session:
            session.add(
                User(
                    username="bench",
                    full_name="Bench Quality",
                    roles=["auditor", "quality"],
                    password_hash=hash_password(PASSWORD),
                )
            )
    finally:
        await db.close()


def _serve(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def _timed(client: httpx.Client, url: str) -> float:
    began = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - began) * 1000
    if response.status_code not in (200, 303):
        raise SystemExit(f"{url}: {response.status_code} {response.text[:300]}")
    return elapsed


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kits", type=int, default=2000)
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    name = f"tracegate_bench_console_{secrets.token_hex(3)}"
    plant = Plant(kits=args.kits, events=args.events)
    url = asyncio.run(_fresh(name))
    try:
        asyncio.run(_prepare(url, plant))
        server, thread, base = _serve(
            Settings(database_url=url, topic_prefix=f"bench{secrets.token_hex(3)}/v1")
        )
        try:
            _measure(base, plant, args.rounds)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
    finally:
        asyncio.run(_drop(name))


def _measure(base: str, plant: Plant, rounds: int) -> None:
    kit = f"{KIT_DI}:{plant.serial('kit', plant.kits // 2)}"
    tubing = plant.tubing_lot(0)
    web = httpx.Client(base_url=base, timeout=60, headers={"Accept": "text/html"})
    web.post("/console/login", data={"username": "bench", "password": PASSWORD})
    token = httpx.post(
        f"{base}/api/auth/login", json={"username": "bench", "password": PASSWORD}
    ).json()["token"]
    api = httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"})
    page = web.get("/console/recalls").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    made = web.post(
        "/console/recalls",
        data={
            "csrf": csrf,
            "lots": f"{CONNECTOR_DI} CONN-A",
            "title": "bench drill",
            "reason": "bench",
            "mode": "mock",
        },
    )
    number = made.headers["location"].rsplit("/", 1)[1]
    start = "2026-01-01"
    cases = [
        ("search (UDI -> 303)", f"/console/search?q={quote(kit)}", "/health"),
        ("unit page", f"/console/unit?id={quote(kit)}", f"/api/units/{quote(kit)}"),
        ("genealogy", f"/console/genealogy?id={quote(kit)}", f"/api/trace/backward/{quote(kit)}"),
        (
            "lot: film (1 level)",
            f"/console/lot?di={FILM_DI}&lot=FILM-00",
            f"/api/trace/forward?di={FILM_DI}&lot=FILM-00",
        ),
        (
            "lot: tubing (4 levels)",
            f"/console/lot?di={TUBING_DI}&lot={tubing}",
            f"/api/trace/forward?di={TUBING_DI}&lot={tubing}",
        ),
        ("holds", "/console/holds", "/api/holds?status=open"),
        ("recall cockpit", f"/console/recalls/{number}", f"/api/recalls/{number}"),
        ("recalls", "/console/recalls", "/api/recalls"),
        ("lines", "/console/lines", "/api/devices/status"),
        ("dashboard (all data)", f"/console/dashboard?start={start}", "/health"),
        ("audit (chain verified)", "/console/audit", "/api/audit/verify?devices=false"),
    ]
    times: dict[str, list[float]] = {c[0]: [] for c in cases}
    baseline: dict[str, list[float]] = {c[0]: [] for c in cases}
    for _, page_url, api_url in cases:  # warm up: first plans, caches, connections
        _timed(web, page_url)
        _timed(api, api_url)
    for _ in range(rounds):
        for name, page_url, api_url in cases:
            times[name].append(_timed(web, page_url))
            baseline[name].append(_timed(api, api_url))
    print(
        f"{plant.units:,} units, {plant.kits:,} kits, ~{plant.events:,} events; {rounds} rounds; ms"
    )
    print(f"{'page':26s} {'p50':>7s} {'p95':>7s} {'max':>7s}   baseline (API) p50")
    for name, _, api_url in cases:
        t = sorted(times[name])
        p95 = t[min(len(t) - 1, round(0.95 * (len(t) - 1)))]
        print(
            f"{name:26s} {statistics.median(t):7.1f} {p95:7.1f} {t[-1]:7.1f}   "
            f"{statistics.median(baseline[name]):7.1f}  {api_url.split('?')[0]}"
        )


if __name__ == "__main__":
    main()
