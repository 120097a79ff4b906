"""Line status: what the cloud knows about each edge agent.

The cloud does not ingest `device.status` heartbeats: they are published retained on
`.../status` and the ingest subscribes to `.../event` only. So adapter links (PLC,
scanners, camera), outbox depth and the oldest unsent age are not known here, and
online/offline is not known either; what is known is shown instead: when each device
was last heard from (`devices.last_seen_at`, kept by the ingest), its highest seq, the
events the cloud never received (open seq gaps) and its last decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import func, select

from cloud.db.database import Database
from cloud.db.types import utc_now
from cloud.domain.events.models import DeviceSequence, Event, SeqGap
from cloud.domain.plant.models import Checkpoint, Device, Line, Site

QUIET_AFTER = timedelta(minutes=5)
"""No event for this long: shown as quiet (an idle line is quiet too; it proves nothing)."""
LAST_DECISIONS = 5


class _Decided(msgspec.Struct):
    decision: str = ""
    reasons: list[dict[str, str]] = []
    udi: dict[str, object] | None = None


_decided = msgspec.json.Decoder(_Decided)


@dataclass(frozen=True, slots=True)
class Decision:
    occurred_at: datetime
    seq: int
    decision: str
    unit: str
    reasons: str


@dataclass(frozen=True, slots=True)
class DeviceState:
    device_id: str
    site: str
    line: str
    checkpoint: str
    registered_by: str
    last_seen_at: datetime | None
    max_seq: int | None
    open_gaps: int
    missing_events: int
    decisions: list[Decision] = field(default_factory=list)

    @property
    def heard(self) -> str:
        """`recent`, `quiet` or `never`: from the last event, not from a heartbeat."""
        if self.last_seen_at is None:
            return "never"
        return "recent" if utc_now() - self.last_seen_at <= QUIET_AFTER else "quiet"


class LineStatus:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def devices(self) -> list[DeviceState]:
        async with self.db.sessions() as session:
            rows = (
                await session.execute(
                    select(
                        Device.device_id,
                        Site.code,
                        Line.code,
                        Checkpoint.code,
                        Device.registered_by,
                        Device.last_seen_at,
                        DeviceSequence.max_seq,
                    )
                    .join(Checkpoint, Checkpoint.id == Device.checkpoint_id)
                    .join(Line, Line.id == Checkpoint.line_id)
                    .join(Site, Site.id == Line.site_id)
                    .outerjoin(DeviceSequence, DeviceSequence.device_id == Device.device_id)
                    .order_by(Site.code, Line.code, Checkpoint.code, Device.device_id)
                )
            ).all()
            gaps = {
                d: (int(n), int(m or 0))
                for d, n, m in await session.execute(
                    select(SeqGap.device_id, func.count(), func.sum(SeqGap.missing))
                    .where(SeqGap.closed_at.is_(None))
                    .group_by(SeqGap.device_id)
                )
            }
            states = []
            for device_id, site, line, checkpoint, by, seen, max_seq in rows:
                # One indexed range read per device: (device_id, seq) from the top.
                recent = await session.execute(
                    select(Event.occurred_at, Event.seq, Event.payload)
                    .where(Event.device_id == device_id, Event.kind == "unit.inspected")
                    .order_by(Event.seq.desc())
                    .limit(LAST_DECISIONS)
                )
                open_gaps, missing = gaps.get(device_id, (0, 0))
                states.append(
                    DeviceState(
                        device_id=device_id,
                        site=site,
                        line=line,
                        checkpoint=checkpoint,
                        registered_by=by,
                        last_seen_at=seen,
                        max_seq=max_seq,
                        open_gaps=open_gaps,
                        missing_events=missing,
                        decisions=[_decision(at, seq, payload) for at, seq, payload in recent],
                    )
                )
        return states


def _decision(at: datetime, seq: int, payload: str) -> Decision:
    try:
        decided = _decided.decode(payload)
    except msgspec.DecodeError:
        return Decision(at, seq, "?", "", "payload not readable")
    udi = decided.udi or {}
    unit = str(udi.get("serial") or udi.get("lot") or "no UDI read")
    reasons = ", ".join(r.get("code", "") for r in decided.reasons)
    return Decision(at, seq, decided.decision, unit, reasons)
