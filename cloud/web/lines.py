"""Line status: each edge agent as its retained `device.status` and its events show it.

From the status consumer (cloud/ingest/status.py, through `FleetStatusService`): online,
silent (said online, then unheard for longer than the settings allow), offline (orderly
stop or last will) or unknown; each adapter's link; the outbox depth and the age of the
oldest unsent event; the config hash, compared between the agents of a line. From the
events: when each device was last heard from through one (`devices.last_seen_at`), its
highest seq, the events the cloud never received (open seq gaps) and its last decisions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import func, select

from cloud.db.database import Database
from cloud.db.types import utc_now
from cloud.domain.events.models import DeviceSequence, Event, SeqGap
from cloud.domain.fleet.liveness import Liveness
from cloud.domain.fleet.queries import FleetStatusService
from cloud.domain.fleet.schemas import DeviceStatusOut, LineConfigOut
from cloud.domain.plant.models import Checkpoint, Device, Line, Site

QUIET_AFTER = timedelta(minutes=5)
"""No event for this long: shown as quiet (an idle line is quiet too; it proves nothing)."""
LAST_DECISIONS = 5
LIVENESS_ORDER: tuple[Liveness, ...] = ("online", "silent", "offline", "unknown")


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
    status: DeviceStatusOut | None = None
    """Its latest device.status, judged now (None only if the device registered meanwhile)."""

    @property
    def heard(self) -> str:
        """`recent`, `quiet` or `never`: from the last event, not from a heartbeat."""
        if self.last_seen_at is None:
            return "never"
        return "recent" if utc_now() - self.last_seen_at <= QUIET_AFTER else "quiet"

    @property
    def liveness(self) -> Liveness:
        return "unknown" if self.status is None else _liveness(self.status.liveness)


@dataclass(frozen=True, slots=True)
class LineView:
    site: str
    line: str
    devices: list[DeviceState]
    configs: LineConfigOut | None
    """The config hashes its agents report; None when none reported a status."""


@dataclass(frozen=True, slots=True)
class LinesView:
    lines: list[LineView]
    checked_at: datetime
    silent_after_s: float
    subscribed: bool | None
    """This instance's status subscription is up; None: it runs no status consumer."""

    def clock(self, value: datetime | None) -> str:
        """A time of today (UTC) as its clock reading alone, of another day with its date:
        a status board is read for what happened in the last minutes."""
        if value is None:
            return "—"
        if value.date() == self.checked_at.date():
            return value.strftime("%H:%M:%S")
        return value.strftime("%Y-%m-%d %H:%M")

    @property
    def counts(self) -> list[tuple[Liveness, int]]:
        found = Counter(d.liveness for line in self.lines for d in line.devices)
        return [(state, found[state]) for state in LIVENESS_ORDER]


class LineStatus:
    def __init__(self, db: Database, fleet: FleetStatusService) -> None:
        self.db = db
        self.fleet = fleet

    async def view(self) -> LinesView:
        snapshot = await self.fleet.snapshot()
        statuses = {d.device_id: d for d in snapshot.devices}
        devices = [replace(d, status=statuses.get(d.device_id)) for d in await self.devices()]
        configs = {(c.site, c.line): c for c in snapshot.lines}
        lines: dict[tuple[str, str], list[DeviceState]] = {}
        for device in devices:
            lines.setdefault((device.site, device.line), []).append(device)
        return LinesView(
            lines=[
                LineView(site=site, line=line, devices=members, configs=configs.get((site, line)))
                for (site, line), members in lines.items()
            ],
            checked_at=snapshot.checked_at,
            silent_after_s=snapshot.silent_after_s,
            subscribed=snapshot.subscribed,
        )

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


def age(seconds: float | None) -> str:
    """A duration as people read it on a status board (a no-break space before the unit).

    >>> [age(x).replace("\N{NO-BREAK SPACE}", " ") for x in (0, 17.46, 754, 1800, 9000, 2e5)]
    ['0 s', '17.5 s', '12.6 min', '30 min', '2.5 h', '2.3 d']
    """
    if seconds is None:
        return "—"
    size, unit = next(
        (
            (size, unit)
            for size, unit in ((86_400, "d"), (3600, "h"), (60, "min"))
            if seconds >= size
        ),
        (1, "s"),
    )
    return f"{seconds / size:.1f}".removesuffix(".0") + f"\N{NO-BREAK SPACE}{unit}"


def short_hash(config_hash: str | None) -> str:
    """The start of a config hash, enough to tell two apart on screen."""
    if not config_hash:
        return "—"
    return config_hash if len(config_hash) <= 14 else config_hash[:14] + "…"


def _liveness(value: str) -> Liveness:
    for state in LIVENESS_ORDER:
        if state == value:
            return state
    return "unknown"


def _decision(at: datetime, seq: int, payload: str) -> Decision:
    try:
        decided = _decided.decode(payload)
    except msgspec.DecodeError:
        return Decision(at, seq, "?", "", "payload not readable")
    udi = decided.udi or {}
    unit = str(udi.get("serial") or udi.get("lot") or "no UDI read")
    reasons = ", ".join(r.get("code", "") for r in decided.reasons)
    return Decision(at, seq, decided.decision, unit, reasons)
