"""Sites, lines, checkpoints and devices: created through the API or from device-configs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from cloud.db.database import Database
from cloud.domain.errors import ConflictError, NotFoundError
from cloud.domain.plant.models import Checkpoint, Device, Line, Site
from cloud.domain.plant.schemas import (
    CheckpointIn,
    CheckpointOut,
    DeviceIn,
    DeviceOut,
    LineIn,
    LineOut,
    PlantImport,
    SiteIn,
    SiteOut,
)


@dataclass(frozen=True)
class PlantCheckpoint:
    """One checkpoint of a plant file and the device that serves it, ready to import."""

    site: str
    line: str
    checkpoint: str
    device_id: str | None
    site_name: str = ""
    line_name: str = ""
    checkpoint_name: str = ""


class PlantService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_sites(self) -> list[SiteOut]:
        async with self.db.sessions() as session:
            sites = (
                await session.scalars(
                    select(Site)
                    .order_by(Site.code)
                    .options(selectinload(Site.lines).selectinload(Line.checkpoints))
                )
            ).all()
            devices = (await session.execute(select(Device.checkpoint_id, Device.device_id))).all()
        by_checkpoint: dict[int, list[str]] = {}
        for checkpoint_id, device_id in devices:
            by_checkpoint.setdefault(checkpoint_id, []).append(device_id)
        return [
            SiteOut(
                code=site.code,
                name=site.name,
                lines=[
                    LineOut(
                        code=line.code,
                        name=line.name,
                        checkpoints=[
                            CheckpointOut(
                                code=cp.code,
                                name=cp.name,
                                devices=sorted(by_checkpoint.get(cp.id, [])),
                            )
                            for cp in line.checkpoints
                        ],
                    )
                    for line in site.lines
                ],
            )
            for site in sites
        ]

    async def create_site(self, data: SiteIn) -> SiteOut:
        async with self.db.sessions.begin() as session:
            if await _site(session, data.code, required=False) is not None:
                raise ConflictError(f"site {data.code!r} already exists", field="code")
            session.add(Site(code=data.code, name=data.name))
        return SiteOut(code=data.code, name=data.name, lines=[])

    async def create_line(self, site_code: str, data: LineIn) -> LineOut:
        async with self.db.sessions.begin() as session:
            site = await _site(session, site_code, required=True)
            assert site is not None
            if await _line(session, site, data.code, required=False) is not None:
                raise ConflictError(
                    f"line {data.code!r} already exists at site {site_code!r}", field="code"
                )
            session.add(Line(site_id=site.id, code=data.code, name=data.name))
        return LineOut(code=data.code, name=data.name, checkpoints=[])

    async def create_checkpoint(
        self, site_code: str, line_code: str, data: CheckpointIn
    ) -> CheckpointOut:
        async with self.db.sessions.begin() as session:
            site = await _site(session, site_code, required=True)
            assert site is not None
            line = await _line(session, site, line_code, required=True)
            assert line is not None
            if await _checkpoint(session, line, data.code, required=False) is not None:
                raise ConflictError(
                    f"checkpoint {data.code!r} already exists on line {line_code!r}", field="code"
                )
            session.add(Checkpoint(line_id=line.id, code=data.code, name=data.name))
        return CheckpointOut(code=data.code, name=data.name, devices=[])

    async def list_devices(self) -> list[DeviceOut]:
        async with self.db.sessions() as session:
            rows = (
                await session.execute(
                    select(Device, Checkpoint.code, Line.code, Site.code)
                    .join(Checkpoint, Device.checkpoint_id == Checkpoint.id)
                    .join(Line, Checkpoint.line_id == Line.id)
                    .join(Site, Line.site_id == Site.id)
                    .order_by(Device.device_id)
                )
            ).all()
        return [
            DeviceOut(
                device_id=device.device_id,
                site=site,
                line=line,
                checkpoint=checkpoint,
                registered_by=device.registered_by,
                registered_at=device.registered_at,
                last_seen_at=device.last_seen_at,
            )
            for device, checkpoint, line, site in rows
        ]

    async def register_device(self, data: DeviceIn) -> DeviceOut:
        async with self.db.sessions.begin() as session:
            existing = await session.scalar(
                select(Device).where(Device.device_id == data.device_id)
            )
            if existing is not None:
                raise ConflictError(
                    f"device {data.device_id!r} is already registered", field="device_id"
                )
            site = await _site(session, data.site, required=True)
            assert site is not None
            line = await _line(session, site, data.line, required=True)
            assert line is not None
            checkpoint = await _checkpoint(session, line, data.checkpoint, required=True)
            assert checkpoint is not None
            device = Device(
                device_id=data.device_id, checkpoint_id=checkpoint.id, registered_by="api"
            )
            session.add(device)
            await session.flush()
        return DeviceOut(
            device_id=device.device_id,
            site=data.site,
            line=data.line,
            checkpoint=data.checkpoint,
            registered_by=device.registered_by,
            registered_at=device.registered_at,
            last_seen_at=None,
        )

    async def import_checkpoints(self, entries: Iterable[PlantCheckpoint]) -> PlantImport:
        """Create what is missing of each entry's site, line, checkpoint and device.

        Existing rows are kept; a device already bound to another checkpoint is a
        conflict, since events from it would then be refused as spoofs.
        """
        created = {"sites": 0, "lines": 0, "checkpoints": 0, "devices": 0}
        async with self.db.sessions.begin() as session:
            for entry in entries:
                site = await _site(session, entry.site, required=False)
                if site is None:
                    site = Site(code=entry.site, name=entry.site_name)
                    session.add(site)
                    await session.flush()
                    created["sites"] += 1
                line = await _line(session, site, entry.line, required=False)
                if line is None:
                    line = Line(site_id=site.id, code=entry.line, name=entry.line_name)
                    session.add(line)
                    await session.flush()
                    created["lines"] += 1
                checkpoint = await _checkpoint(session, line, entry.checkpoint, required=False)
                if checkpoint is None:
                    checkpoint = Checkpoint(
                        line_id=line.id, code=entry.checkpoint, name=entry.checkpoint_name
                    )
                    session.add(checkpoint)
                    await session.flush()
                    created["checkpoints"] += 1
                if entry.device_id is None:
                    continue
                device = await session.scalar(
                    select(Device).where(Device.device_id == entry.device_id)
                )
                if device is None:
                    session.add(
                        Device(
                            device_id=entry.device_id,
                            checkpoint_id=checkpoint.id,
                            registered_by="config",
                        )
                    )
                    created["devices"] += 1
                elif device.checkpoint_id != checkpoint.id:
                    raise ConflictError(
                        f"device {entry.device_id!r} is registered at another checkpoint than "
                        f"{entry.site}/{entry.line}/{entry.checkpoint}",
                        field="device_id",
                    )
        return PlantImport(**created)


async def _site(session: AsyncSession, code: str, *, required: bool) -> Site | None:
    site = await session.scalar(select(Site).where(Site.code == code))
    if site is None and required:
        raise NotFoundError("site", "code", code)
    return site


async def _line(session: AsyncSession, site: Site, code: str, *, required: bool) -> Line | None:
    line = await session.scalar(select(Line).where(Line.site_id == site.id, Line.code == code))
    if line is None and required:
        raise NotFoundError(f"line at site {site.code!r}", "code", code)
    return line


async def _checkpoint(
    session: AsyncSession, line: Line, code: str, *, required: bool
) -> Checkpoint | None:
    checkpoint = await session.scalar(
        select(Checkpoint).where(Checkpoint.line_id == line.id, Checkpoint.code == code)
    )
    if checkpoint is None and required:
        raise NotFoundError(f"checkpoint on line {line.code!r}", "code", code)
    return checkpoint
