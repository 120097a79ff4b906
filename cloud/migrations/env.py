"""Alembic environment: always run with a connection handed in by `cloud.db.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from cloud.db.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "cloud migrations run through `tracegate cloud migrate` (cloud.db.migrate), "
        "which hands Alembic a connection; got none"
    )
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
