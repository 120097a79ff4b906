"""The KPI dashboard's figures over a period, each from the records it is about.

- trace time: a backward and a forward trace timed now, through `TraceService`, on the
  newest assembled unit and the newest consumed lot; recalls' own recorded timings.
- good-read rate per checkpoint: inspections whose reads gave a valid UDI (they have a
  unit) out of all inspections there.
- data missing: events never received (open seq gaps) against events received, per
  device; and finished units (in stock, shipped, returned) missing an inspection at a
  checkpoint that inspected other units of the same DI in the period (a gap in the route).
- hold rate by reason: holds placed in the period per reason code, against inspections;
  inspections without a valid UDI (held at the edge, but with no unit to put a hold row on)
  under a heading of their own.
- recall coverage and timeliness: acknowledged share, in-house units quarantined, returned
  share, and hours from the recall to the last notice sent.
- CAPA closure time: days from opening to closing of the CAPAs opened in the period.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.database import Database
from cloud.domain.events.models import Event, SeqGap
from cloud.domain.genealogy.models import GenealogyEdge, Lot, Unit, UnitEvent
from cloud.domain.holds.models import Hold
from cloud.domain.plant.models import Checkpoint, Line
from cloud.domain.quality.services import QualityService
from cloud.domain.recall.models import Recall, RecallRecipient
from cloud.domain.recall.schemas import RecallOut
from cloud.domain.recall.services import RecallService
from cloud.domain.trace.labels import udi_text
from cloud.domain.trace.services import TraceService, recall_number

FINISHED = ("in_stock", "shipped", "returned")
NO_UDI = "no valid UDI read"
_SLACK = timedelta(days=1)
"""`id_time` (the partition key) is the event's creation time at the edge; a day either side
of the period lets PostgreSQL skip other months' partitions without losing late events."""


@dataclass(frozen=True, slots=True)
class Rate:
    label: str
    part: int
    whole: int

    @property
    def pct(self) -> float:
        return round(100 * self.part / self.whole, 1) if self.whole else 0.0


@dataclass(frozen=True, slots=True)
class TraceTiming:
    what: str
    subject: str
    ms: float
    found: int


@dataclass(frozen=True, slots=True)
class RecallKpi:
    recall: RecallOut
    hours_to_last_notice: float | None


@dataclass(frozen=True, slots=True)
class CapaKpi:
    opened: int
    closed: int
    closure_days: list[float]

    @property
    def median_days(self) -> float | None:
        return round(statistics.median(self.closure_days), 1) if self.closure_days else None

    @property
    def max_days(self) -> float | None:
        return round(max(self.closure_days), 1) if self.closure_days else None


@dataclass(frozen=True, slots=True)
class Kpis:
    start: datetime
    end: datetime
    inspections: int
    trace_times: list[TraceTiming]
    good_reads: list[Rate]
    seq_missing: list[Rate]
    """Per device: events never received (part) of events expected (whole)."""
    route_gaps: Rate
    holds_by_reason: list[Rate]
    recalls: list[RecallKpi]
    capa: CapaKpi
    computed_ms: float = 0.0
    notes: list[str] = field(default_factory=list)


class KpiService:
    def __init__(
        self,
        db: Database,
        trace: TraceService,
        recalls: RecallService,
        quality: QualityService,
    ) -> None:
        self.db = db
        self.trace = trace
        self.recalls = recalls
        self.quality = quality

    async def period(self, start: datetime, end: datetime) -> Kpis:
        began = time.perf_counter()
        async with self.db.sessions() as session:
            in_period = (Event.id_time >= start - _SLACK) & (Event.id_time < end + _SLACK)
            in_period &= (Event.occurred_at >= start) & (Event.occurred_at < end)
            inspected = Counter(
                {
                    f"{ln}/{cp}": int(n)
                    for ln, cp, n in await session.execute(
                        select(Event.line, Event.checkpoint, func.count())
                        .where(in_period, Event.kind == "unit.inspected")
                        .group_by(Event.line, Event.checkpoint)
                    )
                }
            )
            with_unit = Counter(
                {
                    f"{ln}/{cp}": int(n)
                    for ln, cp, n in await session.execute(
                        select(Line.code, Checkpoint.code, func.count())
                        .select_from(UnitEvent)
                        .join(Checkpoint, Checkpoint.id == UnitEvent.checkpoint_id)
                        .join(Line, Line.id == Checkpoint.line_id)
                        .where(
                            UnitEvent.kind == "unit.inspected",
                            UnitEvent.role == "subject",
                            UnitEvent.occurred_at >= start,
                            UnitEvent.occurred_at < end,
                        )
                        .group_by(Line.code, Checkpoint.code)
                    )
                }
            )
            received = dict(
                (d, int(n))
                for d, n in await session.execute(
                    select(Event.device_id, func.count()).where(in_period).group_by(Event.device_id)
                )
            )
            missing = dict(
                (d, int(m or 0))
                for d, m in await session.execute(
                    select(SeqGap.device_id, func.sum(SeqGap.missing))
                    .where(
                        SeqGap.closed_at.is_(None),
                        SeqGap.opened_at >= start,
                        SeqGap.opened_at < end,
                    )
                    .group_by(SeqGap.device_id)
                )
            )
            route_gaps = await _route_gaps(session, start, end)
            holds = (
                await session.scalars(
                    select(Hold.reasons).where(Hold.placed_at >= start, Hold.placed_at < end)
                )
            ).all()
            recall_rows = (
                await session.execute(
                    select(Recall.id, func.max(RecallRecipient.notice_sent_at), Recall.created_at)
                    .outerjoin(RecallRecipient, RecallRecipient.recall_id == Recall.id)
                    .where(Recall.created_at >= start, Recall.created_at < end)
                    .group_by(Recall.id, Recall.created_at)
                    .order_by(Recall.id)
                )
            ).all()
            samples = await _trace_samples(session)
        total = sum(inspected.values())
        reasons: Counter[str] = Counter(r["code"] for reason_list in holds for r in reason_list)
        # An inspection without a valid UDI has no unit, hence no hold row; it was held all the
        # same (fail safe), so it is counted here under its own heading.
        unread = sum(n - with_unit[k] for k, n in inspected.items())
        if unread:
            reasons[NO_UDI] += unread
        recalls = [
            RecallKpi(
                await self.recalls.get(recall_number(rid)),
                round((last - created).total_seconds() / 3600, 1) if last else None,
            )
            for rid, last, created in recall_rows
        ]
        capas = [c for c in await self.quality.capas() if start <= c.opened_at < end]
        closure = [
            (c.closed_at - c.opened_at).total_seconds() / 86400 for c in capas if c.closed_at
        ]
        return Kpis(
            start=start,
            end=end,
            inspections=total,
            trace_times=await self._time_traces(samples),
            good_reads=[Rate(k, with_unit[k], n) for k, n in sorted(inspected.items())],
            seq_missing=[
                Rate(d, missing.get(d, 0), n + missing.get(d, 0))
                for d, n in sorted(received.items())
            ],
            route_gaps=route_gaps,
            holds_by_reason=[Rate(code, n, total) for code, n in reasons.most_common()],
            recalls=recalls,
            capa=CapaKpi(opened=len(capas), closed=len(closure), closure_days=closure),
            computed_ms=round((time.perf_counter() - began) * 1000, 1),
        )

    async def _time_traces(
        self, samples: tuple[str | None, tuple[str, str] | None]
    ) -> list[TraceTiming]:
        unit, lot = samples
        timings = []
        if unit is not None:
            began = time.perf_counter()
            backward = await self.trace.backward(unit)
            timings.append(TraceTiming("backward", unit, _ms(began), len(backward.nodes)))
            began = time.perf_counter()
            forward = await self.trace.forward_from_unit(unit)
            timings.append(TraceTiming("forward from a unit", unit, _ms(began), len(forward.units)))
        if lot is not None:
            began = time.perf_counter()
            forward = await self.trace.forward_from_lot(*lot)
            timings.append(
                TraceTiming(
                    "forward from a lot", f"{lot[0]} lot {lot[1]}", _ms(began), len(forward.units)
                )
            )
        return timings


def _ms(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 2)


async def _trace_samples(session: AsyncSession) -> tuple[str | None, tuple[str, str] | None]:
    """The newest assembled unit and the newest lot consumed into something."""
    unit_row = (
        await session.execute(
            select(Unit.di, Unit.serial, Unit.lot)
            .join(
                GenealogyEdge,
                (GenealogyEdge.parent_kind == "unit") & (GenealogyEdge.parent_id == Unit.id),
            )
            .order_by(GenealogyEdge.id.desc())
            .limit(1)
        )
    ).first()
    lot_row = (
        await session.execute(
            select(Lot.di, Lot.lot)
            .join(
                GenealogyEdge,
                (GenealogyEdge.child_kind == "lot") & (GenealogyEdge.child_id == Lot.id),
            )
            .order_by(GenealogyEdge.id.desc())
            .limit(1)
        )
    ).first()
    unit = udi_text(unit_row[0], serial=unit_row[1], lot=unit_row[2]) if unit_row else None
    return unit, (lot_row[0], lot_row[1]) if lot_row else None


async def _route_gaps(session: AsyncSession, start: datetime, end: datetime) -> Rate:
    finished = (
        (Unit.status.in_(FINISHED)) & (Unit.first_seen_at >= start) & (Unit.first_seen_at < end)
    )
    units = dict((await session.execute(select(Unit.id, Unit.di).where(finished))).all())
    seen = (
        await session.execute(
            select(UnitEvent.unit_id, UnitEvent.checkpoint_id)
            .join(Unit, Unit.id == UnitEvent.unit_id)
            .where(finished, UnitEvent.kind == "unit.inspected", UnitEvent.role == "subject")
            .distinct()
        )
    ).all()
    at: dict[int, set[int]] = defaultdict(set)
    route: dict[str, set[int]] = defaultdict(set)
    for unit_id, checkpoint_id in seen:
        if checkpoint_id is None:
            continue
        at[unit_id].add(checkpoint_id)
        route[units[unit_id]].add(checkpoint_id)
    gaps = sum(1 for unit_id, di in units.items() if route[di] - at[unit_id])
    return Rate("finished units missing a checkpoint of their route", gaps, len(units))
