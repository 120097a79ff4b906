"""Line status, the KPI dashboard and the audit trail viewer."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from cloud.domain.audit.services import AuditService
from cloud.domain.errors import InvalidFieldError
from cloud.web.charts import Bar, bars
from cloud.web.kpi import KpiService, Rate
from cloud.web.lines import QUIET_AFTER, LineStatus, age, short_hash
from cloud.web.render import page
from cloud.web.session import PREFIX

AUDIT_PAGE = 100
PRESETS = (1, 7, 30, 90)


def _tone(pct: float, *, good: float, fair: float, higher_is_better: bool = True) -> str:
    if not higher_is_better:
        pct, good, fair = -pct, -good, -fair
    return "ok" if pct >= good else ("warn" if pct >= fair else "bad")


def _rate_bars(rates: list[Rate], *, label: str, good: float, fair: float, up: bool) -> Any:
    return bars(
        [
            Bar(
                r.label,
                r.pct,
                f"{r.part:,} of {r.whole:,}",
                _tone(r.pct, good=good, fair=fair, higher_is_better=up),
            )
            for r in rates
        ],
        label=label,
        unit=" %",
        scale_max=100 if up else None,
    )


def _period(days: int | None, start: str, end: str) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    if start or end:
        try:
            first = date.fromisoformat(start) if start else (now - timedelta(days=30)).date()
            last = date.fromisoformat(end) if end else now.date()
        except ValueError as exc:
            raise InvalidFieldError("from", f"expected dates as YYYY-MM-DD: {exc}") from None
        if last < first:
            raise InvalidFieldError("to", f"the period ends ({last}) before it starts ({first})")
        return (
            datetime.combine(first, time.min, UTC),
            datetime.combine(last + timedelta(days=1), time.min, UTC),
        )
    return now - timedelta(days=days or 30), now


class InsightController(Controller):
    path = PREFIX
    tags = ("console",)

    @get("/lines")
    async def lines(
        self, request: Request[Any, Any, Any], line_status: NamedDependency[LineStatus]
    ) -> Response[str]:
        return page(
            request,
            "lines.html",
            active="lines",
            view=await line_status.view(),
            quiet_min=int(QUIET_AFTER.total_seconds() // 60),
            age=age,
            short_hash=short_hash,
        )

    @get("/dashboard")
    async def dashboard(
        self,
        request: Request[Any, Any, Any],
        kpi_service: NamedDependency[KpiService],
        days: FromQuery[int | None] = None,
        start: FromQuery[str] = "",
        end: FromQuery[str] = "",
    ) -> Response[str]:
        first, last = _period(days, start, end)
        k = await kpi_service.period(first, last)
        charts = {
            "good_reads": _rate_bars(
                k.good_reads, label="Good-read rate per checkpoint", good=99.5, fair=98, up=True
            ),
            "seq_missing": _rate_bars(
                k.seq_missing, label="Events never received per device", good=0, fair=0.5, up=False
            ),
            "holds": _rate_bars(
                k.holds_by_reason,
                label="Holds per reason, of inspections",
                good=0.5,
                fair=2,
                up=False,
            ),
            "trace": bars(
                [Bar(t.what, t.ms, f"{t.found:,} found", "brand") for t in k.trace_times],
                label="Trace time",
                unit=" ms",
                digits=2,
            ),
            "recalls": bars(
                [
                    Bar(
                        f"{r.recall.number} acknowledged",
                        r.recall.progress.effectiveness_pct,
                        f"{r.recall.progress.acknowledged} of {r.recall.progress.recipients}",
                        _tone(r.recall.progress.effectiveness_pct, good=95, fair=80),
                    )
                    for r in k.recalls
                    if r.recall.mode == "recall"
                ],
                label="Recall effectiveness",
                unit=" %",
                scale_max=100,
            ),
        }
        return page(
            request,
            "dashboard.html",
            active="dashboard",
            k=k,
            charts=charts,
            presets=PRESETS,
            days=days,
            start=start,
            end=end,
        )

    @get("/audit")
    async def audit(
        self,
        request: Request[Any, Any, Any],
        audit_service: NamedDependency[AuditService],
        record_type: FromQuery[str] = "",
        before_seq: FromQuery[int | None] = None,
        devices: FromQuery[bool] = False,
    ) -> Response[str]:
        """The newest entries (or those before `before_seq`), and the chains' verification:
        the audit chain always, the device event chains on request (they walk every event)."""
        report = await audit_service.verify(devices=devices)
        head = report.head_seq or 0
        top = min(before_seq, head + 1) if before_seq else head + 1
        entries = await audit_service.entries(
            record_type=record_type or None,
            after_seq=max(top - 1 - AUDIT_PAGE, 0),
            limit=AUDIT_PAGE,
        )
        entries = [e for e in entries if e.seq < top][::-1]
        return page(
            request,
            "audit.html",
            active="audit",
            report=report,
            entries=entries,
            record_type=record_type,
            devices=devices,
            older=entries[-1].seq if entries and entries[-1].seq > 1 else None,
            newer=top + AUDIT_PAGE if top <= head else None,
        )
