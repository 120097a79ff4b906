"""What the simulated PLC serves where: its register map, the signals it drives and the
outputs it takes from the agent.

`SimPlcLayout.default()` is a small self-contained map (below); `SimPlcLayout.from_config`
serves exactly the map of a checkpoint's `plc` and `interlock` config sections, so an agent
run from that config finds everything where it looks.

The default layout (zero-based addresses):

| table | address | name | type |
|---|---|---|---|
| coil | 0 / 1 / 2 / 3 | pass / reject / stop / heartbeat | bool, written by the agent |
| discrete input | 0 / 1 / 2 | photo_eye / line_running / agent_alive | bool |
| holding register | 0 | seal_temp | int16, x0.1 °C |
| holding register | 1 | seal_pressure | uint16, x0.01 bar |
| holding register | 2-3 | dwell_time | float32 ms, high word first |
| holding register | 4-5 | units_seen | uint32, high word first |
| holding register | 6-7 | unit_at_checkpoint | uint32, low word first: index + 1, 0 = none |
| holding register | 10 | decision | uint16, written by the agent |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from edge.adapters.plc_codec import RegisterMapError, RegisterSpec, Table
from edge.adapters.plc_config import TRIGGER, plc_options
from edge.sim.units import Fault

if TYPE_CHECKING:
    from protocols.config.plc import InterlockConfig, PlcConfig, RegisterConfig

StateSignal = Literal[
    "photo_eye", "line_running", "agent_alive", "units_seen", "unit_at_checkpoint"
]
OutputRole = Literal["pass", "reject", "stop", "heartbeat", "decision"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessSignal:
    """A process value: nominal with Gaussian noise, or `excursion` while the unit at the
    checkpoint carries `fault`."""

    nominal: float
    noise: float
    excursion: float | None = None
    fault: Fault | None = None


Signal = StateSignal | ProcessSignal


@dataclass(frozen=True, slots=True, kw_only=True)
class SimPlcLayout:
    """The simulated PLC's address space."""

    registers: tuple[RegisterSpec, ...]
    signals: Mapping[str, Signal] = field(default_factory=dict)
    """Register name -> what the PLC puts there."""
    outputs: Mapping[str, OutputRole] = field(default_factory=dict)
    """Register name -> the role of the output the agent writes there."""

    def __post_init__(self) -> None:
        names = {s.name for s in self.registers}
        for name in [*self.signals, *self.outputs]:
            if name not in names:
                raise RegisterMapError(f"sim PLC layout: {name!r} is not in its register map")

    def spec(self, name: str) -> RegisterSpec:
        return next(s for s in self.registers if s.name == name)

    def register_map(self) -> list[RegisterSpec]:
        """The adapter's register map for this layout."""
        return list(self.registers)

    @classmethod
    def default(cls) -> SimPlcLayout:
        """The layout in the module docstring."""

        def coil(name: str, address: int) -> RegisterSpec:
            return RegisterSpec(name=name, table="coil", address=address, data_type="bool")

        def di(name: str, address: int) -> RegisterSpec:
            return RegisterSpec(
                name=name, table="discrete_input", address=address, data_type="bool"
            )

        hr: Table = "holding_register"
        return cls(
            registers=(
                coil("pass", 0),
                coil("reject", 1),
                coil("stop", 2),
                coil("heartbeat", 3),
                di("photo_eye", 0),
                di("line_running", 1),
                di("agent_alive", 2),
                RegisterSpec(
                    name="seal_temp", table=hr, address=0, data_type="int16", scale=0.1, unit="°C"
                ),
                RegisterSpec(
                    name="seal_pressure",
                    table=hr,
                    address=1,
                    data_type="uint16",
                    scale=0.01,
                    unit="bar",
                ),
                RegisterSpec(
                    name="dwell_time", table=hr, address=2, data_type="float32", unit="ms"
                ),
                RegisterSpec(name="units_seen", table=hr, address=4, data_type="uint32"),
                RegisterSpec(
                    name="unit_at_checkpoint",
                    table=hr,
                    address=6,
                    data_type="uint32",
                    word_order="little",
                ),
                RegisterSpec(name="decision", table=hr, address=10, data_type="uint16"),
            ),
            signals={
                "photo_eye": "photo_eye",
                "line_running": "line_running",
                "agent_alive": "agent_alive",
                "seal_temp": ProcessSignal(
                    nominal=180.0, noise=0.4, excursion=192.0, fault=Fault.SEAL_EXCURSION
                ),
                "seal_pressure": ProcessSignal(
                    nominal=4.0, noise=0.03, excursion=2.6, fault=Fault.PRESSURE_EXCURSION
                ),
                "dwell_time": ProcessSignal(nominal=800.0, noise=3.0),
                "units_seen": "units_seen",
                "unit_at_checkpoint": "unit_at_checkpoint",
            },
            outputs={
                "pass": "pass",
                "reject": "reject",
                "stop": "stop",
                "heartbeat": "heartbeat",
                "decision": "decision",
            },
        )

    @classmethod
    def from_config(cls, plc: PlcConfig, interlock: InterlockConfig | None = None) -> SimPlcLayout:
        """Serve the map an agent built from the same config expects: the trigger input is
        the photo-eye (its unit counter for `edge: count`), registers named like counters
        count units, other registers follow the middle of their limits (temperatures rise
        and pressures fall out of them on the line's planned excursions), interlock outputs
        are recorded by role."""
        options = plc_options(plc, interlock)
        signals: dict[str, Signal] = {}
        if options.trigger is not None:
            signals[TRIGGER] = "units_seen" if options.trigger.edge == "count" else "photo_eye"
        for reg in plc.registers:
            signals[reg.name] = _signal_for(reg)
        roles: dict[str, OutputRole] = {
            "pass": "pass",
            "reject": "reject",
            "line_stop": "stop",
            "heartbeat": "heartbeat",
        }
        outputs = {key: roles[key] for key in interlock.outputs()} if interlock else {}
        return cls(registers=options.registers, signals=signals, outputs=outputs)


def _signal_for(reg: RegisterConfig) -> Signal:
    name = reg.name.lower()
    if "count" in name or name == "units_seen":
        return "units_seen"
    if name == "unit_at_checkpoint":
        return "unit_at_checkpoint"
    lo, hi = reg.lo, reg.hi
    if lo is not None and hi is not None:
        nominal, spread = (lo + hi) / 2, hi - lo
    elif lo is not None or hi is not None:
        bound = lo if lo is not None else hi
        assert bound is not None
        nominal = bound * (1.1 if lo is not None else 0.9) or 1.0
        spread = abs(nominal) * 0.2
    else:
        nominal, spread = 100.0, 10.0
    if "temp" in name:
        return ProcessSignal(
            nominal=nominal,
            noise=spread / 25,
            excursion=nominal + spread * 1.2,
            fault=Fault.SEAL_EXCURSION,
        )
    if "press" in name:
        return ProcessSignal(
            nominal=nominal,
            noise=spread / 25,
            excursion=nominal - spread * 1.2,
            fault=Fault.PRESSURE_EXCURSION,
        )
    return ProcessSignal(nominal=nominal, noise=spread / 25)
