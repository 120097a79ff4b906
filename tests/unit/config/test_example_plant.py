"""The example plant under device-configs/ loads, and says what the line needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocols.config import ROLES, PlantConfig, config_hash, load_plant_file, load_plant_text

DEVICE_CONFIGS = Path(__file__).resolve().parents[3] / "device-configs"
CONFIG_FILES = sorted(p for p in DEVICE_CONFIGS.rglob("*") if p.suffix in (".yaml", ".yml"))


def test_there_are_example_configs() -> None:
    assert [p.name for p in CONFIG_FILES] == ["line-1.yaml"]


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.name)
def test_every_device_config_loads(path: Path) -> None:
    plant = load_plant_file(path)
    assert isinstance(plant, PlantConfig)


@pytest.fixture(scope="module")
def line1() -> PlantConfig:
    return load_plant_file(DEVICE_CONFIGS / "line-1.yaml")


def test_line1_has_one_checkpoint_of_each_role(line1: PlantConfig) -> None:
    assert sorted(cp.role for cp in line1.checkpoints) == sorted(ROLES)
    assert [cp.id for cp in line1.checkpoints] == [
        "goods-receipt",
        "assembly",
        "sealing",
        "final-inspection",
        "packing",
        "shipping",
        "returns",
    ]


def test_sealing_process_window(line1: PlantConfig) -> None:
    plc = line1.checkpoint("sealing").plc
    assert plc is not None
    limits = {r.name: (r.lo, r.hi, r.unit) for r in plc.registers if r.lo is not None}
    assert limits == {
        "seal_temp": (175.0, 185.0, "°C"),
        "seal_pressure": (4.5, 5.5, "bar"),
        "dwell_time": (900.0, 1100.0, "ms"),
    }
    assert plc.register("seal_temp").scale == 0.1


def test_simulated_peers_are_on_localhost_with_distinct_ports(line1: PlantConfig) -> None:
    plcs = [cp.plc for cp in line1.checkpoints if cp.plc is not None]
    assert {p.host for p in plcs} == {"127.0.0.1"}
    assert len({p.port for p in plcs}) == len(plcs)
    ports = [s.port for cp in line1.checkpoints for s in cp.scanners]
    assert all(p.startswith("socket://127.0.0.1:") for p in ports)
    assert len(set(ports)) == len(ports)


def test_route_and_roles_specifics(line1: PlantConfig) -> None:
    assert line1.checkpoint("final-inspection").predecessors == ("sealing",)
    camera = line1.checkpoint("final-inspection").camera
    assert camera is not None and camera.trigger == "on_trigger"
    packing = line1.checkpoint("packing").packing
    assert packing is not None and packing.sscc_source == "generated"
    assert line1.site.gs1_company_prefix == "5391234"
    returns = line1.checkpoint("returns").scanners[0]
    assert returns.terminator == b"\x04"
    assert line1.mqtt_for("sealing").port == 1883


def test_unknown_checkpoint_names_the_known_ones(line1: PlantConfig) -> None:
    with pytest.raises(KeyError) as info:
        line1.checkpoint("sealer")
    assert info.value.args[0] == (
        "no checkpoint 'sealer' in line 'line-1' (checkpoints: goods-receipt, assembly,"
        " sealing, final-inspection, packing, shipping, returns)"
    )


def test_config_hash_ignores_comments_order_and_defaults(minimal: str) -> None:
    plant = load_plant_text(minimal, source="a.yaml")
    reordered = (
        "# same content, other order\n"
        + minimal.split("checkpoints:\n")[1].join(["checkpoints:\n", ""])
        + minimal.split("checkpoints:\n")[0]
    )
    explicit = minimal.replace("    state_path:", "    read_window_ms: 150\n    state_path:")
    assert config_hash(load_plant_text(reordered, source="b.yaml")) == config_hash(plant)
    assert config_hash(load_plant_text(explicit, source="c.yaml")) == config_hash(plant)
    assert len(config_hash(plant)) == 64


def test_config_hash_changes_with_content(minimal: str) -> None:
    changed = minimal.replace("hi: 185", "hi: 186")
    a = config_hash(load_plant_text(minimal, source="a.yaml"))
    assert config_hash(load_plant_text(changed, source="a.yaml")) != a
