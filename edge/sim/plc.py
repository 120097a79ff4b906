"""A simulated PLC: a real pymodbus TCP server running a conveyor model.

Units come from a `SimLine` (the schedule the simulated scanner and camera follow too).
Inputs are computed at the instant they are read: the photo-eye is on while a unit is in
front of it, process values follow their `ProcessSignal` (noise, and the excursions the
line plans for some units). Every output the agent writes (pass, reject, stop, heartbeat,
decision) is recorded with its time and the unit then at the checkpoint, so a test can
ask `sim.unit_history(17).outcome`. Writing the stop output stops the line clock (the
conveyor) until it is cleared. What sits where is a `SimPlcLayout` (edge/sim/plc_layout.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from edge.adapters.plc_codec import (
    BIT_TABLES,
    INT_RANGE,
    RegisterMapError,
    RegisterSpec,
    Table,
    encode,
)
from edge.sim.plc_layout import ProcessSignal, Signal, SimPlcLayout
from edge.sim.units import LineClock, SimLine, SimUnit

_TABLES: tuple[Table, ...] = ("coil", "discrete_input", "holding_register", "input_register")
_FC_TABLE: dict[int, Table] = {
    1: "coil",
    5: "coil",
    15: "coil",
    2: "discrete_input",
    3: "holding_register",
    6: "holding_register",
    16: "holding_register",
    4: "input_register",
}
_WRITE_FC = frozenset({5, 6, 15, 16})


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
        (a defect), `none` if neither. The line passes only a unit that got the pass output
        and diverts every other one, so `none` is diverted too: a unit the agent missed, or a
        held unit whose reject came too late to be sent."""
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
        keep_writes: bool = True,
        counter_offset: int = 0,
    ) -> None:
        """`keep_writes=False` keeps no history (`writes`, `unit_history`): a long run that
        follows the writes through `on_write` stays at a constant size. `counter_offset`: what
        the unit counter (`units_seen`) held before the line started; it wraps to 0 past its
        type's range, as a PLC's unsigned counter does."""
        self.counter_offset = counter_offset
        self.line = line
        self.clock = clock or LineClock()
        self.host = host
        self._port = port
        self.layout = layout or SimPlcLayout.default()
        self.watchdog_s = watchdog_ms / 1000
        self.writes: list[OutputWrite] = []
        """Every write the agent made, in arrival order."""
        self.requests = 0
        """Modbus requests served (reads and writes)."""
        self._keep_writes = keep_writes
        self._by_unit: dict[int | None, list[OutputWrite]] = {}
        self._on_write = on_write
        self._signals = {
            table: [
                (self.layout.spec(n), sig)
                for n, sig in self.layout.signals.items()
                if self.layout.spec(n).table == table
            ]
            for table in _TABLES
        }
        self._outputs: dict[tuple[Table, int], str] = {
            (self.layout.spec(n).table, self.layout.spec(n).address): role
            for n, role in self.layout.outputs.items()
        }
        self._server: ModbusTcpServer | None = None
        self._last_heartbeat: tuple[bool, float] | None = None
        self._forced: dict[int, bool] = {}
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

    def force_output(self, role: str, value: bool) -> None:
        """Force the coil of output `role` to `value` whatever the agent writes (as a PLC
        programmer forces I/O): writes are acknowledged but do not take, so read-back
        verification fails."""
        self._forced[self._coil_of(role)] = value

    def release_output(self, role: str) -> None:
        """Undo `force_output`."""
        self._forced.pop(self._coil_of(role), None)

    def _coil_of(self, role: str) -> int:
        for (table, address), output in self._outputs.items():
            if output == role and table == "coil":
                return address
        roles = sorted(r for (t, _), r in self._outputs.items() if t == "coil")
        raise KeyError(f"output {role!r}: no such coil (coil outputs: {', '.join(roles)})")

    # what happened

    def unit_history(self, index: int) -> UnitHistory:
        """The writes made while unit `index` was at the checkpoint."""
        if not self._keep_writes:
            raise RuntimeError("unit_history: this simulated PLC keeps no history of writes")
        unit = self.line.unit(index)
        return UnitHistory(unit=unit, writes=tuple(self._by_unit.get(index, ())))

    def arrival_monotonic_s(self, index: int) -> float:
        """When unit `index` reaches (or reached) the photo-eye, on `time.monotonic()`'s clock
        (exact while the line has not been stopped since)."""
        return self.clock.to_monotonic(self.line.arrival_s(index))

    # the model

    def _build_device(self) -> SimDevice:
        def size(table: Table, minimum: int) -> int:
            ends = [s.address + s.words for s in self.layout.registers if s.table == table]
            return max([minimum, *ends])

        def bits(table: Table) -> list[SimData]:
            return [SimData(0, count=size(table, 16), values=False, datatype=DataType.BITS)]

        def words(table: Table) -> list[SimData]:
            return [SimData(0, count=size(table, 1), values=0, datatype=DataType.REGISTERS)]

        return SimDevice(
            id=0,
            simdata=(
                bits("coil"),
                bits("discrete_input"),
                words("holding_register"),
                words("input_register"),
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
        # pymodbus reads a written value back for the write's answer: count the write once
        self.requests += function_code not in _WRITE_FC or set_values is not None
        table = _FC_TABLE.get(function_code)
        if table is None:
            return None
        if set_values is not None and function_code in _WRITE_FC:
            self._record(table, address, list(set_values), now)
            if table == "coil":
                for offset in range(len(set_values)):
                    if (forced := self._forced.get(address + offset)) is not None:
                        set_values[offset] = forced
        elif set_values is None and self._signals[table]:
            self._refresh(table, start_address, registers, now)
        return None

    def _refresh(self, table: Table, start: int, registers: list[int], now: float) -> None:
        """Put every signal of `table` into the block `registers` (which starts at `start`,
        in registers of 16 bits for the bit tables)."""
        t = self.clock.at(now)
        for spec, signal in self._signals[table]:
            value = self._signal_value(spec.name, signal, t, now)
            if table in BIT_TABLES:
                _put_bit(registers, spec.address // 16 - start, spec.address % 16, bool(value))
            elif spec.bit is not None:
                _put_bit(registers, spec.address - start, spec.bit, bool(value))
            else:
                if signal == "units_seen" and spec.data_type in ("uint16", "uint32"):
                    # A PLC's unsigned counter wraps to 0 rather than saturating.
                    value = int(value) % (1 << (16 * spec.words))
                words = _encode_clamped(spec, value)
                registers[spec.address - start : spec.address - start + len(words)] = words

    def _signal_value(self, name: str, signal: Signal, t: float, now: float) -> float:
        if isinstance(signal, ProcessSignal):
            if signal.fault is not None and signal.fault in self.line.faults_at(t):
                assert signal.excursion is not None
                return signal.excursion
            return signal.nominal + signal.noise * self.line.noise(name, t)
        if signal == "photo_eye":
            return self.line.photo_eye_blocked(t)
        if signal == "line_running":
            return not self.clock.paused
        if signal == "agent_alive":
            beat = self._last_heartbeat
            return beat is not None and now - beat[1] < self.watchdog_s
        unit = self.line.unit_at(t)
        if signal == "units_seen":
            # Every unit that reached the photo-eye, however short its pulse: the PLC counts
            # the rising edges it sees scanning its inputs every millisecond.
            seen = 0 if unit is None else self.line.triggers_through(unit.index)
            return self.counter_offset + seen
        return 0 if unit is None else unit.index + 1

    def _record(self, table: Table, address: int, values: list[int], now: float) -> None:
        t = self.clock.at(now)
        unit = self.line.unit_at(t)
        coil = table == "coil"
        for offset, raw in enumerate(values):
            at = address + offset
            name = self._outputs.get((table, at), f"{table} {at}")
            write = OutputWrite(
                name=name,
                value=bool(raw) if coil else int(raw),
                monotonic_s=now,
                line_s=t,
                unit_index=None if unit is None else unit.index,
            )
            if self._keep_writes:
                self.writes.append(write)
                self._by_unit.setdefault(write.unit_index, []).append(write)
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


def _put_bit(registers: list[int], index: int, bit: int, value: bool) -> None:
    mask = 1 << bit
    registers[index] = registers[index] | mask if value else registers[index] & ~mask


def _encode_clamped(spec: RegisterSpec, value: float) -> list[int]:
    """The words for `value`, saturated into the register's range as a PLC's conversion
    would (a pressure below 0 bar in a uint16 reads 0)."""
    try:
        return encode(spec, value)
    except RegisterMapError:
        if spec.data_type not in INT_RANGE or math.isnan(value):
            return encode(spec, 0)
        low, high = INT_RANGE[spec.data_type]
        return encode(spec, min(max(round(value / spec.scale), low), high) * spec.scale)


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
