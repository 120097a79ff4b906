"""What a demo run found: the figures the summary prints and the end-to-end test asserts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracegate.demo.faults import KillRecord
from tracegate.demo.plan import Injection, LinePlan
from tracegate.demo.reconcile import Reconciled, Recorded
from tracegate.demo.stations.base import StationCheck


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultCheck:
    injection: Injection
    plc_outcome: str | None
    """What the PLC was told for the unit where it must be held (None: the agent kill)."""
    cloud_reasons: tuple[str, ...] | None
    """The hold reasons the cloud has for it there (None: no hold found)."""
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Timings:
    startup_s: float
    """Broker, database, service, simulators, agents, master data: until the line starts."""
    line_s: float
    """From the line's start until the last unit left the last checkpoint."""
    settle_s: float
    """Until every outbox was empty and the cloud held every event."""
    summary_s: float
    total_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoReport:
    plan: LinePlan
    workdir: Path
    plant_file: Path
    cloud_url: str
    database_url: str
    broker_url: str
    topic_prefix: str
    username: str
    password: str
    product_di: str
    lot: str
    work_order: str
    outcomes: Mapping[str, Mapping[int, str]]
    """checkpoint -> unit index -> PLC outcome (pass, reject, both, none)."""
    recorded: Mapping[str, list[Recorded]]
    """checkpoint -> the cloud's unit decisions there."""
    reconciled: Mapping[str, Reconciled]
    faults: tuple[FaultCheck, ...]
    station_checks: tuple[StationCheck, ...]
    """What each station's work must have left in the cloud (lots, reel change, cases...)."""
    kill: KillRecord | None
    produced: frozenset[tuple[str, str]]
    """The (DI, serial) of every unit put on the line (a duplicated serial counts once)."""
    known: frozenset[tuple[str, str]]
    """Those the cloud's unit lookup finds."""
    trace_unit: tuple[str, str] | None
    history: Mapping[str, Any] | None
    backward: Mapping[str, Any] | None
    recall_scope: Mapping[str, Any]
    recall_title: str
    impact: Mapping[str, Any]
    audit: Mapping[str, Any]
    line_stops: int
    notes: tuple[str, ...]
    timings: Timings
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return (
            self.produced == self.known
            and all(r.ok for r in self.reconciled.values())
            and all(f.ok for f in self.faults)
            and all(c.ok for c in self.station_checks)
            and bool(self.audit.get("ok"))
            and not self.problems
        )
