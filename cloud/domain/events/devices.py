"""Which checkpoint each device may speak for: the ingest's spoof check.

An event's device must be bound to the checkpoint named in the event (and,
over MQTT, in the topic). Unknown devices are either bound on first use or
refused, by setting.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.base import Base
from cloud.db.dialect import insert_for
from cloud.db.types import utc_now
from cloud.domain.plant.models import Checkpoint, Device, Line, Site


@dataclass(frozen=True, slots=True)
class Binding:
    """A device bound to a checkpoint, with the codes events must name."""

    device_id: str
    checkpoint_id: int
    site: str
    line: str
    checkpoint: str

    @property
    def path(self) -> str:
        return f"{self.site}/{self.line}/{self.checkpoint}"


class DeviceRegistry:
    """Device bindings, cached for `ttl_s` so the ingest does not query them per batch."""

    def __init__(self, *, accept_unknown: bool, ttl_s: float = 30.0) -> None:
        self.accept_unknown = accept_unknown
        self.ttl_s = ttl_s
        self._bindings: dict[str, Binding] = {}
        self._loaded_at = float("-inf")

    async def bindings(
        self, session: AsyncSession, wanted: Iterable[tuple[str, str, str, str]]
    ) -> dict[str, Binding]:
        """Bindings of the devices in `wanted` (device_id, site, line, checkpoint).

        Unknown devices are bound to the checkpoint they name when
        `accept_unknown` is set (creating the site, line and checkpoint as
        needed); otherwise they are missing from the result.
        """
        wanted = list(wanted)
        if time.monotonic() - self._loaded_at > self.ttl_s:
            await self._reload(session)
        missing = {w for w in wanted if w[0] not in self._bindings}
        if missing:
            await self._reload(session)
            missing = {w for w in missing if w[0] not in self._bindings}
        if missing and self.accept_unknown:
            for device_id, site, line, checkpoint in sorted(missing):
                if device_id not in self._bindings:
                    await _bind_on_first_use(session, device_id, site, line, checkpoint)
            await self._reload(session)
        return {w[0]: self._bindings[w[0]] for w in wanted if w[0] in self._bindings}

    def forget(self) -> None:
        """Drop the cache, e.g. after a transaction that bound devices was rolled back."""
        self._bindings = {}
        self._loaded_at = float("-inf")

    async def _reload(self, session: AsyncSession) -> None:
        rows = await session.execute(
            select(Device.device_id, Checkpoint.id, Site.code, Line.code, Checkpoint.code)
            .join(Checkpoint, Device.checkpoint_id == Checkpoint.id)
            .join(Line, Checkpoint.line_id == Line.id)
            .join(Site, Line.site_id == Site.id)
        )
        self._bindings = {
            device_id: Binding(device_id, checkpoint_id, site, line, checkpoint)
            for device_id, checkpoint_id, site, line, checkpoint in rows
        }
        self._loaded_at = time.monotonic()


async def _bind_on_first_use(
    session: AsyncSession, device_id: str, site: str, line: str, checkpoint: str
) -> None:
    # ON CONFLICT DO NOTHING everywhere: another worker may bind the same device now.
    await session.execute(
        insert_for(session, Site).values(code=site, name=site).on_conflict_do_nothing()
    )
    site_id = await session.scalar(select(Site.id).where(Site.code == site))
    await session.execute(
        insert_for(session, Line)
        .values(site_id=site_id, code=line, name=line)
        .on_conflict_do_nothing()
    )
    line_id = await session.scalar(
        select(Line.id).where(Line.site_id == site_id, Line.code == line)
    )
    await session.execute(
        insert_for(session, Checkpoint)
        .values(line_id=line_id, code=checkpoint, name=checkpoint)
        .on_conflict_do_nothing()
    )
    checkpoint_id = await session.scalar(
        select(Checkpoint.id).where(Checkpoint.line_id == line_id, Checkpoint.code == checkpoint)
    )
    await session.execute(
        insert_for(session, Device)
        .values(
            device_id=device_id,
            checkpoint_id=checkpoint_id,
            registered_by="first_use",
            registered_at=utc_now(),
        )
        .on_conflict_do_nothing()
    )


async def mark_seen(session: AsyncSession, last_seen: dict[str, datetime]) -> None:
    if not last_seen:
        return
    table = Base.metadata.tables["devices"]
    await session.execute(
        update(table)
        .where(table.c.device_id == bindparam("device"))
        .values(last_seen_at=bindparam("seen_at")),
        [{"device": d, "seen_at": at} for d, at in sorted(last_seen.items())],
    )
