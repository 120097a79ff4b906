"""Reading the agents' status: every registered device, with its latest status judged now."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import select

from cloud.db.database import Database
from cloud.db.types import utc_now
from cloud.domain.fleet.liveness import line_configs, liveness
from cloud.domain.fleet.models import DeviceStatusChange, DeviceStatusRow
from cloud.domain.fleet.schemas import (
    AdapterOut,
    DeviceStatusOut,
    FleetStatusOut,
    LineConfigOut,
    StatusChangeOut,
)
from cloud.domain.plant.models import Checkpoint, Device, Line, Site

CHANGES_SHOWN = 5
_adapters = msgspec.json.Decoder(list[AdapterOut])


class FleetStatusService:
    """The status page's and `GET /api/devices/status`'s source."""

    def __init__(
        self,
        db: Database,
        *,
        silent_after: timedelta,
        subscribed: Callable[[], bool | None] = lambda: None,
    ) -> None:
        self.db = db
        self.silent_after = silent_after
        self.subscribed = subscribed

    async def snapshot(
        self, *, site: str | None = None, line: str | None = None, now: datetime | None = None
    ) -> FleetStatusOut:
        """Every registered device (of `site` / `line` if given), ordered by where it is."""
        query = (
            select(Device.device_id, Site.code, Line.code, Checkpoint.code, DeviceStatusRow)
            .join(Checkpoint, Checkpoint.id == Device.checkpoint_id)
            .join(Line, Line.id == Checkpoint.line_id)
            .join(Site, Site.id == Line.site_id)
            .outerjoin(DeviceStatusRow, DeviceStatusRow.device_id == Device.device_id)
            .order_by(Site.code, Line.code, Checkpoint.code, Device.device_id)
        )
        if site is not None:
            query = query.where(Site.code == site)
        if line is not None:
            query = query.where(Line.code == line)
        async with self.db.sessions() as session:
            rows = (await session.execute(query)).all()
            ids = [row[0] for row in rows]
            changes: dict[str, list[StatusChangeOut]] = {}
            if ids:
                for device_id, online, at, retained in await session.execute(
                    select(
                        DeviceStatusChange.device_id,
                        DeviceStatusChange.online,
                        DeviceStatusChange.at,
                        DeviceStatusChange.retained,
                    )
                    .where(DeviceStatusChange.device_id.in_(ids))
                    .order_by(DeviceStatusChange.device_id, DeviceStatusChange.id.desc())
                ):
                    shown = changes.setdefault(device_id, [])
                    if len(shown) < CHANGES_SHOWN:
                        shown.append(StatusChangeOut(online=online, at=at, retained=retained))
        when = now or utc_now()
        configs = line_configs(
            (s, ln, device_id, status.config_hash)
            for device_id, s, ln, _, status in rows
            if status is not None
        )
        by_line = {(c.site, c.line): c for c in configs}
        devices = []
        for device_id, s, ln, cp, status in rows:
            line_config = by_line.get((s, ln))
            devices.append(
                DeviceStatusOut(
                    device_id=device_id,
                    site=s,
                    line=ln,
                    checkpoint=cp,
                    liveness=liveness(
                        online=status.online if status else None,
                        heard_at=status.heard_at if status else None,
                        now=when,
                        silent_after=self.silent_after,
                    ),
                    online=status.online if status else None,
                    heard_at=status.heard_at if status else None,
                    since=status.since if status else None,
                    occurred_at=status.occurred_at if status else None,
                    received_at=status.received_at if status else None,
                    software_version=status.software_version if status else None,
                    config_hash=status.config_hash if status else None,
                    config_differs=bool(line_config and line_config.differs(device_id)),
                    adapters=_decode_adapters(status.adapters) if status else [],
                    outbox_depth=status.outbox_depth if status else None,
                    outbox_oldest_age_s=status.outbox_oldest_age_s if status else None,
                    outbox_bytes=status.outbox_bytes if status else None,
                    changes=changes.get(device_id, []),
                )
            )
        return FleetStatusOut(
            checked_at=when,
            silent_after_s=self.silent_after.total_seconds(),
            subscribed=self.subscribed(),
            devices=devices,
            lines=[
                LineConfigOut(
                    site=c.site, line=c.line, consistent=c.consistent, config_hashes=c.hashes
                )
                for c in configs
            ],
        )


def _decode_adapters(text: str) -> list[AdapterOut]:
    # Stored by the status store from a decoded DeviceStatus: always this shape.
    return _adapters.decode(text)
