"""Dialect-specific INSERT (for ON CONFLICT) chosen from the session's dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession, table: Any) -> Any:
    """`INSERT` that supports `.on_conflict_do_nothing()` / `.on_conflict_do_update()`.

    Typed as Any: the PostgreSQL and SQLite Insert classes share the methods but
    not a base class that declares them.
    """
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"
