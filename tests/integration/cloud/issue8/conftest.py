"""Fixtures of the issue-8 tests (trace, recall, audit, signatures, access, EPCIS): one user per
role, and the service without default credentials. The database fixtures come from the cloud
conftest one folder up (every test runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from access_helpers import bearer
from cloud_helpers import Device
from litestar import Litestar
from litestar.testing import AsyncTestClient

sys.path.insert(0, str(Path(__file__).parent))

from issue8_scenario import Story, tell

from cloud.app import create_app
from cloud.db.database import Database
from cloud.domain.audit import capture
from cloud.domain.events.ingest import EventIngestService, IngestOptions
from cloud.domain.events.validation import Incoming
from cloud.settings import Settings

ROLE_USERS = {
    "operator": ("olga", "Olga Operator"),
    "quality": ("quinn", "Quinn Quality"),
    "auditor": ("aldo", "Aldo Auditor"),
    "admin": ("ada", "Ada Admin"),
}


@pytest.fixture(autouse=True)
def audit_capture() -> None:
    """Changes are audited in every process that writes (create_app and the CLI install it)."""
    capture.install()


@pytest.fixture
async def as_role(db: Database) -> dict[str, dict[str, str]]:
    """`Authorization` headers of one user per role (each user holds only that role)."""
    return {
        role: await bearer(db, username=username, roles=[role], full_name=full_name)
        for role, (username, full_name) in ROLE_USERS.items()
    }


@pytest.fixture
async def api(db: Database, settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The service, called with no credentials unless a test passes some."""
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
async def story(db: Database, plant: dict[str, Device], settings: Settings) -> Story:
    """The scenario's events ingested as the MQTT ingest stores them: one batch, in the order
    they happened (the ingest applies a batch in order of occurrence)."""
    told = tell(plant)
    ingest = EventIngestService(db, IngestOptions(topic_prefix=settings.topic_prefix))
    now = dt.datetime.now(dt.UTC)
    result = await ingest.ingest(
        [Incoming(data, d.topic(settings.topic_prefix), now, "mqtt") for d, data, _ in told.events]
    )
    assert {o.status for o in result.outcomes} == {"stored"}, result.outcomes
    return told
