"""The demo line's plan: which units run, when each reaches each checkpoint, and what goes
wrong with which. Pure data, the same in the demo process (PLCs, scanners) and in the camera
agent's process (which rebuilds its checkpoint's line from the JSON form).

Every checkpoint of the line sees the same units (one seed: the same product, lot and
serials) on one shared line clock, each checkpoint `stage_gap_s` further down the conveyor
than the one before. A unit held at a checkpoint is rejected off the line there, so the
plan marks it as skipping every later checkpoint.

>>> plan = LinePlan.build(units=100, stages=("assembly", "sealing", "final-inspection"))
>>> [i.fault for i in plan.injections][:3]
['wrong_lot', 'serial_repeated', 'duplicate_serial']
>>> plan.line_for("sealing").first_arrival_s - plan.line_for("assembly").first_arrival_s
1.5
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from edge.sim.units import Fault, SimLine

FIRST_ARRIVAL_S = 1.0
"""Line time at which the first unit reaches the first checkpoint."""


class Injection(msgspec.Struct, frozen=True, kw_only=True):
    """One planned piece of trouble and what the line must make of it."""

    name: str
    """What the demo calls it in its summary."""
    unit: int
    """The unit's index on the line (from 0)."""
    fault: str
    """An `edge.sim.units.Fault` value, or `agent_killed`."""
    checkpoint: str
    """Where it shows: where the unit must be held (or the agent killed)."""
    at: tuple[str, ...]
    """The checkpoints whose simulators carry the fault (a label's wrong lot is on it
    everywhere; a seal excursion happens at the sealer only)."""
    expect_reason: str | None
    """The hold reason the checkpoint must give; None for the agent kill (nothing held)."""
    also_accepted: tuple[str, ...] = ()
    """Another reason that is right too: a no-read held because the reader could not
    finish looking by the decision deadline (a loaded host) is still an unread unit held."""

    @property
    def accepted(self) -> tuple[str, ...]:
        return (self.expect_reason, *self.also_accepted) if self.expect_reason else ()


AGENT_KILLED = "agent_killed"
"""The injection that is not a unit's fault: the checkpoint's agent is SIGKILLed right
after this unit's output, and restarted."""

SERIAL_REPEATED = "serial_repeated"
"""Not a fault of its own: the unit whose serial the next unit repeated. That unit passed,
but its UDI is now also that of a held unit, so the next checkpoint holds it too."""

SIMULATED_FAULTS = frozenset(f.value for f in Fault)
"""Injections the simulators act out (the others are consequences or the kill)."""


class StagePlan(msgspec.Struct, frozen=True, kw_only=True):
    checkpoint: str
    offset_s: float
    """Line time between the unit's arrival at the first checkpoint and at this one."""
    faults: dict[int, list[str]]
    """Unit index -> faults of the unit at this checkpoint (skips included)."""


class LinePlan(msgspec.Struct, frozen=True, kw_only=True):
    """The whole run, as data."""

    units: int
    seed: int
    rate_per_s: float
    photo_eye_pulse_ms: float
    production_date: dt.date
    stages: tuple[StagePlan, ...]
    injections: tuple[Injection, ...]
    kill_checkpoint: str | None = None

    @classmethod
    def build(
        cls,
        *,
        units: int,
        stages: Sequence[str],
        seed: int = 2026,
        rate_per_s: float = 2.0,
        stage_gap_s: float | None = None,
        photo_eye_pulse_ms: float = 150.0,
        production_date: dt.date | None = None,
        kill: str | None = "sealing",
        camera_checkpoint: str | None = "final-inspection",
    ) -> LinePlan:
        """The plan for `units` units through the unit checkpoints `stages` (in line order).

        Faults are spread over the run; each needs its checkpoint among `stages` and is
        left out otherwise. `units` must leave room for them (at least 20). Checkpoints are
        `stage_gap_s` apart (default: 1.5 s, or more at slow rates: a unit must reach the
        next checkpoint after the unit behind it was judged at this one)."""
        if units < MIN_UNITS:
            raise ValueError(
                f"units: expected at least {MIN_UNITS} (room for the faults), got {units}"
            )
        gap_s = stage_gap_s if stage_gap_s is not None else max(1.5, 1 / rate_per_s + 0.5)
        injections = _injections(units, stages, kill=kill, camera_checkpoint=camera_checkpoint)
        faults: dict[str, dict[int, list[str]]] = {s: {} for s in stages}
        for injection in injections:
            if injection.fault in SIMULATED_FAULTS:
                for checkpoint in injection.at:
                    faults[checkpoint].setdefault(injection.unit, []).append(injection.fault)
            if injection.expect_reason is None:
                continue
            # Held units leave the line where they are held.
            for checkpoint in stages[stages.index(injection.checkpoint) + 1 :]:
                faults[checkpoint].setdefault(injection.unit, []).append(
                    Fault.SKIPS_CHECKPOINT.value
                )
        return cls(
            units=units,
            seed=seed,
            rate_per_s=rate_per_s,
            photo_eye_pulse_ms=photo_eye_pulse_ms,
            production_date=production_date or dt.datetime.now(dt.UTC).date(),
            stages=tuple(
                StagePlan(checkpoint=s, offset_s=round(i * gap_s, 6), faults=faults[s])
                for i, s in enumerate(stages)
            ),
            injections=injections,
            kill_checkpoint=next(
                (i.checkpoint for i in injections if i.fault == AGENT_KILLED), None
            ),
        )

    def stage(self, checkpoint: str) -> StagePlan:
        for stage in self.stages:
            if stage.checkpoint == checkpoint:
                return stage
        known = ", ".join(s.checkpoint for s in self.stages)
        raise KeyError(f"checkpoint {checkpoint!r}: not on the demo line ({known})")

    def line_for(self, checkpoint: str) -> SimLine:
        """The simulated line as `checkpoint` sees it (its arrivals and its faults)."""
        stage = self.stage(checkpoint)
        return SimLine(
            seed=self.seed,
            rate_per_s=self.rate_per_s,
            first_arrival_s=FIRST_ARRIVAL_S + stage.offset_s,
            photo_eye_pulse_ms=self.photo_eye_pulse_ms,
            unit_count=self.units,
            production_date=self.production_date,
            faults={i: [Fault(f) for f in fs] for i, fs in stage.faults.items()},
        )

    @property
    def end_s(self) -> float:
        """Line time when the last unit has left the last checkpoint."""
        last = self.stages[-1].offset_s if self.stages else 0.0
        return FIRST_ARRIVAL_S + last + self.units / self.rate_per_s

    def to_json(self) -> bytes:
        return msgspec.json.encode(self)

    @classmethod
    def from_json(cls, data: bytes) -> LinePlan:
        return msgspec.json.decode(data, type=cls)


MIN_UNITS = 20


@dataclass(frozen=True)
class _Want:
    name: str
    fraction: float
    fault: str
    checkpoint: str
    everywhere: bool
    reason: str | None
    extra: dict[str, Any] = field(default_factory=dict)


def _wanted(kill: str | None, camera_checkpoint: str | None) -> list[_Want]:
    wants = [
        # The label carries another lot than the work order's: refused where it is first read.
        _Want("wrong lot", 0.12, Fault.WRONG_LOT, "assembly", True, "work_order_mismatch"),
        # The labeller printed the previous unit's serial again.
        _Want(
            "duplicate serial", 0.22, Fault.DUPLICATE_SERIAL, "assembly", True, "duplicate_serial"
        ),
        _Want("scanner no-read", 0.32, Fault.NO_READ, "sealing", False, "no_read"),
        _Want(
            "seal temperature excursion",
            0.42,
            Fault.SEAL_EXCURSION,
            "sealing",
            False,
            "parameter_out_of_limits",
        ),
        # Taken off before the sealer and put back after it: final inspection has no record
        # that it passed sealing.
        _Want(
            "skipped the sealer",
            0.62,
            Fault.SKIPS_CHECKPOINT,
            "sealing",
            False,
            None,
            {"held_at": "final-inspection", "reason": "route_unknown"},
        ),
    ]
    if camera_checkpoint is not None:
        wants.append(
            _Want("camera no-read", 0.72, Fault.NO_READ, camera_checkpoint, False, "no_read")
        )
    if kill is not None:
        wants.append(_Want(f"{kill} agent killed", 0.5, AGENT_KILLED, kill, False, None))
    return wants


def _injections(
    units: int, stages: Sequence[str], *, kill: str | None, camera_checkpoint: str | None
) -> tuple[Injection, ...]:
    found: list[Injection] = []
    taken: set[int] = set()
    for want in _wanted(kill, camera_checkpoint):
        held_at = str(want.extra.get("held_at", want.checkpoint))
        if want.checkpoint not in stages or held_at not in stages:
            continue
        unit = max(2, round(units * want.fraction))
        # Neighbours stay clean: a duplicate serial repeats the unit before it.
        while unit in taken or unit - 1 in taken or unit + 1 in taken:
            unit += 1
        taken.add(unit)
        if want.fault == Fault.DUPLICATE_SERIAL and want.checkpoint != stages[-1]:
            taken.add(unit - 1)
            found.append(
                Injection(
                    name="its serial repeated",
                    unit=unit - 1,
                    fault=SERIAL_REPEATED,
                    checkpoint=stages[stages.index(want.checkpoint) + 1],
                    at=(),
                    expect_reason="route_held",
                )
            )
        if want.fault == Fault.SKIPS_CHECKPOINT:
            found.append(
                Injection(
                    name=want.name,
                    unit=unit,
                    fault=str(want.fault),
                    checkpoint=held_at,
                    at=(want.checkpoint,),
                    expect_reason=str(want.extra["reason"]),
                )
            )
            continue
        at = tuple(stages[: stages.index(want.checkpoint) + 1]) if want.everywhere else ()
        found.append(
            Injection(
                name=want.name,
                unit=unit,
                fault=str(want.fault),
                checkpoint=want.checkpoint,
                at=at or (want.checkpoint,),
                expect_reason=want.reason,
                also_accepted=("deadline_missed",) if want.fault == Fault.NO_READ else (),
            )
        )
    return tuple(sorted(found, key=lambda i: i.unit))
