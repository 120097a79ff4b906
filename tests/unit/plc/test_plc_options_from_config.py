"""The adapter's options and the simulator's layout from the example plant's checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.adapters.plc_codec import RegisterSpec
from edge.adapters.plc_config import plc_options
from edge.adapters.plc_types import HeartbeatSpec, PollGroup, TriggerSpec
from edge.sim.plc_config import SimConfigError, load_sim_plc_config
from edge.sim.plc_layout import ProcessSignal, SimPlcLayout
from edge.sim.units import Fault
from protocols.config.loader import load_plant_file
from protocols.config.schema import Checkpoint, PlantConfig

LINE_1 = Path(__file__).parents[3] / "device-configs" / "line-1.yaml"


@pytest.fixture(scope="module")
def plant() -> PlantConfig:
    return load_plant_file(LINE_1)


def checkpoint(plant: PlantConfig, cid: str) -> Checkpoint:
    return next(cp for cp in plant.checkpoints if cp.id == cid)


def test_sealing_options(plant: PlantConfig) -> None:
    cp = checkpoint(plant, "sealing")
    assert cp.plc is not None
    options = plc_options(cp.plc, cp.interlock)
    assert (options.host, options.port, options.device_id, options.timeout_s) == (
        "127.0.0.1",
        15023,
        1,
        0.1,
    )
    specs = {s.name: s for s in options.registers}
    assert specs["seal_temp"] == RegisterSpec(
        name="seal_temp",
        table="input_register",
        address=0,
        data_type="int16",
        scale=0.1,
        unit="°C",
    )
    assert specs["cycle_count"].word_order == "little"
    assert specs["trigger"] == RegisterSpec(
        name="trigger", table="discrete_input", address=0, data_type="bool"
    )
    assert specs["line_stop"] == RegisterSpec(
        name="line_stop", table="coil", address=2, data_type="bool"
    )
    assert options.poll_groups == (
        PollGroup(
            name="every 100 ms",
            period_ms=100.0,
            registers=("seal_temp", "seal_pressure", "dwell_time"),
        ),
        PollGroup(name="every 1000 ms", period_ms=1000.0, registers=("cycle_count",)),
    )
    assert options.trigger == TriggerSpec(register="trigger", edge="rising", period_ms=5.0)
    assert options.heartbeat == HeartbeatSpec(register="heartbeat", period_ms=500.0)


def test_sim_layout_from_sealing_puts_the_process_inside_its_limits(plant: PlantConfig) -> None:
    cp = checkpoint(plant, "sealing")
    assert cp.plc is not None
    layout = SimPlcLayout.from_config(cp.plc, cp.interlock)
    assert layout.signals["trigger"] == "photo_eye"
    assert layout.signals["cycle_count"] == "units_seen"
    assert layout.signals["seal_temp"] == ProcessSignal(
        nominal=180.0, noise=0.4, excursion=192.0, fault=Fault.SEAL_EXCURSION
    )
    pressure = layout.signals["seal_pressure"]
    assert isinstance(pressure, ProcessSignal)
    assert pressure.nominal == pytest.approx(5.0)
    assert pressure.excursion is not None and pressure.excursion < 4.5
    assert dict(layout.outputs) == {
        "pass": "pass",
        "reject": "reject",
        "line_stop": "stop",
        "heartbeat": "heartbeat",
    }


def test_sim_yaml_can_serve_a_checkpoint_of_the_plant(tmp_path: Path) -> None:
    config = tmp_path / "sim.yaml"
    config.write_text(f"plant: {LINE_1}\ncheckpoint: assembly\nline: {{seed: 4}}\n")
    settings = load_sim_plc_config(config)
    assert (settings.host, settings.port) == ("127.0.0.1", 15022)
    assert {s.name for s in settings.layout.registers} >= {"screw_torque", "press_force"}
    assert settings.line.seed == 4


def test_sim_yaml_names_the_checkpoints_with_a_plc_when_the_choice_is_wrong(
    tmp_path: Path, plant: PlantConfig
) -> None:
    config = tmp_path / "sim.yaml"
    config.write_text(f"plant: {LINE_1}\ncheckpoint: goods-receipt\n")
    with pytest.raises(SimConfigError) as info:
        load_sim_plc_config(config)
    with_plc = ", ".join(cp.id for cp in plant.checkpoints if cp.plc is not None)
    assert with_plc.startswith("assembly, sealing")
    assert str(info.value) == (
        f"{config} checkpoint: expected one of the checkpoints with a PLC ({with_plc}), "
        "got 'goods-receipt'"
    )


def test_sim_yaml_refuses_unknown_keys_naming_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "sim.yaml"
    config.write_text("line:\n  seed: 1\n  speed: 3\n")
    with pytest.raises(SimConfigError) as info:
        load_sim_plc_config(config)
    assert str(info.value) == (
        f"{config} line.speed: unknown key (expected one of fault_rates, faults, "
        "first_arrival_s, lot, photo_eye_pulse_ms, pitch_jitter, rate_per_s, seed, unit_count)"
    )


def test_sim_yaml_faults_by_unit_and_rate(tmp_path: Path) -> None:
    config = tmp_path / "sim.yaml"
    config.write_text(
        "line:\n  faults: {17: [seal_excursion, no_read]}\n  fault_rates: {misread: 1.0}\n"
    )
    line = load_sim_plc_config(config).line
    assert line.unit(17).faults == {Fault.SEAL_EXCURSION, Fault.NO_READ, Fault.MISREAD}
    assert line.unit(3).faults == {Fault.MISREAD}


def test_sim_yaml_unknown_fault_is_named(tmp_path: Path) -> None:
    config = tmp_path / "sim.yaml"
    config.write_text("line:\n  faults: {1: [melted]}\n")
    with pytest.raises(SimConfigError) as info:
        load_sim_plc_config(config)
    assert str(info.value) == f"{config}: 'melted' is not a valid Fault"
