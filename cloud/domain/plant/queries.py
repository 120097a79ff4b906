"""Lookups of the plant that other domains need (where to send a command)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.domain.plant.models import Checkpoint, Line, Site


async def checkpoint_codes(
    session: AsyncSession, *, site: str | None, line: str | None
) -> list[tuple[str, str, str]]:
    """(site, line, checkpoint) codes of every checkpoint, or of one site or line, in order."""
    query = (
        select(Site.code, Line.code, Checkpoint.code)
        .join(Line, Line.site_id == Site.id)
        .join(Checkpoint, Checkpoint.line_id == Line.id)
        .order_by(Site.code, Line.code, Checkpoint.code)
    )
    if site is not None:
        query = query.where(Site.code == site)
    if line is not None:
        query = query.where(Line.code == line)
    return [(s, ln, c) for s, ln, c in (await session.execute(query)).all()]
