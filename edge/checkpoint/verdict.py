"""What the engine works with and hands out for one unit: its settings, the lookup and the
verdict of the rules, and the outcome (with when each step was reached)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field

from edge.checkpoint.facts import Facts, Identification
from edge.checkpoint.record import Station
from edge.checkpoint.roles.base import StationScan
from edge.checkpoint.state import UnitFacts
from edge.reads import CodeRead
from protocols.config.plc import RegisterConfig
from protocols.config.rules import RulesConfig
from protocols.events import Event, InterlockResult, Reason
from protocols.parts import Decision
from protocols.udi import Udi


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineSettings:
    station: Station
    rules: RulesConfig
    predecessors: tuple[str, ...] = ()
    registers: tuple[RegisterConfig, ...] = ()
    timezone: dt.tzinfo = dt.UTC
    """The site's zone: expiry and shelf life count its days."""
    has_trigger: bool = False
    """Units are seen by a photo-eye: a unit known only from its read is held."""

    @classmethod
    def for_site(
        cls,
        station: Station,
        *,
        rules: RulesConfig,
        predecessors: tuple[str, ...],
        registers: tuple[RegisterConfig, ...],
        timezone: str,
        has_trigger: bool,
    ) -> EngineSettings:
        return cls(
            station=station,
            rules=rules,
            predecessors=predecessors,
            registers=registers,
            timezone=zoneinfo.ZoneInfo(timezone),
            has_trigger=has_trigger,
        )


_NOTHING_KNOWN = UnitFacts(hold_matches=(), own=None, route={})


@dataclass(frozen=True, slots=True, kw_only=True)
class Lookup:
    """The unit's identity and what the local state knows of it."""

    reads: tuple[CodeRead, ...]
    identification: Identification
    unit: UnitFacts = _NOTHING_KNOWN
    error: Reason | None = None
    """Why the local state could not answer."""
    claimed: tuple[CodeRead, ...] = ()
    """Reads the checkpoint's role took as station scans, not the unit's own code."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """The rules' answer on one unit, with what it was based on."""

    reads: tuple[CodeRead, ...]
    identification: Identification
    facts: Facts | None
    reasons: tuple[Reason, ...]
    role_events: tuple[Event, ...] = ()
    """The role's records of the unit (or of the station scan), after its own."""
    station: StationScan | None = None
    """Set when the window held station scans only: the role judged them, not the rules."""

    @property
    def decision(self) -> Decision:
        return "hold" if self.reasons else "pass"

    @property
    def udi(self) -> Udi | None:
        return self.identification.udi


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What happened to one unit, for counters, the status page and the bench."""

    window: int
    trigger_s: float
    inputs_s: float
    """When the window closed (every read in, or the window over)."""
    decided_s: float
    """When the rules had answered."""
    recorded_s: float | None
    """When the (first) record was durable; None if none could be made."""
    decision: Decision
    """The final decision (a corrected pass is a hold)."""
    reasons: tuple[str, ...]
    unit: str | None
    """`unit_key` of the UDI, if one was read."""
    seq: int | None
    """Outbox seq of the (last) event recorded for the unit; None if none could be."""
    output: InterlockResult | None
    output_acked_s: float | None
    """When the PLC acknowledged the decision's output."""
    corrected: bool = False
    role_recorded: int = 0
    """How many of the role's records of the unit were committed, in the order the role
    gave them (a hold can leave some out: the role re-records or undoes the rest)."""


@dataclass(slots=True)
class Timeline:
    """When one unit reached each step (monotonic seconds), for its outcome."""

    inputs_s: float = 0.0
    decided_s: float = 0.0
    recorded_s: float | None = None


@dataclass(slots=True)
class EngineCounters:
    units: int = 0
    passed: int = 0
    held: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    corrections: int = 0
    unrecorded: int = 0
    """Decisions that could not be recorded (always holds)."""
    orphan_reads: int = 0
    late_reads: int = 0
    parameter_rereads: int = 0
    """Units whose process values, polled before their trigger, were read again."""
    batched_units: int = 0
    """Units a counter trigger's poll counted with others (reads told apart by order)."""
