"""What the PLCs were told against what the cloud recorded: pure functions, so the demo's
summary and the end-to-end test judge the same way.

A checkpoint's records in the cloud are its `unit.inspected` events; a correction (an event
naming the one it `corrects`) replaces that event's decision. A unit is keyed by its UDI's
(DI, serial), or None when it was not identified (a no-read). The PLC's side is each unit's
outcome at the photo-eye: `pass` is a pass, `reject` a hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

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
    decided: int
    """Units the PLC was told pass or reject for."""
    recorded: int
    """Unit decisions the cloud has from the checkpoint."""
    mismatches: tuple[str, ...]
    """Where the two disagree, in words (the first few)."""
    undecided: tuple[int, ...]
    """Units the PLC got no output for, or both outputs."""
    unidentified_holds: int
    """Units held without a UDI although they carried a readable one (a reader too slow
    for the deadline on a loaded host): still recorded, still rejected."""
    late_reads: int = 0
    """Reads held on their own for lack of a photo-eye edge (the unit's read came after
    its window): extra hold records of units the PLC rejected."""
    paired: Mapping[int, Recorded] = field(default_factory=dict)
    """Unit index -> the cloud's record of it (when the records line up)."""

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.undecided


MAX_MISMATCHES = 5


LATE_READ = "no_trigger"
"""A read that came with no photo-eye edge to belong to: held on its own (fail safe), as an
extra record beside the unit's own decision (held unread when its read came too late)."""


def reconcile(
    checkpoint: str, line: SimLine, outcomes: Mapping[int, str], recorded: Iterable[Recorded]
) -> Reconciled:
    """Unit by unit in line order: the n-th unit the PLC was told about is the n-th unit
    decision the cloud has from the checkpoint, with the same decision, and the same UDI
    unless the checkpoint held it unidentified.

    A read held for lack of a photo-eye edge is the unit's late read, not a unit of its
    own, when the records only line up without it; it must then be a hold of a unit the
    PLC rejected."""
    told = sorted(outcomes.items())
    undecided = tuple(i for i, outcome in told if outcome not in ("pass", "reject"))
    cloud = sorted(recorded, key=lambda r: r.seq)
    mismatches, unidentified = _pair(line, told, cloud)
    late = [r for r in cloud if LATE_READ in r.reasons]
    late_reads = 0
    used = cloud
    if mismatches and late:
        rest = [r for r in cloud if LATE_READ not in r.reasons]
        lenient, lenient_unidentified = _pair(line, told, rest)
        rejected = {unit_key(line, i) for i, outcome in told if outcome == "reject"}
        lenient += [
            f"late read seq {r.seq} of {describe(r.key)}: the PLC did not reject that unit"
            for r in late
            if r.decision != "hold" or r.key not in rejected
        ]
        if not lenient:
            mismatches, unidentified, late_reads = [], lenient_unidentified, len(late)
            used = rest
    return Reconciled(
        checkpoint=checkpoint,
        decided=len(told) - len(undecided),
        recorded=len(cloud) - late_reads,
        mismatches=tuple(mismatches[:MAX_MISMATCHES]),
        undecided=undecided,
        unidentified_holds=unidentified,
        late_reads=late_reads,
        paired={} if mismatches else {i: r for (i, _), r in zip(told, used, strict=True)},
    )


def _pair(
    line: SimLine, told: list[tuple[int, str]], cloud: list[Recorded]
) -> tuple[list[str], int]:
    """The mismatches of pairing `told` with `cloud` in order, and the units held
    unidentified."""
    mismatches: list[str] = []
    unidentified = 0
    for (index, outcome), record in zip(told, cloud, strict=False):
        want = "pass" if outcome == "pass" else "hold"
        key = unit_key(line, index)
        if record.decision != want:
            mismatches.append(
                f"unit {index} ({describe(key)}): PLC {outcome}, cloud {record.decision}"
                f" (seq {record.seq})"
            )
        elif record.key != key:
            if record.key is None and record.decision == "hold":
                unidentified += 1
            else:
                mismatches.append(
                    f"unit {index}: PLC saw {describe(key)}, cloud has {describe(record.key)}"
                    f" (seq {record.seq})"
                )
    if len(cloud) < len(told):
        mismatches.append(f"{len(told) - len(cloud)} unit decisions missing in the cloud")
    elif len(cloud) > len(told):
        mismatches.append(f"{len(cloud) - len(told)} unit decisions in the cloud the PLC never saw")
    return mismatches, unidentified


def describe(key: UnitKey) -> str:
    if key is None:
        return "unidentified"
    di, serial = key
    return f"(01){di}(21){serial}"
