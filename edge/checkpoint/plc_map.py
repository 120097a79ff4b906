"""The checkpoint's PLC adapter, from its `plc` and `interlock` config.

The register map is the adapter's own (`edge.adapters.plc_config`): process values keep
their config names, the trigger input is `TRIGGER` and interlock outputs keep their config
keys. The adapter's own heartbeat is left off: the agent beats it through `Interlock`,
verified, and only while it is healthy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

from edge.adapters.plc_codec import RegisterSpec
from edge.adapters.plc_config import TRIGGER, plc_options
from protocols.config.plc import InterlockConfig, PlcConfig, PlcInput

if TYPE_CHECKING:
    from edge.adapters.plc import ModbusPlc

__all__ = ["PLC_LINK", "TRIGGER", "build_plc", "output_name"]

PLC_LINK = "plc"
"""The PLC adapter's link name in status and in `link_down` reasons."""


def output_name(key: str) -> str:
    """The adapter's name of interlock output `key` (`pass`, `reject`, `line_stop`,
    `heartbeat`)."""
    return key


def build_plc(
    plc: PlcConfig,
    interlock: InterlockConfig | None,
    *,
    inputs: Mapping[str, PlcInput] | None = None,
) -> ModbusPlc:
    """The adapter for a checkpoint's PLC; not started. `inputs` are signals a role reads
    itself (packing's close-case input), by their name in the map."""
    from edge.adapters.plc import ModbusPlc

    options = dataclasses.replace(plc_options(plc, interlock), heartbeat=None)
    if inputs:
        options = dataclasses.replace(
            options,
            registers=(*options.registers, *(_input(n, s) for n, s in inputs.items())),
        )
    return ModbusPlc(
        PLC_LINK,
        host=options.host,
        port=options.port,
        device_id=options.device_id,
        registers=options.registers,
        poll_groups=options.poll_groups,
        trigger=options.trigger,
        timeout_s=options.timeout_s,
        reconnect_min_s=options.reconnect_min_s,
        reconnect_max_s=options.reconnect_max_s,
    )


def _input(name: str, signal: PlcInput) -> RegisterSpec:
    if signal.table in ("coil", "discrete_input"):
        return RegisterSpec(name=name, table=signal.table, address=signal.address, data_type="bool")
    return RegisterSpec(
        name=name, table=signal.table, address=signal.address, data_type="uint16", bit=signal.bit
    )
