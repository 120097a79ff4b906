"""What a checkpoint's role adds to the engine's path: the inspection path decides pass or
hold for each unit; the other roles also record what went into what and where it went.

A role plugs into `CheckpointEngine` at four points, all optional:

- `claims(read)`: a read that is not the unit passing but a *station scan* (a component lot
  loaded at assembly, a case label at packing, a pallet at shipping, a supplier label at
  goods receipt). A window whose reads are all claimed is handed to `station_scan`, which
  says pass or hold and which events record it; a window with unit reads and claimed reads
  gives the claimed ones to `unit_events` (a serialised component scanned with its parent).
- `unit_reasons(facts)`: hold reasons of the role's own rules (pure, under the decide lock).
- `unit_events(facts, decision, claimed)`: the role's events for the unit, committed
  right after its `unit.inspected` record and before its pass output (record before
  release). Called under the decide lock, so the role's state follows the units' order.
- `settled(facts, outcome)`: the unit's final outcome (a pass can still become a hold when
  its output does not verify): undo what `unit_events` assumed if needed.

`tasks()` names background work the agent supervises (a PLC signal that closes a case, a
feed of other checkpoints' events). The default role, used by sealing and inspection, adds
nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from edge.checkpoint.facts import Facts
from edge.outbox import CommittedEvent
from edge.reads import CodeRead
from protocols.events import Event, Reason
from protocols.parts import Decision

if TYPE_CHECKING:
    from edge.checkpoint.verdict import Outcome


class EventSink(Protocol):
    """Where records go: the outbox."""

    async def commit(self, event: Event) -> CommittedEvent: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class StationScan:
    """The role's answer on a window of station scans (no unit in it)."""

    label: str
    """What was scanned, for logs and the status page ("lot 0950..:L123", "SSCC 3..")."""
    reasons: tuple[Reason, ...] = ()
    """Why it is refused; empty: accepted (pass)."""
    events: tuple[Event, ...] = ()
    """Recorded before the pass output, or with the hold."""
    line_stop: str | None = None
    """Ask the PLC to stop the line, saying why (a refused material load)."""

    @property
    def decision(self) -> Decision:
        return "hold" if self.reasons else "pass"


class StationRole:
    """A role that adds nothing: every read is the unit, the rules decide alone."""

    name: str = "inspection"

    def claims(self, read: CodeRead) -> bool:
        """Whether `read` is a station scan rather than the unit's own code."""
        return False

    async def station_scan(self, reads: Sequence[CodeRead]) -> StationScan:
        """Judge and record a window of claimed reads only (under the decide lock)."""
        raise NotImplementedError(f"role {self.name} claims no reads")

    def unit_reasons(self, facts: Facts, claimed: Sequence[CodeRead]) -> tuple[Reason, ...]:
        """Hold reasons of the role's own rules, beside the common rules' (pure)."""
        return ()

    async def unit_events(
        self, facts: Facts, decision: Decision, claimed: Sequence[CodeRead]
    ) -> tuple[Event, ...]:
        """The role's records of this unit, committed after its `unit.inspected` record and
        before a pass output. `decision` is what the rules said; it can still become a hold
        (`settled` tells). Raising here holds the unit (reason `role_error`).
        """
        return ()

    async def settled(self, facts: Facts | None, outcome: Outcome) -> None:
        """The unit's final outcome; a pass that became a hold undoes what was assumed."""

    def tasks(self) -> Mapping[str, Callable[[], Awaitable[None]]]:
        """Background work for the agent to supervise, by name."""
        return {}
