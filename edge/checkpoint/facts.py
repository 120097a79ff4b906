"""Everything one decision is based on, gathered by the engine before the rules run.

The rules never do I/O: the engine looks up the route index, the duplicate
index, the hold list and the PLC snapshot first and hands the answers over as
`Facts`, so every rule is a function of this value and the rule config alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from edge.reads import CodeRead
from protocols.commands import WorkOrder
from protocols.udi import Udi

RouteAnswer = Literal["pass", "hold", "unknown"]
"""What the local route index knows of a unit at one predecessor checkpoint."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Parameter:
    """One process parameter as the rules see it: the latest polled value and its age."""

    name: str
    value: float | None
    """Scaled value in `unit`; None when it was never read."""
    unit: str
    lo: float | None
    hi: float | None
    age_ms: int
    """Time since the value was read from the PLC."""
    max_age_ms: int
    """Older than this, the value no longer describes the unit in front of the checkpoint."""

    @property
    def in_limits(self) -> bool:
        if self.value is None:
            return False
        return (self.lo is None or self.value >= self.lo) and (
            self.hi is None or self.value <= self.hi
        )

    @property
    def fresh(self) -> bool:
        return self.value is not None and self.age_ms <= self.max_age_ms


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldMatch:
    """A hold-list entry that matches the unit."""

    hold_id: str
    scope: Literal["unit", "lot", "di"]
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Identification:
    """What the reads of one window say the unit is."""

    udi: Udi | None
    """The valid UDI the reads agree on, or None."""
    problems: tuple[str, ...] = ()
    """The parser's problems when no valid UDI was found."""
    distinct: tuple[str, ...] = ()
    """Distinct valid UDIs seen in the window (more than one: conflicting reads)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """The inputs of one decision."""

    reads: tuple[CodeRead, ...]
    identification: Identification
    parameters: tuple[Parameter, ...] = ()
    work_order: WorkOrder | None = None
    hold_matches: tuple[HoldMatch, ...] = ()
    duplicate_of_seq: int | None = None
    """The outbox seq of an earlier event at this checkpoint with the same unit, if any."""
    route: Mapping[str, RouteAnswer] = field(default_factory=dict)
    """Predecessor checkpoint -> what the route index knows of this unit there."""
    links_down: tuple[str, ...] = ()
    """Names of adapters whose link is down ("plc", "scanner-1", "camera")."""
    today: date
    """Today in the site's time zone, for expiry and shelf life."""
