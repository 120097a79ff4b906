"""Fixtures of the cloud tests: a fresh PostgreSQL database and a SQLite file per session
(every database test runs on both), and a Mosquitto of our own configured for the ingest."""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text

# Tests are not a package (pytest runs with --import-mode=importlib): put the helpers on the path.
sys.path.insert(0, str(Path(__file__).parent))

from access_helpers import bearer, device_bearer
from cloud_helpers import Device, OwnMosquitto

from cloud.app import create_app
from cloud.db.database import Database
from cloud.db.migrate import upgrade_database
from cloud.db.models import Base
from cloud.domain.plant.services import PlantCheckpoint, PlantService
from cloud.settings import Settings

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SITE, LINE = "plant-t", "line-1"


async def _create_pg(name: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _drop_pg(name: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"tracegate_test_{secrets.token_hex(4)}"
    asyncio.run(_create_pg(name))
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        asyncio.run(upgrade_database(url))
        yield url
    finally:
        asyncio.run(_drop_pg(name))


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'tracegate.sqlite3'}"
    asyncio.run(upgrade_database(url))
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


async def empty_tables(db: Database) -> None:
    tables = [table.name for table in Base.metadata.sorted_tables]
    # DELETE, not TRUNCATE: on tables this small it is much faster on PostgreSQL.
    async with db.engine.begin() as connection:
        for table in reversed(tables):
            await connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The session's database (SQLite or PostgreSQL), emptied for this test."""
    database = Database.connect(database_url)
    await empty_tables(database)
    yield database
    await database.close()


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnMosquitto]:
    broker = OwnMosquitto(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def prefix() -> str:
    """A topic prefix of this test's own: the broker is shared by the session."""
    return f"t{secrets.token_hex(4)}/v1"


@pytest.fixture
def settings(database_url: str, mosquitto: OwnMosquitto, prefix: str) -> Settings:
    tag = secrets.token_hex(4)
    return Settings(
        database_url=database_url,
        mqtt_url=mosquitto.url,
        topic_prefix=prefix,
        ingest_group=f"ingest-{tag}",
        ingest_client_id=f"ingest-{tag}-1",
        ingest_batch_wait_ms=5,
        accept_unknown_devices=False,
    )


@pytest.fixture
def devices() -> dict[str, Device]:
    """The test plant's edges: one device per checkpoint of line-1."""
    return {
        cp: Device(device_id=f"edge-{cp}", site=SITE, line=LINE, checkpoint=cp)
        for cp in ("receiving", "sealing", "assembly", "packing", "shipping")
    }


@pytest.fixture
async def plant(db: Database, devices: dict[str, Device]) -> dict[str, Device]:
    """The test plant imported into the database, as `cloud migrate --plant` would."""
    await PlantService(db).import_checkpoints(
        PlantCheckpoint(site=d.site, line=d.line, checkpoint=d.checkpoint, device_id=d.device_id)
        for d in devices.values()
    )
    return devices


@pytest.fixture
async def client(db: Database, settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The service on the test's database and broker, through its lifespan, called by a user
    holding every person's role (a device's calls carry `device_auth` headers instead)."""
    headers = await bearer(db, username="tester", roles=("operator", "quality", "auditor", "admin"))
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        test_client.headers.update(headers)
        yield test_client


@pytest.fixture
async def device_auth(db: Database, plant: dict[str, Device]) -> dict[str, dict[str, str]]:
    """`Authorization` headers of each plant device's own credential, by checkpoint."""
    return {cp: await device_bearer(db, d.device_id) for cp, d in plant.items()}
