"""Fixtures of the console's integration tests: the issue-8 plant story ingested for real, one
user per role, and a browser-like client logged in through the console's own login form.
The database fixtures come from the cloud conftest one folder up (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from access_helpers import PASSWORD, bearer
from cloud_helpers import Device
from litestar.testing import AsyncTestClient

sys.path.insert(0, str(Path(__file__).parent.parent / "issue8"))
sys.path.insert(0, str(Path(__file__).parent))

from console_helpers import HTML, Client, LogIn
from issue8_scenario import Story, tell

from cloud.app import create_app
from cloud.db.database import Database
from cloud.domain.audit import capture
from cloud.domain.events.ingest import EventIngestService, IngestOptions
from cloud.domain.events.validation import Incoming
from cloud.settings import Settings

USERS = {
    "operator": ("olga", "Olga Operator"),
    "quality": ("quinn", "Quinn Quality"),
    "auditor": ("aldo", "Aldo Auditor"),
}


@pytest.fixture(autouse=True)
def audit_capture() -> None:
    capture.install()


@pytest.fixture
async def users(db: Database) -> dict[str, str]:
    """One user per role (password `PASSWORD`), by role: their usernames."""
    for role, (username, full_name) in USERS.items():
        await bearer(db, username=username, roles=[role], full_name=full_name)
    return {role: username for role, (username, _) in USERS.items()}


@pytest.fixture
async def story(db: Database, plant: dict[str, Device], settings: Settings) -> Story:
    """The issue-8 plant's events, stored by the real ingest in one batch."""
    told = tell(plant)
    ingest = EventIngestService(db, IngestOptions(topic_prefix=settings.topic_prefix))
    now = dt.datetime.now(dt.UTC)
    result = await ingest.ingest(
        [Incoming(data, d.topic(settings.topic_prefix), now, "mqtt") for d, data, _ in told.events]
    )
    assert {o.status for o in result.outcomes} == {"stored"}, result.outcomes
    return told


@pytest.fixture
async def web(db: Database, settings: Settings) -> AsyncIterator[Client]:
    """The service, as a browser calls it (asking for HTML), with no session yet."""
    async with AsyncTestClient(app=create_app(settings)) as client:
        client.headers.update(HTML)
        client.follow_redirects = False
        yield client


@pytest.fixture
async def login(web: Client, users: dict[str, str]) -> LogIn:
    """Log the client in through the console's form as the user holding `role`."""

    async def log_in(role: str) -> Client:
        response = await web.post(
            "/console/login",
            data={"username": users[role], "password": PASSWORD, "next": "/console/search"},
        )
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/console/search"
        return web

    return log_in
