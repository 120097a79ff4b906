"""The PLC of a checkpoint: the Modbus TCP link, the register map of process
parameters, the photo-eye trigger input, and the interlock outputs the agent drives."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from protocols.config._base import ConfigModel, Float, Int, Name, Problems

RegisterType = Literal["int16", "uint16", "int32", "uint32", "float32"]
"""How the words of a register are read; 32-bit types take two consecutive words."""

WORDS: dict[str, int] = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}
"""Modbus words (16-bit registers) taken by each register type."""

Address = Int
"""A 0-based Modbus address (the PDU address, not the 4xxxx reference number)."""


class RegisterConfig(ConfigModel):
    """One process value in the PLC, decoded into engineering units: ``raw * scale``."""

    name: Name
    """Parameter name recorded in events (``seal_temp``); unique within the PLC."""
    address: Address = Field(ge=0, le=65535)
    """First word's 0-based address."""
    table: Literal["holding_register", "input_register"] = "holding_register"
    """Which Modbus table the value is read from."""
    type: RegisterType
    """``int16``, ``uint16``, ``int32``, ``uint32`` or ``float32``."""
    word_order: Literal["big", "little"] = "big"
    """For 32-bit types: ``big`` when the first word holds the high half (Modbus
    convention), ``little`` for PLCs that send the low word first."""
    scale: Float = 1.0
    """Multiplier from the raw value to the unit: 0.1 for a temperature sent in tenths."""
    unit: str = ""
    """Engineering unit after scaling (``°C``, ``bar``, ``ms``)."""
    lo: Float | None = None
    """Lowest value within specification, in the unit; none: no lower limit."""
    hi: Float | None = None
    """Highest value within specification, in the unit; none: no upper limit."""
    max_age_ms: Int = Field(1000, gt=0)
    """A value older than this at decision time is stale (the unit is held)."""
    poll_period_ms: Int = Field(100, gt=0)
    """How often the value is read; registers sharing a period are read together."""

    @model_validator(mode="after")
    def _cross_field(self) -> RegisterConfig:
        problems = Problems()
        if self.lo is not None and self.hi is not None and self.lo > self.hi:
            problems.add(("lo",), f"must not exceed hi ({self.hi:g}), got {self.lo:g}")
        last = self.address + WORDS[self.type] - 1
        if last > 65535:
            problems.add(
                ("address",),
                f"a {self.type} at {self.address} would end at word {last}, past 65535",
            )
        if self.poll_period_ms > self.max_age_ms:
            problems.add(
                ("poll_period_ms",),
                f"must not exceed max_age_ms ({self.max_age_ms}), or every value would be"
                f" stale before the next poll; got {self.poll_period_ms}",
            )
        if self.scale == 0:
            problems.add(("scale",), "must not be 0")
        problems.raise_if_any()
        return self

    @property
    def words(self) -> int:
        """Number of 16-bit words the value takes."""
        return WORDS[self.type]


class PlcInput(ConfigModel):
    """A binary signal read from the PLC: a photo-eye, a case-full switch."""

    table: Literal["coil", "discrete_input", "holding_register", "input_register"]
    """Which Modbus table holds the signal."""
    address: Address = Field(ge=0, le=65535)
    """0-based address in that table."""
    bit: Int | None = Field(None, ge=0, le=15)
    """For a register: the bit that carries the signal; none: any non-zero value."""
    edge: Literal["rising", "falling"] = "rising"
    """Which change of the signal counts as the event."""
    poll_period_ms: Int = Field(5, gt=0)
    """How often the signal is read; a pulse shorter than this can be missed."""

    @model_validator(mode="after")
    def _cross_field(self) -> PlcInput:
        problems = Problems()
        if self.bit is not None and self.table in ("coil", "discrete_input"):
            problems.add(("bit",), f"only allowed for registers, not for a {self.table}")
        problems.raise_if_any()
        return self


CounterType = Literal["uint16", "uint32"]
"""Register types a unit counter may have: it counts up and wraps at 2^16 or 2^32."""


class PlcTrigger(ConfigModel):
    """The signal of each unit reaching the checkpoint: a photo-eye input whose edges are
    polled, or (``edge: count``) a register the PLC increments on each of the photo-eye's
    rising edges, which no late poll can miss."""

    table: Literal["coil", "discrete_input", "holding_register", "input_register"]
    """Which Modbus table holds the signal or the counter."""
    address: Address = Field(ge=0, le=65535)
    """0-based address in that table (a 32-bit counter's first word)."""
    bit: Int | None = Field(None, ge=0, le=15)
    """For a register read as a signal: the bit that carries it; none: any non-zero value."""
    edge: Literal["rising", "falling", "count"] = "rising"
    """``rising`` or ``falling``: which change of the photo-eye signal is a unit; ``count``:
    the register counts units, and an increase by k since the last poll is k units."""
    type: RegisterType | None = None
    """With ``edge: count``, the counter's type: ``uint16`` or ``uint32``."""
    word_order: Literal["big", "little"] = "big"
    """For a ``uint32`` counter: ``big`` when the first word holds the high half."""
    poll_period_ms: Int = Field(5, gt=0)
    """How often the signal is read; a photo-eye pulse shorter than this can be missed
    (a counter cannot: it only makes the unit known later)."""

    @model_validator(mode="after")
    def _cross_field(self) -> PlcTrigger:
        problems = Problems()
        bits = self.table in ("coil", "discrete_input")
        if self.bit is not None and bits:
            problems.add(("bit",), f"only allowed for registers, not for a {self.table}")
        if self.edge != "count":
            if self.type is not None:
                problems.add(("type",), f"only for a counter (edge: count), not edge {self.edge}")
            problems.raise_if_any()
            return self
        if bits:
            problems.add(
                ("edge",),
                f"a counter is a holding_register or an input_register, not a {self.table}",
            )
        elif self.bit is not None:
            problems.add(("bit",), "not allowed with edge: count (the counter is the register)")
        if self.type is None:
            problems.add(("type",), "required with edge: count (uint16 or uint32)")
        elif self.type not in ("uint16", "uint32"):
            problems.add(
                ("type",), f"a counter is uint16 or uint32 (it wraps to 0), got {self.type}"
            )
        elif self.address + WORDS[self.type] - 1 > 65535:
            problems.add(("address",), f"a {self.type} at {self.address} would end past word 65535")
        problems.raise_if_any()
        return self

    @property
    def counts(self) -> bool:
        """Whether the trigger is a unit counter rather than a signal's edges."""
        return self.edge == "count"


class PlcOutput(ConfigModel):
    """A signal the agent writes; a coil is set true/false, a register 1/0."""

    table: Literal["coil", "holding_register"]
    """Which Modbus table the output is written to."""
    address: Address = Field(ge=0, le=65535)
    """0-based address in that table."""


class InterlockConfig(ConfigModel):
    """The outputs through which the decision reaches the line. Every write is read back."""

    pass_: PlcOutput | None = Field(None, alias="pass")
    """Set for a unit that passed, after its event is committed to the outbox."""
    reject: PlcOutput | None = None
    """Set at once for a held unit (divert gate, reject pusher)."""
    line_stop: PlcOutput | None = None
    """Latched to stop the line, when an output could not be verified or a link is lost."""
    heartbeat: PlcOutput | None = None
    """Toggled every ``heartbeat_period_ms`` so the PLC can stop the line if the agent dies."""
    heartbeat_period_ms: Int = Field(500, gt=0)
    """How often the heartbeat output toggles; the PLC's watchdog should allow 3 periods."""
    pulse_ms: Int = Field(100, gt=0)
    """How long a pass or reject output stays set before it is reset."""

    @model_validator(mode="after")
    def _cross_field(self) -> InterlockConfig:
        problems = Problems()
        seen: dict[tuple[str, int], str] = {}
        for key, output in self.outputs().items():
            where = (output.table, output.address)
            if where in seen:
                problems.add(
                    (key,),
                    f"{output.table} {output.address} is already used by '{seen[where]}'",
                )
            else:
                seen[where] = key
        problems.raise_if_any()
        return self

    def outputs(self) -> dict[str, PlcOutput]:
        """The configured outputs by their YAML key (``pass``, ``reject``, ...)."""
        named = {
            "pass": self.pass_,
            "reject": self.reject,
            "line_stop": self.line_stop,
            "heartbeat": self.heartbeat,
        }
        return {key: out for key, out in named.items() if out is not None}


class PlcConfig(ConfigModel):
    """A Modbus TCP PLC. Several checkpoints may name the same PLC; the agent then shares
    one connection."""

    host: str = Field(min_length=1)
    """Host name or IP address."""
    port: Int = Field(502, ge=1, le=65535)
    """TCP port (502 is Modbus TCP's)."""
    unit_id: Int = Field(1, ge=0, le=255)
    """Modbus unit identifier (pymodbus's ``device_id=``); gateways use it to pick a PLC."""
    timeout_s: Float = Field(0.2, gt=0)
    """Per-request timeout, with no retries: with pymodbus's defaults a PLC that accepts
    the connection and never answers blocks a read for 12 s."""
    reconnect_backoff_min_s: Float = Field(0.2, gt=0)
    """First wait before reconnecting; doubled (with jitter) up to the maximum."""
    reconnect_backoff_max_s: Float = Field(10.0, gt=0)
    """Longest wait between reconnection attempts."""
    registers: tuple[RegisterConfig, ...] = ()
    """Process values polled from the PLC."""
    trigger: PlcTrigger | None = None
    """The photo-eye (or the PLC's count of its edges) signalling a unit at the checkpoint;
    absent: reads are the trigger."""

    @model_validator(mode="after")
    def _cross_field(self) -> PlcConfig:
        problems = Problems()
        names: dict[str, int] = {}
        taken: dict[tuple[str, int], int] = {}
        for i, reg in enumerate(self.registers):
            if reg.name in names:
                problems.add(
                    ("registers", i, "name"),
                    f"'{reg.name}' is already the name of registers[{names[reg.name]}]",
                )
            else:
                names[reg.name] = i
            clash = next(
                (
                    taken[(reg.table, word)]
                    for word in range(reg.address, reg.address + reg.words)
                    if (reg.table, word) in taken
                ),
                None,
            )
            if clash is not None:
                other = self.registers[clash]
                problems.add(
                    ("registers", i, "address"),
                    f"'{reg.name}' ({reg.type} at {_words(reg)}) overlaps '{other.name}'"
                    f" ({other.type} at {_words(other)})",
                )
            for word in range(reg.address, reg.address + reg.words):
                taken.setdefault((reg.table, word), i)
        if self.reconnect_backoff_min_s > self.reconnect_backoff_max_s:
            problems.add(
                ("reconnect_backoff_min_s",),
                f"must not exceed reconnect_backoff_max_s ({self.reconnect_backoff_max_s:g}),"
                f" got {self.reconnect_backoff_min_s:g}",
            )
        problems.raise_if_any()
        return self

    def register(self, name: str) -> RegisterConfig:
        """The register called ``name``; KeyError naming the known ones otherwise."""
        for reg in self.registers:
            if reg.name == name:
                return reg
        known = ", ".join(r.name for r in self.registers) or "none"
        raise KeyError(f"no register '{name}' on PLC {self.host}:{self.port} (known: {known})")


def _words(reg: RegisterConfig) -> str:
    if reg.words == 1:
        return f"word {reg.address}"
    return f"words {reg.address}-{reg.address + reg.words - 1}"
