"""`GET /health`: whether the database answers and the broker connections are up."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from sqlalchemy import text

from cloud.runtime import Runtime


class BrokerHealth(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    commands_connected: bool
    commands_pending: int
    ingest: str
    """`off` when this process runs no ingest, else `connected` or `disconnected`."""


class DatabaseHealth(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    dialect: str
    error: str | None = None


class Health(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    database: DatabaseHealth
    broker: BrokerHealth


class HealthController(Controller):
    path = "/health"
    tags = ("system",)

    @get("/", cache=False)
    async def health(self, runtime: NamedDependency[Runtime]) -> Response[Health]:
        database = await _database_health(runtime)
        ingest = runtime.ingest
        broker = BrokerHealth(
            url=runtime.settings.mqtt_url.split("@")[-1],
            commands_connected=runtime.commands.connected,
            commands_pending=runtime.commands.pending,
            ingest="off"
            if ingest is None
            else ("connected" if ingest.connected else "disconnected"),
        )
        healthy = database.ok and broker.commands_connected and broker.ingest != "disconnected"
        body = Health(status="ok" if healthy else "degraded", database=database, broker=broker)
        return Response(body, status_code=200 if database.ok else 503)


async def _database_health(runtime: NamedDependency[Runtime]) -> DatabaseHealth:
    dialect = runtime.db.engine.dialect.name
    try:
        async with asyncio.timeout(2.0):
            async with runtime.db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not healthy"; the reason is reported
        return DatabaseHealth(ok=False, dialect=dialect, error=f"{type(exc).__name__}: {exc}")
    return DatabaseHealth(ok=True, dialect=dialect)
