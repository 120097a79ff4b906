"""From the device config's PLC section to the adapter's options.

The config (`protocols.config.plc`) says what the plant has; the adapter takes plain
options. Registers sharing a poll period become one poll group; the trigger input is
named `trigger`; interlock outputs keep their config keys (`pass`, `reject`,
`line_stop`, `heartbeat`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from edge.adapters.plc_codec import DataType, RegisterSpec
from edge.adapters.plc_types import HeartbeatSpec, PollGroup, TriggerSpec

if TYPE_CHECKING:
    from protocols.config.plc import InterlockConfig, PlcConfig, PlcOutput, PlcTrigger

TRIGGER = "trigger"
"""Name of the trigger input in the register map built from a config."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlcOptions:
    """The keyword options of `ModbusPlc` that a config determines."""

    host: str
    port: int
    device_id: int
    timeout_s: float
    reconnect_min_s: float
    reconnect_max_s: float
    registers: tuple[RegisterSpec, ...]
    poll_groups: tuple[PollGroup, ...]
    trigger: TriggerSpec | None
    heartbeat: HeartbeatSpec | None


def plc_options(plc: PlcConfig, interlock: InterlockConfig | None = None) -> PlcOptions:
    """The adapter options for `plc` and the outputs of `interlock`."""
    specs = [
        RegisterSpec(
            name=r.name,
            table=r.table,
            address=r.address,
            data_type=r.type,
            word_order=r.word_order,
            scale=r.scale,
            unit=r.unit,
        )
        for r in plc.registers
    ]
    periods: dict[int, list[str]] = {}
    for r in plc.registers:
        periods.setdefault(r.poll_period_ms, []).append(r.name)
    groups = tuple(
        PollGroup(name=f"every {period} ms", period_ms=float(period), registers=tuple(names))
        for period, names in sorted(periods.items())
    )
    trigger = None
    if plc.trigger is not None:
        specs.append(_trigger_spec(plc.trigger))
        trigger = TriggerSpec(
            register=TRIGGER, edge=plc.trigger.edge, period_ms=float(plc.trigger.poll_period_ms)
        )
    heartbeat = None
    if interlock is not None:
        specs.extend(_output_spec(key, out) for key, out in interlock.outputs().items())
        if interlock.heartbeat is not None:
            heartbeat = HeartbeatSpec(
                register="heartbeat", period_ms=float(interlock.heartbeat_period_ms)
            )
    return PlcOptions(
        host=plc.host,
        port=plc.port,
        device_id=plc.unit_id,
        timeout_s=plc.timeout_s,
        reconnect_min_s=plc.reconnect_backoff_min_s,
        reconnect_max_s=plc.reconnect_backoff_max_s,
        registers=tuple(specs),
        poll_groups=groups,
        trigger=trigger,
        heartbeat=heartbeat,
    )


def _trigger_spec(trigger: PlcTrigger) -> RegisterSpec:
    if trigger.edge == "count":
        # The config allows a counter only on a register, with a uint16 or uint32 type.
        assert trigger.table in ("holding_register", "input_register") and trigger.type
        return RegisterSpec(
            name=TRIGGER,
            table=trigger.table,
            address=trigger.address,
            data_type=trigger.type,
            word_order=trigger.word_order,
        )
    if trigger.table in ("coil", "discrete_input"):
        return RegisterSpec(
            name=TRIGGER, table=trigger.table, address=trigger.address, data_type="bool"
        )
    return RegisterSpec(
        name=TRIGGER,
        table=trigger.table,
        address=trigger.address,
        data_type="uint16",
        bit=trigger.bit,
    )


def _output_spec(key: str, out: PlcOutput) -> RegisterSpec:
    data_type: DataType = "bool" if out.table == "coil" else "uint16"
    return RegisterSpec(name=key, table=out.table, address=out.address, data_type=data_type)
