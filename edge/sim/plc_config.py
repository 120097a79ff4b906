"""The YAML file `tracegate sim plc CONFIG` reads: where to listen and what line to run.

Every key is optional; unknown keys are refused, naming the file and the key:

```yaml
host: 127.0.0.1
port: 5020
watchdog_ms: 2000
epoch_s: 1767225600      # wall-clock line start, shared with `sim scanner`/`sim camera`
plant: ../device-configs/line-1.yaml   # optional: serve this checkpoint's PLC map
checkpoint: sealing                   # (relative to this file; host and port too)
line:
  seed: 1
  rate_per_s: 2.0
  first_arrival_s: 0.5
  photo_eye_pulse_ms: 60
  pitch_jitter: 0.0
  unit_count: 1000
  lot: L24A17
  faults: {17: [seal_excursion], 20: [no_read]}
  fault_rates: {misread: 0.01}
```

Without `plant`, the PLC serves `SimPlcLayout.default()` (edge/sim/plc_layout.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from edge.sim.plc_layout import SimPlcLayout
from edge.sim.units import Fault, LineClock, SimLine

_TOP_KEYS = {"host", "port", "watchdog_ms", "epoch_s", "line", "plant", "checkpoint"}
_LINE_KEYS = {
    "seed",
    "rate_per_s",
    "first_arrival_s",
    "photo_eye_pulse_ms",
    "pitch_jitter",
    "unit_count",
    "lot",
    "faults",
    "fault_rates",
}


class SimConfigError(ValueError):
    """The simulator config file is not what it should be."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SimPlcSettings:
    line: SimLine
    host: str = "127.0.0.1"
    port: int = 5020
    watchdog_ms: float = 2000.0
    epoch_s: float | None = None
    layout: SimPlcLayout = field(default_factory=SimPlcLayout.default)

    def clock(self) -> LineClock:
        """The line clock: from `epoch_s` when given, else from now."""
        return LineClock() if self.epoch_s is None else LineClock.from_epoch(self.epoch_s)


def load_sim_plc_config(path: Path) -> SimPlcSettings:
    """Read and check a simulator config; errors name the file and the key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SimConfigError(f"{path}: cannot read as YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SimConfigError(f"{path}: expected a mapping at the top, got {type(data).__name__}")
    _refuse_unknown(path, "", data, _TOP_KEYS)
    line_data = _mapping(path, "line", data.get("line", {}))
    _refuse_unknown(path, "line.", line_data, _LINE_KEYS)
    layout, plc_host, plc_port = _plant_layout(path, data)
    try:
        line = SimLine(
            **{k: v for k, v in line_data.items() if k not in ("faults", "fault_rates")},
            faults={
                int(index): [Fault(f) for f in faults]
                for index, faults in _mapping(
                    path, "line.faults", line_data.get("faults", {})
                ).items()
            },
            fault_rates={
                Fault(f): float(p)
                for f, p in _mapping(
                    path, "line.fault_rates", line_data.get("fault_rates", {})
                ).items()
            },
        )
        return SimPlcSettings(
            line=line,
            host=str(data.get("host", plc_host)),
            port=int(data.get("port", plc_port)),
            watchdog_ms=float(data.get("watchdog_ms", 2000.0)),
            epoch_s=None if data.get("epoch_s") is None else float(data["epoch_s"]),
            layout=layout,
        )
    except (TypeError, ValueError) as exc:
        raise SimConfigError(f"{path}: {exc}") from exc


def _plant_layout(path: Path, data: dict[str, Any]) -> tuple[SimPlcLayout, str, int]:
    """The layout, host and port of the `checkpoint` of the plant config `plant`, or the
    defaults without `plant`."""
    if data.get("plant") is None:
        if data.get("checkpoint") is not None:
            raise SimConfigError(f"{path} checkpoint: needs `plant`, the line's device config")
        return SimPlcLayout.default(), "127.0.0.1", 5020
    from protocols.config.loader import load_plant_file
    from protocols.config.problems import ConfigError

    plant_path = path.parent / str(data["plant"])
    try:
        plant = load_plant_file(plant_path)
    except ConfigError as exc:
        raise SimConfigError(f"{path} plant: {plant_path} is not a valid config:\n{exc}") from exc
    with_plc = [cp for cp in plant.checkpoints if cp.plc is not None]
    wanted = data.get("checkpoint")
    chosen = [cp for cp in with_plc if cp.id == wanted] if wanted else with_plc
    if len(chosen) != 1:
        ids = ", ".join(cp.id for cp in with_plc) or "none"
        found = f"got {wanted!r}" if wanted else "none given"
        raise SimConfigError(
            f"{path} checkpoint: expected one of the checkpoints with a PLC ({ids}), {found}"
        )
    checkpoint = chosen[0]
    assert checkpoint.plc is not None
    layout = SimPlcLayout.from_config(checkpoint.plc, checkpoint.interlock)
    return layout, checkpoint.plc.host, checkpoint.plc.port


def _mapping(path: Path, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SimConfigError(f"{path} {key}: expected a mapping, got {value!r}")
    return value


def _refuse_unknown(path: Path, prefix: str, data: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise SimConfigError(
            f"{path} {prefix}{unknown[0]}: unknown key (expected one of {', '.join(sorted(known))})"
        )
