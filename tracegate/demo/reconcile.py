"""What the PLCs were told against what the cloud recorded: pure functions, so the demo's
summary and the end-to-end test judge the same way.

A checkpoint's records in the cloud are its `unit.inspected` events; a correction (an event
naming the one it `corrects`) replaces that event's decision. A unit is keyed by its UDI's
(DI, serial), or None when it was not identified (a no-read). The PLC's side is each unit's
outcome at the photo-eye: `pass` is a pass, `reject` a hold.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from edge.sim.units import SimLine
from protocols.events import Event, UnitInspected

UnitKey = tuple[str, str | None] | None
"""(DI, serial) of a unit, None for a unit that could not be identified."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Recorded:
    """One unit decision as the cloud has it (after corrections)."""

    event_id: uuid.UUID
    seq: int
    key: UnitKey
    decision: str
    reasons: tuple[str, ...]


def decisions(events: Iterable[Event]) -> list[Recorded]:
    """The unit decisions among one device's `events`, each with its final decision."""
    inspected = sorted((e for e in events if isinstance(e, UnitInspected)), key=lambda e: e.seq)
    corrected: dict[uuid.UUID, UnitInspected] = {}
    originals: list[UnitInspected] = []
    for event in inspected:
        if event.corrects is not None:
            corrected[event.corrects] = event
        else:
            originals.append(event)
    found = []
    for event in originals:
        final = event
        while final.event_id in corrected:
            final = corrected[final.event_id]
        udi = event.udi
        found.append(
            Recorded(
                event_id=event.event_id,
                seq=event.seq,
                key=None if udi is None else (udi.di, udi.serial),
                decision=final.decision,
                reasons=tuple(r.code for r in final.reasons),
            )
        )
    return found


def unit_key(line: SimLine, index: int) -> UnitKey:
    """The key the checkpoint identifies unit `index` by (None when it has no readable code)."""
    unit = line.unit(index)
    if unit.reader_text is None:
        return None
    return (unit.udi.di, unit.udi.serial)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconciled:
    checkpoint: str
    plc: Counter[tuple[UnitKey, str]]
    """(unit, pass/hold) as the PLC was told, counted."""
    cloud: Counter[tuple[UnitKey, str]]
    missing_in_cloud: Counter[tuple[UnitKey, str]]
    extra_in_cloud: Counter[tuple[UnitKey, str]]
    undecided: tuple[int, ...]
    """Units the PLC got no output for, or both outputs."""

    @property
    def ok(self) -> bool:
        return not self.missing_in_cloud and not self.extra_in_cloud and not self.undecided


def reconcile(
    checkpoint: str, line: SimLine, outcomes: Mapping[int, str], recorded: Iterable[Recorded]
) -> Reconciled:
    """Every unit the PLC decided at `checkpoint` is in the cloud once, with that decision."""
    plc: Counter[tuple[UnitKey, str]] = Counter()
    undecided = []
    for index, outcome in sorted(outcomes.items()):
        if outcome not in ("pass", "reject"):
            undecided.append(index)
            continue
        plc[(unit_key(line, index), "pass" if outcome == "pass" else "hold")] += 1
    cloud: Counter[tuple[UnitKey, str]] = Counter((r.key, r.decision) for r in recorded)
    return Reconciled(
        checkpoint=checkpoint,
        plc=plc,
        cloud=cloud,
        missing_in_cloud=plc - cloud,
        extra_in_cloud=cloud - plc,
        undecided=tuple(undecided),
    )


def describe(key: UnitKey) -> str:
    if key is None:
        return "unidentified"
    di, serial = key
    return f"(01){di}(21){serial}"
