"""The database handle services receive: the engine and its session factory."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cloud.db.engine import create_engine, create_sessions


@dataclass(frozen=True)
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession] = field(repr=False)

    @classmethod
    def connect(cls, database_url: str, *, pool_size: int = 10, pre_ping: bool = True) -> Database:
        """Build the engine (no connection is opened until first use)."""
        engine = create_engine(database_url, pool_size=pool_size, pre_ping=pre_ping)
        return cls(engine=engine, sessions=create_sessions(engine))

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def close(self) -> None:
        await self.engine.dispose()
