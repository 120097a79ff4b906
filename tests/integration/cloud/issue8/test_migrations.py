"""The migrations have one head, and the schema they build is the one the models declare
(on PostgreSQL and SQLite), so issue 8's revision stacks cleanly on the data model's."""

from __future__ import annotations

from collections.abc import Mapping

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from cloud.db.database import Database
from cloud.db.migrate import alembic_config
from cloud.db.models import Base


def test_the_migrations_have_a_single_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"expected one head, got {heads}: rebase the newest down_revision"


def _declared(name: str | None, kind: str, parents: Mapping[str, str | None]) -> bool:
    """Leave out the monthly event partitions the ingest creates at run time."""
    table = name if kind == "table" else parents.get("table_name")
    return not (table or "").startswith("events_y")


async def test_the_migrated_schema_matches_the_models(db: Database) -> None:
    async with db.engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"include_name": _declared}),
                Base.metadata,
            )
        )
    assert differences == []
