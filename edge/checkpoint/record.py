"""What a decision is recorded as: the unit.inspected event, built from the edge's own types.

Reads, the PLC snapshot and the parsed UDI become the wire's structs here and nowhere else,
so the engine speaks in `CodeRead`s and `Parameter`s and the event stays the contract.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import msgspec

from edge.adapters.plc_types import Sample
from edge.checkpoint.facts import Parameter
from edge.checkpoint.rules import RULESET_VERSION
from edge.outbox import OutboxError, OutboxFull
from edge.reads import CodeRead
from protocols.config.plc import RegisterConfig
from protocols.events import (
    InterlockResult,
    ParameterSample,
    ParsedUdi,
    Read,
    Reason,
    UnitInspected,
)
from protocols.ids import uuid7
from protocols.parts import Decision
from protocols.udi import Udi

_AIM_ID = re.compile(r"\][A-Za-z][0-9A-Za-z]\Z")
_MAX_READ_CHARS = 8192
# A read whose bytes were not text may render as nothing; the wire needs one character.
_UNREADABLE = "\N{REPLACEMENT CHARACTER}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Station:
    """Who records: the envelope fields every event of this agent shares."""

    device_id: str
    site: str
    line: str
    checkpoint: str


def snapshot_parameters(
    registers: Sequence[RegisterConfig],
    samples: Mapping[str, Sample],
    *,
    now_s: float | None = None,
) -> tuple[Parameter, ...]:
    """The rules' view of the PLC's latest polled values: each register with its age."""
    now = time.monotonic() if now_s is None else now_s
    parameters = []
    for reg in registers:
        sample = samples.get(reg.name)
        value: float | None = None
        age_ms = 0
        if sample is not None:
            number = float(sample.value)
            value = number if math.isfinite(number) else None
            age_ms = max(0, round((now - sample.monotonic_s) * 1000))
        parameters.append(
            Parameter(
                name=reg.name,
                value=value,
                unit=reg.unit,
                lo=reg.lo,
                hi=reg.hi,
                age_ms=age_ms,
                max_age_ms=reg.max_age_ms,
            )
        )
    return tuple(parameters)


def wire_reads(reads: Iterable[CodeRead]) -> tuple[Read, ...]:
    return tuple(
        Read(
            text=(read.text or _UNREADABLE)[:_MAX_READ_CHARS],
            symbology_id=read.symbology_id
            if read.symbology_id and _AIM_ID.match(read.symbology_id)
            else None,
            source=read.source_kind,
            source_name=read.source_name[:128],
            read_at=read.read_at,
        )
        for read in reads
    )


def wire_udi(udi: Udi | None) -> ParsedUdi | None:
    if udi is None:
        return None
    return ParsedUdi(
        issuer=udi.issuer,
        di=udi.di,
        lot=udi.lot,
        serial=udi.serial,
        expiry=udi.expiry,
        production_date=udi.production_date,
    )


def wire_parameters(parameters: Iterable[Parameter]) -> tuple[ParameterSample, ...]:
    return tuple(
        ParameterSample(
            name=p.name,
            value=p.value,
            unit=p.unit[:16],
            lo=p.lo,
            hi=p.hi,
            age_ms=p.age_ms,
            in_limits=p.in_limits,
        )
        for p in parameters
    )


def inspected_event(
    station: Station,
    *,
    occurred_at: dt.datetime,
    reads: Sequence[CodeRead],
    udi: Udi | None,
    parameters: Sequence[Parameter],
    decision: Decision,
    reasons: Sequence[Reason],
    work_order: str | None,
    interlock: InterlockResult | None,
    corrects: uuid.UUID | None = None,
) -> UnitInspected:
    """A unit.inspected event (seq 0: the outbox assigns it)."""
    return UnitInspected(
        event_id=uuid7(),
        device_id=station.device_id,
        occurred_at=occurred_at,
        site=station.site,
        line=station.line,
        checkpoint=station.checkpoint,
        corrects=corrects,
        reads=wire_reads(reads),
        udi=wire_udi(udi),
        parameters=wire_parameters(parameters),
        decision=decision,
        reasons=tuple(reasons),
        work_order=work_order,
        ruleset_version=RULESET_VERSION,
        interlock=interlock,
    )


def correction(
    first: UnitInspected, reasons: Sequence[Reason], output: InterlockResult | None
) -> UnitInspected:
    """A hold event that corrects `first` (append only: `first` itself is never changed)."""
    return msgspec.structs.replace(
        first,
        event_id=uuid7(),
        corrects=first.event_id,
        occurred_at=dt.datetime.now(dt.UTC),
        decision="hold",
        reasons=tuple(reasons),
        interlock=output,
    )


def refusal_reason(exc: BaseException) -> Reason:
    """Why a unit is held when the outbox refused its record."""
    if isinstance(exc, OutboxFull):
        return Reason(code="outbox_full", text=f"The outbox is full: {exc}"[:4096])
    if isinstance(exc, OutboxError):
        return Reason(code="outbox_error", text=f"The outbox failed: {exc}"[:4096])
    return Reason(code="outbox_error", text=f"The event could not be recorded: {exc!r}"[:4096])
