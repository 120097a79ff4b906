"""`tracegate cloud ...`: run the cloud service, its migrations and its MQTT ingest.

Every cloud import happens inside a command body: the CLI must load on an edge
device that has no Litestar, SQLAlchemy or asyncpg installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from cloud.settings import Settings

cloud_app = typer.Typer(help="The cloud service: serve, migrate, ingest.", no_args_is_help=True)

_CONFIG = typer.Option(
    None,
    "--config",
    "-c",
    help="Settings file (.toml or .yaml); TRACEGATE_* environment variables override it.",
    exists=True,
    dir_okay=False,
)


def _settings(config: Path | None, **overrides: Any) -> Settings:
    from cloud.settings import SettingsError, load_settings

    try:
        return load_settings(file=config, **{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


_PLANT = typer.Option(
    None,
    "--plant",
    help="Also import sites, lines, checkpoints and devices from these plant files "
    "(a file or a folder; default: the device_configs_dir setting).",
)


@cloud_app.command("migrate")
def migrate(
    config: Path | None = _CONFIG,
    plant: Path | None = _PLANT,
) -> None:
    """Create or upgrade the database schema, then import the plant files."""
    import asyncio

    settings = _settings(config)
    asyncio.run(_migrate(settings, plant or settings.device_configs_dir))


async def _migrate(settings: Settings, plant: Path | None) -> None:
    from cloud.db.database import Database
    from cloud.db.migrate import current_revision, upgrade_database
    from cloud.domain.audit import capture
    from cloud.domain.plant.importer import read_plant
    from cloud.domain.plant.services import PlantService
    from protocols.config import ConfigError

    capture.install()  # the plant import is audited

    await upgrade_database(settings.database_url)
    typer.echo(f"database at revision {await current_revision(settings.database_url)}")
    if plant is None:
        return
    try:
        entries = read_plant(plant)
    except (ConfigError, FileNotFoundError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    db = Database.connect(settings.database_url)
    try:
        created = await PlantService(db).import_checkpoints(entries)
    finally:
        await db.close()
    typer.echo(
        f"imported {plant}: {created.sites} sites, {created.lines} lines, "
        f"{created.checkpoints} checkpoints, {created.devices} devices created"
    )


@cloud_app.command("serve")
def serve(
    config: Path | None = _CONFIG,
    host: str | None = typer.Option(None, help="Listen address (default: http_host setting)."),
    port: int | None = typer.Option(None, help="Listen port (default: http_port setting)."),
    ingest: bool | None = typer.Option(
        None, "--ingest/--no-ingest", help="Run the MQTT ingest in this process too."
    ),
) -> None:
    """Serve the HTTP API (OpenAPI at /schema, health at /health)."""
    import uvicorn

    from cloud.app import create_app
    from cloud.ingest.collector import settle_collector

    settings = _settings(config, http_host=host, http_port=port, ingest_enabled=ingest)
    app = create_app(settings)
    settle_collector()  # POST /api/events and --ingest: see cloud/ingest/collector.py
    uvicorn.run(app, host=settings.http_host, port=settings.http_port)


@cloud_app.command("ingest")
def ingest(
    config: Path | None = _CONFIG,
    worker: str | None = typer.Option(
        None,
        "--worker",
        help="Stable worker name: the broker keeps this worker's session (default: "
        "ingest_client_id setting). Give each worker its own.",
    ),
) -> None:
    """Run one MQTT ingest worker (and the agents' status consumer) until interrupted."""
    import asyncio

    settings = _settings(config, ingest_client_id=worker)
    asyncio.run(_ingest(settings))


async def _ingest(settings: Settings) -> None:
    import asyncio
    import signal

    from cloud.db.database import Database
    from cloud.domain.audit import capture
    from cloud.domain.events.ingest import EventIngestService
    from cloud.ingest.collector import settle_collector
    from cloud.ingest.consumer import MqttIngest
    from cloud.runtime import ingest_options, status_consumer

    capture.install()  # holds an edge decided, shipments first seen: audited as the system
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    db = Database.connect(settings.database_url, pool_size=settings.database_pool_size)
    # The events' own pool, without a ping per checkout (3 round trips a batch): a batch
    # that meets a lost connection stays unacknowledged and is retried.
    events_db = Database.connect(
        settings.database_url, pool_size=settings.ingest_concurrency, pre_ping=False
    )
    worker = MqttIngest(settings, EventIngestService(events_db, ingest_options(settings)))
    # Beside the events, the agents' retained device.status (a plain subscription of its own).
    status = status_consumer(settings, db)
    settle_collector()
    typer.echo(f"ingest {settings.ingest_client_id} on {worker.subscription}")
    try:
        await asyncio.gather(worker.run(stop), status.run(stop))
    finally:
        await events_db.close()
        await db.close()
    stats = worker.stats
    typer.echo(
        f"stopped: {stats.stored} stored, {stats.duplicates} duplicates, "
        f"{stats.refused} dead-lettered, {stats.gaps_opened} gaps opened"
    )
