"""From a checkpoint's `plc` and `interlock` config to the PLC adapter's register map.

Process values keep their config names; the trigger input and the interlock outputs get
names of their own (`TRIGGER`, `output_name("pass")`) that a register name cannot take,
since config names are identifiers without dots.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from edge.adapters.plc_codec import DataType, RegisterSpec
from edge.adapters.plc_types import PollGroup, TriggerSpec
from protocols.config.plc import InterlockConfig, PlcConfig, PlcInput, PlcOutput

if TYPE_CHECKING:
    from edge.adapters.plc import ModbusPlc

TRIGGER = "trigger.photo_eye"
"""The adapter's name of the trigger input."""

PLC_LINK = "plc"
"""The PLC adapter's link name in status and in `link_down` reasons."""


class PlcMapError(ValueError):
    """A PLC config the adapter cannot serve."""


def output_name(key: str) -> str:
    """The adapter's name of interlock output `key` (`pass`, `reject`, `line_stop`,
    `heartbeat`)."""
    return f"interlock.{key}"


def register_specs(plc: PlcConfig, interlock: InterlockConfig | None) -> list[RegisterSpec]:
    """Every value the agent reads or writes on the PLC."""
    specs = [
        RegisterSpec(
            name=reg.name,
            table=reg.table,
            address=reg.address,
            data_type=reg.type,
            word_order=reg.word_order,
            scale=reg.scale,
            unit=reg.unit,
        )
        for reg in plc.registers
    ]
    if plc.trigger is not None:
        specs.append(_input_spec(plc.trigger))
    if interlock is not None:
        specs.extend(_output_spec(key, out) for key, out in interlock.outputs().items())
    return specs


def poll_groups(plc: PlcConfig) -> list[PollGroup]:
    """Registers polled together: one group per poll period."""
    by_period: dict[int, list[str]] = defaultdict(list)
    for reg in plc.registers:
        by_period[reg.poll_period_ms].append(reg.name)
    return [
        PollGroup(name=f"every {period} ms", period_ms=period, registers=tuple(names))
        for period, names in sorted(by_period.items())
    ]


def trigger_spec(plc: PlcConfig) -> TriggerSpec | None:
    if plc.trigger is None:
        return None
    return TriggerSpec(
        register=TRIGGER, edge=plc.trigger.edge, period_ms=float(plc.trigger.poll_period_ms)
    )


def build_plc(plc: PlcConfig, interlock: InterlockConfig | None) -> ModbusPlc:
    """The adapter for a checkpoint's PLC; not started."""
    from edge.adapters.plc import ModbusPlc

    return ModbusPlc(
        PLC_LINK,
        host=plc.host,
        port=plc.port,
        device_id=plc.unit_id,
        registers=register_specs(plc, interlock),
        poll_groups=poll_groups(plc),
        trigger=trigger_spec(plc),
        timeout_s=plc.timeout_s,
        reconnect_min_s=plc.reconnect_backoff_min_s,
        reconnect_max_s=plc.reconnect_backoff_max_s,
    )


def _input_spec(trigger: PlcInput) -> RegisterSpec:
    if trigger.table in ("coil", "discrete_input"):
        return RegisterSpec(
            name=TRIGGER, table=trigger.table, address=trigger.address, data_type="bool"
        )
    if trigger.bit is None:
        raise PlcMapError(
            f"plc.trigger: a {trigger.table} trigger needs 'bit' (the PLC adapter watches one "
            f"bit for edges), got none at address {trigger.address}"
        )
    return RegisterSpec(
        name=TRIGGER,
        table=trigger.table,
        address=trigger.address,
        data_type="uint16",
        bit=trigger.bit,
    )


def _output_spec(key: str, output: PlcOutput) -> RegisterSpec:
    data_type: DataType = "bool" if output.table == "coil" else "uint16"
    return RegisterSpec(
        name=output_name(key), table=output.table, address=output.address, data_type=data_type
    )
