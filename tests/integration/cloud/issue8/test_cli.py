"""The CLI: `tracegate trace` against a running service (uvicorn on a free port), and
`tracegate cloud create-user` / `audit verify` on the database, on PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
import getpass
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from access_helpers import bearer
from cloud_helpers import free_port, wait_for_port
from issue8_scenario import KIT, TUBING, Story
from sqlalchemy import select, text
from typer.testing import CliRunner

from cloud.app import create_app
from cloud.db.database import Database
from cloud.domain.audit.models import AuditEntry
from cloud.domain.auth.models import User
from cloud.settings import Settings
from tracegate.cli import app

runner = CliRunner()


@pytest.fixture
def service(settings: Settings) -> Iterator[str]:
    """The cloud service served by uvicorn in a thread of its own: its URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port, timeout_s=10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def invoke(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Any:
    return await asyncio.to_thread(runner.invoke, app, list(args), input=stdin, env=env)


async def test_trace_backward_forward_and_history_against_the_service(
    service: str, db: Database, story: Story
) -> None:
    token = (await bearer(db, username="tess", roles=["auditor"]))["Authorization"].split()[1]
    env = {"TRACEGATE_URL": service, "TRACEGATE_TOKEN": token, "COLUMNS": "200"}
    backward = await invoke("trace", "(01)09506000134352(10)K1(21)KIT2", env=env)
    assert backward.exit_code == 0, backward.output
    assert "(01)09506000134352(10)K1(21)KIT2 [in_stock]" in backward.output
    assert f"lot {TUBING}/TUBE-A from Tubing Ltd" in backward.output
    assert "sealing:seal_temp=187degC [170..190] ok" in backward.output

    forward = await invoke(
        "trace", "--forward", "--di", TUBING, "--lot", "TUBE-A2", "--json", env=env
    )
    assert forward.exit_code == 0, forward.output
    body = json.loads(forward.output)
    ends = {u["serial"]: u["stage"] for u in body["units"] if u["di"] == KIT}
    assert ends == {"KIT2": "in_stock", "KIT3": "shipped", "KIT5": "in_process"}

    history = await invoke("trace", "--history", f"{KIT}:KIT3", env=env)
    assert history.exit_code == 0, history.output
    assert "shipment SHP-1" in history.output

    missing = await invoke("trace", f"{KIT}:KIT9", env=env)
    assert missing.exit_code == 1
    assert f"404: unit with unit_id '{KIT}:KIT9' not found" in missing.output
    no_token = await invoke(
        "trace", f"{KIT}:KIT3", env={"TRACEGATE_URL": service, "TRACEGATE_TOKEN": ""}
    )
    assert no_token.exit_code == 2
    assert "no API token: pass --token or set TRACEGATE_TOKEN" in no_token.output


async def test_create_user_and_audit_verify(db: Database, settings: Settings) -> None:
    env = {"TRACEGATE_DATABASE_URL": settings.database_url}
    created = await invoke(
        "cloud",
        "create-user",
        "root",
        "--role",
        "admin",
        "--name",
        "Rita Root",
        "--password-stdin",
        env=env,
        stdin="a long enough passphrase\n",
    )
    assert created.exit_code == 0, created.output
    assert created.output == "created user root (Rita Root) with roles admin\n"
    async with db.sessions() as session:
        user = await session.scalar(select(User).where(User.username == "root"))
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.record_type == "users"))
    assert user is not None and user.password_hash.startswith("$argon2id$")
    assert entry is not None
    assert (entry.actor, entry.action, entry.request) == (
        f"cli:{getpass.getuser()}",
        "create",
        "tracegate cloud create-user",
    )
    again = await invoke(
        "cloud",
        "create-user",
        "root",
        "--role",
        "admin",
        "--name",
        "Rita Root",
        "--password-stdin",
        env=env,
        stdin="a long enough passphrase\n",
    )
    assert (again.exit_code, again.output) == (1, "user 'root' already exists\n")

    # The form the deployment (ansible/roles/cloud) uses; the printed name defaults to the login.
    deployed = await invoke(
        "cloud",
        "create-user",
        "--username",
        "admin",
        "--role",
        "admin",
        "--password-stdin",
        env=env,
        stdin="another long passphrase\n",
    )
    assert deployed.output == "created user admin (admin) with roles admin\n"

    intact = await invoke("cloud", "audit", "verify", env=env)
    assert intact.exit_code == 0, intact.output
    assert intact.output.splitlines()[-1] == "intact"
    async with db.engine.begin() as connection:
        await connection.execute(text("UPDATE audit_entries SET actor = 'someone' WHERE seq = 1"))
    broken = await invoke("cloud", "audit", "verify", env=env)
    assert broken.exit_code == 1
    assert broken.output.splitlines()[-2].startswith(
        "altered: audit row 1 was altered: its content no longer matches its hash"
    )
