"""The demo's cloud service: its database prepared in this process (schema, the plant, a
user), then `tracegate cloud serve --ingest` as a child process, with its settings in a
file of the working directory."""

from __future__ import annotations

import asyncio
import secrets
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from tracegate.demo.errors import DemoError
from tracegate.demo.plant import free_port
from tracegate.demo.procs import ChildProcess

if TYPE_CHECKING:
    from cloud.domain.auth.roles import HumanRole

DEMO_USER = "demo"
DEMO_ROLES: tuple[HumanRole, ...] = ("operator", "quality", "auditor", "admin")
"""The demo's user does everything: seeds the catalog (admin), runs the line (operator),
previews a recall (quality) and verifies the audit trail (auditor)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CloudSettings:
    database_url: str
    broker_url: str
    topic_prefix: str
    http_port: int
    run_id: str

    def toml(self) -> str:
        return "\n".join(
            [
                "# Written by `tracegate demo` for its cloud service.",
                f'database_url = "{self.database_url}"',
                f'mqtt_url = "{self.broker_url}"',
                f'topic_prefix = "{self.topic_prefix}"',
                # A group and a session of this run's own: nothing left over from another
                # run (or another demo on a shared broker) is delivered to it.
                f'ingest_group = "tracegate-demo-{self.run_id}"',
                f'ingest_client_id = "tracegate-demo-ingest-{self.run_id}"',
                "ingest_session_expiry_s = 600",
                "ingest_batch_wait_ms = 10",
                "accept_unknown_devices = false",
                # The demo's agents heartbeat every 5 s (plant.py): one silent for 15 s is shown so.
                "status_period_s = 5",
                'http_host = "127.0.0.1"',
                f"http_port = {self.http_port}",
                "",
            ]
        )


async def prepare_database(database_url: str, plant_file: Path) -> str:
    """Create the schema, import the plant, create the demo's user; its password."""
    from cloud.db.database import Database
    from cloud.db.migrate import upgrade_database
    from cloud.domain.audit import capture
    from cloud.domain.audit.context import Actor, acting_as
    from cloud.domain.auth.schemas import UserIn
    from cloud.domain.auth.services import AuthService
    from cloud.domain.plant.importer import read_plant
    from cloud.domain.plant.services import PlantService

    capture.install()
    await upgrade_database(database_url)
    password = secrets.token_urlsafe(12)
    while DEMO_USER in password.lower():  # the password policy refuses the username in it
        password = secrets.token_urlsafe(12)
    db = Database.connect(database_url)
    actor = Actor(name="cli:tracegate-demo", kind="system", request="tracegate demo")
    try:
        with acting_as(actor):
            await PlantService(db).import_checkpoints(read_plant(plant_file))
            users = await AuthService(db).list_users()
            if any(u.username == DEMO_USER for u in users):
                raise DemoError(
                    f"the database {database_url} already has a user {DEMO_USER!r}: the demo"
                    " needs a fresh database (--db)"
                )
            await AuthService(db).create_user(
                UserIn(
                    username=DEMO_USER,
                    full_name="Demo User",
                    roles=list(DEMO_ROLES),
                    password=password,
                )
            )
    finally:
        await db.close()
    return password


class DemoCloud:
    """The service process: `start()` returns once /health says ok."""

    def __init__(
        self, directory: Path, *, database_url: str, broker_url: str, topic_prefix: str
    ) -> None:
        self.directory = directory
        self.settings = CloudSettings(
            database_url=database_url,
            broker_url=broker_url,
            topic_prefix=topic_prefix,
            http_port=free_port(),
            run_id=secrets.token_hex(4),
        )
        self.process: ChildProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.http_port}"

    async def start(self, *, timeout_s: float = 60.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        settings_file = self.directory / "settings.toml"
        settings_file.write_text(self.settings.toml(), encoding="utf-8")
        argv = [sys.executable, "-m", "tracegate.cli", "cloud", "serve"]
        argv += ["--config", str(settings_file), "--ingest"]
        self.process = await ChildProcess.start("cloud", argv, log=self.directory / "cloud.log")
        await self._healthy(timeout_s=timeout_s)

    async def _healthy(self, *, timeout_s: float) -> None:
        assert self.process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        last = "no answer"
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as client:
            while loop.time() < deadline:
                if not self.process.running:
                    raise DemoError(
                        f"the cloud service exited with code {self.process.process.returncode}:"
                        f"\n{self.process.tail()}"
                    )
                try:
                    answer = await client.get("/health")
                    body = answer.json()
                    if answer.status_code == 200 and body.get("status") == "ok":
                        return
                    last = answer.text
                except (httpx.HTTPError, ValueError) as exc:
                    last = repr(exc)
                await asyncio.sleep(0.2)
        raise DemoError(f"the cloud service was not healthy within {timeout_s} s: {last}")

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop(signal.SIGTERM, timeout_s=10.0)
            self.process = None
