"""The real service for the browser tests: uvicorn in a thread on a free port, on a fresh
database, seeded through its own HTTP API (users, device credentials, events) as a plant
would feed it. Loaded by path from conftest.py (tests are not a package)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import itertools
import secrets
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import httpx
import uvicorn
from access_helpers import PASSWORD, bearer
from cloud_helpers import Device
from issue8_scenario import CATHETER, tell
from status_helpers import status_of, topic_of

from cloud.app import create_app
from cloud.db.database import Database
from cloud.db.migrate import upgrade_database
from cloud.domain.audit import capture
from cloud.domain.events.validation import Incoming
from cloud.domain.fleet.checks import StatusReceipt
from cloud.domain.fleet.store import StatusStore
from cloud.domain.plant.services import PlantCheckpoint, PlantService
from cloud.settings import Settings

T = TypeVar("T")
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SITE, LINE = "plant-t", "line-1"
PEOPLE = {
    "quinn": ("Quinn Quality", "quality"),
    "aldo": ("Aldo Auditor", "auditor"),
    "olga": ("Olga Operator", "operator"),
}


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end in a thread of its own: Playwright's sync API keeps an event
    loop running in the test's thread, where `asyncio.run` refuses to start another."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveService:
    settings: Settings
    port: int = field(default_factory=free_port)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = uvicorn.Config(
            create_app(self.settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="console", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the service did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=30)


def fresh_database(kind: str, directory: str) -> tuple[str, str | None]:
    """(URL, PostgreSQL database name to drop later) of a migrated, empty database."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{directory}/console.sqlite3"
        run_async(upgrade_database(url))
        return url, None
    name = f"tracegate_console_{secrets.token_hex(4)}"

    async def create() -> None:
        connection = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    run_async(create())
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    run_async(upgrade_database(url))
    return url, name


def drop_database(name: str) -> None:
    async def drop() -> None:
        connection = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    run_async(drop())


def plant_devices() -> dict[str, Device]:
    return {
        cp: Device(device_id=f"edge-{cp}", site=SITE, line=LINE, checkpoint=cp)
        for cp in ("receiving", "sealing", "assembly", "packing", "shipping")
    }


async def _bootstrap(url: str, devices: dict[str, Device]) -> dict[str, str]:
    """What `tracegate cloud migrate --plant` and `create-user` do: the plant, the first admin."""
    capture.install()
    db = Database.connect(url)
    try:
        await PlantService(db).import_checkpoints(
            PlantCheckpoint(
                site=d.site, line=d.line, checkpoint=d.checkpoint, device_id=d.device_id
            )
            for d in devices.values()
        )
        return await bearer(db, username="ada", roles=["admin"], full_name="Ada Admin")
    finally:
        await db.close()


async def _agents_report(url: str, devices: dict[str, Device], prefix: str) -> None:
    """The agents' statuses as the status consumer stores them (its MQTT path is tested in
    tests/integration/cloud/test_device_status.py): sealing online with a backlog and a
    scanner down, assembly silent for two hours, packing on another config, receiving
    offline, shipping never heard."""
    db = Database.connect(url)
    store = StatusStore(
        db,
        topic_prefix=prefix,
        accept_unknown_devices=False,
        max_bytes=65536,
        dead_letter_keep_bytes=1024,
    )
    now = dt.datetime.now(dt.UTC)
    earlier = now - dt.timedelta(hours=2)
    reports = [
        (devices["sealing"], status_of(devices["sealing"], depth=42, oldest_s=17.5), now),
        (devices["assembly"], status_of(devices["assembly"], occurred_at=earlier), earlier),
        (devices["packing"], status_of(devices["packing"], config="cfg-2"), now),
        (devices["receiving"], status_of(devices["receiving"], online=False), now),
    ]
    try:
        result = await store.record(
            [
                StatusReceipt(Incoming(data, topic_of(d, prefix), at, "mqtt"), retained=False)
                for d, data, at in reports
            ]
        )
        assert result.stored == len(reports), result
    finally:
        await db.close()


def seed(service: LiveService, url: str) -> None:
    """The plant's story through the API: people, device credentials, events, a unit held at
    sealing, a closed CAPA."""
    devices = plant_devices()
    admin = run_async(_bootstrap(url, devices))
    with httpx.Client(base_url=service.url, timeout=30) as api:
        for username, (full_name, role) in PEOPLE.items():
            created = api.post(
                "/api/users",
                headers=admin,
                json={
                    "username": username,
                    "full_name": full_name,
                    "roles": [role],
                    "password": PASSWORD,
                },
            )
            created.raise_for_status()
        tokens = {}
        for d in devices.values():
            issued = api.post(f"/api/devices/{d.device_id}/credentials", headers=admin)
            issued.raise_for_status()
            tokens[d.device_id] = {"Authorization": f"Bearer {issued.json()['token']}"}
        run_async(_agents_report(url, devices, service.settings.topic_prefix))
        story = tell(devices)
        sealing = devices["sealing"]
        extra = [
            sealing.inspected("CA9", decision="hold", seal_temp=195.0, lot="C1", di=CATHETER),
            sealing.inspected("CA10", lot="C1", di=CATHETER),
        ]
        sent = [(d, data) for d, data, _ in story.events] + [(sealing, data) for _, data in extra]
        # A device posts only its own events: one request per run of one device's events,
        # in the order they happened.
        for device, run in itertools.groupby(sent, key=lambda item: item[0].device_id):
            body = b"[" + b",".join(data for _, data in run) + b"]"
            posted = api.post(
                "/api/events",
                headers=tokens[device] | {"Content-Type": "application/json"},
                content=body,
            )
            posted.raise_for_status()
            assert posted.json()["refused"] == [], posted.json()
        login = api.post("/api/auth/login", json={"username": "quinn", "password": PASSWORD})
        quinn = {"Authorization": f"Bearer {login.json()['token']}"}
        capa = api.post("/api/capas", headers=quinn, json={"title": "Seal temperature drift"})
        capa.raise_for_status()
        api.post(
            f"/api/capas/{capa.json()['number']}/close",
            headers=quinn,
            json={
                "meaning": "reviewed and closed",
                "reason": "heater replaced",
                "username": "quinn",
                "password": PASSWORD,
            },
        ).raise_for_status()


def running(kind: str, directory: str) -> Iterator[LiveService]:
    url, pg_name = fresh_database(kind, directory)
    # A long heartbeat period: the agents stored online stay online while the tests run.
    service = LiveService(
        Settings(database_url=url, topic_prefix=f"t{secrets.token_hex(4)}/v1", status_period_s=600)
    )
    service.start()
    try:
        seed(service, url)
        yield service
    finally:
        service.stop()
        if pg_name is not None:
            drop_database(pg_name)
