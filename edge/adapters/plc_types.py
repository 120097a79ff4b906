"""What the PLC adapter hands out and takes in: samples, trigger edges, write results, the
options of poll groups, trigger and heartbeat, and its errors.

Pure types (no pymodbus), so the checkpoint rules and their tests can use them without a PLC.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from edge.adapters.plc_codec import Value

EdgeKind = Literal["rising", "falling", "both", "count"]
"""Which changes of the trigger input are units; `count`: the input is a unit counter."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One named value as read from the PLC, with when it was read."""

    name: str
    value: Value
    unit: str
    read_at: datetime
    """Wall-clock time (UTC) the answer arrived."""
    monotonic_s: float
    """`time.monotonic()` when the answer arrived: ages are measured on this clock."""

    def age_s(self, now_monotonic_s: float | None = None) -> float:
        """Seconds since the value was read."""
        now = time.monotonic() if now_monotonic_s is None else now_monotonic_s
        return now - self.monotonic_s


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerEdge:
    """A change of the trigger input (photo-eye) seen by polling."""

    name: str
    rising: bool
    seq: int
    """Edges seen by this adapter since it started, from 1."""
    read_at: datetime
    """Wall-clock time (UTC) of the read that first saw the new state."""
    monotonic_s: float
    """`time.monotonic()` of that read."""
    previous_read_monotonic_s: float | None
    """When the old state was last seen: the edge happened between the two reads."""
    units_in_poll: int = 1
    """Units the poll that saw this edge counted (a counter trigger may count several); their
    edges share `monotonic_s` and come in conveyor order."""
    index_in_poll: int = 0
    """This unit's place among them, from 0."""

    @property
    def uncertainty_ms(self) -> float:
        """How long before `monotonic_s` the edge may have happened (the polling gap; large
        after a link outage)."""
        if self.previous_read_monotonic_s is None:
            return 0.0
        return (self.monotonic_s - self.previous_read_monotonic_s) * 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteResult:
    """The outcome of a write that the PLC acknowledged."""

    name: str
    value: Value
    raw: tuple[int, ...]
    """Words (or the bit as 0/1) written."""
    verified: bool
    """True only when the value was read back from the PLC and matched."""
    read_back: Value | None
    """The value read back, or None when not read back."""
    written_at: datetime
    monotonic_s: float
    """`time.monotonic()` when the PLC acknowledged the write."""
    round_trip_ms: float
    """From sending the write to the end of its verification."""
    problem: str | None = None
    """Why the write is not verified (a mismatch, or the read-back skipped)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PollGroup:
    """Registers read together at one period."""

    name: str
    period_ms: float
    registers: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerSpec:
    """The input whose edges start a checkpoint cycle, and how often it is polled."""

    register: str
    """Name of a value in the register map: a discrete input, a coil, a register bit, or a
    register (on while non-zero); with `edge="count"`, a uint16 or uint32 unit counter."""
    edge: EdgeKind = "rising"
    period_ms: float = 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class HeartbeatSpec:
    """An output the adapter toggles so the PLC can tell the agent is alive."""

    register: str
    """Name of a coil (toggled true/false) or a holding register (toggled 1/0)."""
    period_ms: float = 500.0


class PlcError(Exception):
    """A PLC operation failed; names the PLC (host:port) and the address."""

    def __init__(self, plc: str, address: str, reason: str) -> None:
        self.plc = plc
        self.address = address
        self.reason = reason
        super().__init__(f"PLC {plc}, {address}: {reason}")


class PlcLinkError(PlcError):
    """The link to the PLC is down, or was lost during the request."""


class PlcTimeoutError(PlcLinkError):
    """The PLC did not answer within the timeout (the connection is then reopened)."""


class PlcDesyncError(PlcLinkError):
    """The answer did not belong to the request (stale transaction, wrong function or size);
    the connection is then reopened so no late answer can be taken for a new request."""


class PlcTooLateError(PlcError):
    """A write not sent: its `not_after_s` had passed when the link was free for it (the
    unit it was for may have left the station; written now, it would act on the next one)."""


class PlcRefusedError(PlcError):
    """The PLC answered with a Modbus exception (illegal address, device failure...)."""

    def __init__(self, plc: str, address: str, reason: str, *, exception_code: int) -> None:
        super().__init__(plc, address, reason)
        self.exception_code = exception_code
