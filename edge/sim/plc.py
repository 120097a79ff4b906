"""A simulated PLC: a real pymodbus TCP server running a conveyor model.

Units come from a `SimLine` (the schedule the simulated scanner and camera follow too).
Inputs are computed at the instant they are read: the photo-eye discrete input is on
while a unit is in front of it, the process registers follow the line's process model
(noise and planned excursions). Every output the agent writes (pass, reject, stop,
heartbeat, decision) is recorded with its time and the unit then at the checkpoint, so
a test can ask `sim.unit_history(17).outcome`. Writing the stop coil stops the line
clock (the conveyor) until it is cleared.

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

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from edge.adapters.plc_codec import RegisterSpec, encode
from edge.sim.units import LineClock, SimLine, SimUnit

_COIL_FC = frozenset({1, 5, 15})
_WRITE_FC = frozenset({5, 6, 15, 16})


@dataclass(frozen=True, slots=True, kw_only=True)
class SimPlcLayout:
    """Where the simulated PLC keeps each signal (zero-based Modbus addresses)."""

    pass_coil: int = 0
    reject_coil: int = 1
    stop_coil: int = 2
    heartbeat_coil: int = 3
    photo_eye_input: int = 0
    line_running_input: int = 1
    agent_alive_input: int = 2
    seal_temp_register: int = 0
    pressure_register: int = 1
    dwell_register: int = 2
    units_seen_register: int = 4
    unit_at_checkpoint_register: int = 6
    decision_register: int = 10
    coils: int = 16
    inputs: int = 16
    holding_registers: int = 32

    def register_map(self) -> list[RegisterSpec]:
        """The adapter's register map for this layout."""
        return [
            RegisterSpec(name="pass", table="coil", address=self.pass_coil, data_type="bool"),
            RegisterSpec(name="reject", table="coil", address=self.reject_coil, data_type="bool"),
            RegisterSpec(name="stop", table="coil", address=self.stop_coil, data_type="bool"),
            RegisterSpec(
                name="heartbeat", table="coil", address=self.heartbeat_coil, data_type="bool"
            ),
            RegisterSpec(
                name="photo_eye",
                table="discrete_input",
                address=self.photo_eye_input,
                data_type="bool",
            ),
            RegisterSpec(
                name="line_running",
                table="discrete_input",
                address=self.line_running_input,
                data_type="bool",
            ),
            RegisterSpec(
                name="agent_alive",
                table="discrete_input",
                address=self.agent_alive_input,
                data_type="bool",
            ),
            RegisterSpec(
                name="seal_temp",
                table="holding_register",
                address=self.seal_temp_register,
                data_type="int16",
                scale=0.1,
                unit="°C",
            ),
            RegisterSpec(
                name="seal_pressure",
                table="holding_register",
                address=self.pressure_register,
                data_type="uint16",
                scale=0.01,
                unit="bar",
            ),
            RegisterSpec(
                name="dwell_time",
                table="holding_register",
                address=self.dwell_register,
                data_type="float32",
                unit="ms",
            ),
            RegisterSpec(
                name="units_seen",
                table="holding_register",
                address=self.units_seen_register,
                data_type="uint32",
            ),
            RegisterSpec(
                name="unit_at_checkpoint",
                table="holding_register",
                address=self.unit_at_checkpoint_register,
                data_type="uint32",
                word_order="little",
            ),
            RegisterSpec(
                name="decision",
                table="holding_register",
                address=self.decision_register,
                data_type="uint16",
            ),
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputWrite:
    """One write the agent made to the simulated PLC."""

    name: str
    """`pass`, `reject`, `stop`, `heartbeat`, `decision`, or `coil N` / `register N`."""
    value: bool | int
    monotonic_s: float
    line_s: float
    """Line time of the write (seconds since the line started, stops excluded)."""
    unit_index: int | None
    """The unit at the checkpoint when the write arrived (None before the first unit)."""


Outcome = Literal["pass", "reject", "both", "none"]


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitHistory:
    """What the agent did while a unit was at the checkpoint."""

    unit: SimUnit
    writes: tuple[OutputWrite, ...]

    @property
    def outcome(self) -> Outcome:
        """`pass` / `reject` if only that output was set for the unit, `both` if both were
        (a defect), `none` if neither (missed unit)."""
        passed = any(w.name == "pass" and w.value for w in self.writes)
        rejected = any(w.name == "reject" and w.value for w in self.writes)
        if passed and rejected:
            return "both"
        return "pass" if passed else "reject" if rejected else "none"

    def first(self, name: str) -> OutputWrite | None:
        """The first write of output `name` for the unit, if any."""
        return next((w for w in self.writes if w.name == name), None)


class SimPlc:
    """The simulated PLC, served over Modbus TCP from this process's event loop."""

    def __init__(
        self,
        *,
        line: SimLine,
        clock: LineClock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        layout: SimPlcLayout | None = None,
        watchdog_ms: float = 2000.0,
        on_write: Callable[[OutputWrite], None] | None = None,
    ) -> None:
        self.line = line
        self.clock = clock or LineClock()
        self.host = host
        self._port = port
        self.layout = layout or SimPlcLayout()
        self.watchdog_s = watchdog_ms / 1000
        self.writes: list[OutputWrite] = []
        """Every write the agent made, in arrival order."""
        self._on_write = on_write
        self._specs = {s.name: s for s in self.layout.register_map()}
        self._server: ModbusTcpServer | None = None
        self._last_heartbeat: tuple[bool, float] | None = None
        self._device = self._build_device()

    # lifecycle

    @property
    def port(self) -> int:
        """The TCP port served (known after `start` when created with port 0)."""
        return self._port

    async def start(self) -> None:
        """Listen for Modbus TCP clients; the datastore survives `stop`/`start`."""
        server = ModbusTcpServer(self._device, address=(self.host, self._port))
        await server.serve_forever(background=True)
        if self._port == 0:
            listener = server.transport
            self._port = int(listener.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        self._server = server

    async def stop(self) -> None:
        """Close the listener and every client connection (a PLC power cycle, as the
        agent sees it)."""
        server, self._server = self._server, None
        if server is not None:
            # pymodbus 3.16 leaves shutdown() unannotated
            await server.shutdown()  # type: ignore[no-untyped-call]

    async def restart(self, *, down_s: float) -> None:
        """Stop, stay down for `down_s`, start again on the same port."""
        await self.stop()
        await asyncio.sleep(down_s)
        await self.start()

    async def __aenter__(self) -> SimPlc:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # what happened

    def unit_history(self, index: int) -> UnitHistory:
        """The writes made while unit `index` was at the checkpoint."""
        unit = self.line.unit(index)
        return UnitHistory(unit=unit, writes=tuple(w for w in self.writes if w.unit_index == index))

    def arrival_monotonic_s(self, index: int) -> float:
        """When unit `index` reaches (or reached) the photo-eye, on `time.monotonic()`'s clock
        (exact while the line has not been stopped since)."""
        return self.clock.to_monotonic(self.line.arrival_s(index))

    # the model

    def _build_device(self) -> SimDevice:
        lay = self.layout
        return SimDevice(
            id=0,
            simdata=(
                [SimData(0, count=lay.coils, values=False, datatype=DataType.BITS)],
                [SimData(0, count=lay.inputs, values=False, datatype=DataType.BITS)],
                [SimData(0, count=lay.holding_registers, values=0, datatype=DataType.REGISTERS)],
                [SimData(0, count=1, values=0, datatype=DataType.REGISTERS)],
            ),
            action=self._action,
        )

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        now = time.monotonic()
        if set_values is not None and function_code in _WRITE_FC:
            self._record(function_code, address, list(set_values), now)
        elif function_code == 2:
            self._refresh_inputs(start_address, registers, now)
        elif function_code == 3:
            self._refresh_registers(start_address, registers, now)
        return None

    def _refresh_inputs(self, start_register: int, registers: list[int], now: float) -> None:
        t = self.clock.at(now)
        lay = self.layout
        alive = self._last_heartbeat is not None and now - self._last_heartbeat[1] < self.watchdog_s
        for address, value in (
            (lay.photo_eye_input, self.line.photo_eye_blocked(t)),
            (lay.line_running_input, not self.clock.paused),
            (lay.agent_alive_input, alive),
        ):
            i, mask = address // 16 - start_register, 1 << (address % 16)
            registers[i] = registers[i] | mask if value else registers[i] & ~mask

    def _refresh_registers(self, start_address: int, registers: list[int], now: float) -> None:
        t = self.clock.at(now)
        values = self.line.process_values(t)
        unit = self.line.unit_at(t)
        seen = 0 if unit is None else self.line.triggers_through(unit.index)
        for name, value in (
            ("seal_temp", values.seal_temp_c),
            ("seal_pressure", values.pressure_bar),
            ("dwell_time", values.dwell_ms),
            ("units_seen", seen),
            ("unit_at_checkpoint", 0 if unit is None else unit.index + 1),
        ):
            spec = self._specs[name]
            words = encode(spec, value)
            start = spec.address - start_address
            registers[start : start + len(words)] = words

    def _record(self, function_code: int, address: int, values: list[int], now: float) -> None:
        coil = function_code in _COIL_FC
        names = self._output_names(coil=coil)
        t = self.clock.at(now)
        unit = self.line.unit_at(t)
        for offset, raw in enumerate(values):
            at = address + offset
            name = names.get(at, f"{'coil' if coil else 'register'} {at}")
            value: bool | int = bool(raw) if coil else int(raw)
            write = OutputWrite(
                name=name,
                value=value,
                monotonic_s=now,
                line_s=t,
                unit_index=None if unit is None else unit.index,
            )
            self.writes.append(write)
            self._apply(write)
            if self._on_write is not None:
                self._on_write(write)

    def _apply(self, write: OutputWrite) -> None:
        if write.name == "stop":
            if write.value:
                self.clock.pause()
            else:
                self.clock.resume()
        elif write.name == "heartbeat":
            level = bool(write.value)
            if self._last_heartbeat is None or self._last_heartbeat[0] != level:
                self._last_heartbeat = (level, write.monotonic_s)

    def _output_names(self, *, coil: bool) -> dict[int, str]:
        lay = self.layout
        if coil:
            return {
                lay.pass_coil: "pass",
                lay.reject_coil: "reject",
                lay.stop_coil: "stop",
                lay.heartbeat_coil: "heartbeat",
            }
        return {lay.decision_register: "decision"}


def run_sim_plc(config: Path, *, port: int | None = None) -> None:
    """`tracegate sim plc CONFIG`: serve until interrupted, printing each agent write."""
    from edge.sim.plc_config import load_sim_plc_config

    settings = load_sim_plc_config(config)

    def show(write: OutputWrite) -> None:
        unit = "-" if write.unit_index is None else str(write.unit_index)
        print(f"{write.line_s:10.3f}  unit {unit:>6}  {write.name}={write.value}", flush=True)

    async def serve() -> None:
        sim = SimPlc(
            line=settings.line,
            clock=settings.clock(),
            host=settings.host,
            port=settings.port if port is None else port,
            layout=settings.layout,
            on_write=show,
        )
        await sim.start()
        print(f"sim plc: Modbus TCP on {sim.host}:{sim.port}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await sim.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
