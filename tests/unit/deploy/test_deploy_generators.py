"""`tracegate deploy`: the broker's device list and ACL, and the edge hosts' configs,
generated from plant files."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tracegate.deploy.acl
from protocols.config import ConfigError, load_plant_file, load_plant_text
from tracegate.cli import app
from tracegate.deploy import (
    BrokerSettings,
    DeployError,
    collect_devices,
    render_acl,
    render_edge_config,
)

ROOT = Path(__file__).resolve().parents[3]
LINE_1 = ROOT / "device-configs" / "line-1.yaml"

LINE = """\
site: {{id: plant-x, name: Plant X, timezone: UTC}}
line: {{id: {line}, name: Line}}
mqtt:
  broker_url: mqtt://127.0.0.1:1883
  topic_prefix: {prefix}
checkpoints:
  - id: assembly
    name: Assembly
    role: assembly
    device_id: {first}
    scanners: [{{name: unit, port: "socket://127.0.0.1:{port}1"}}]
    outbox: {{path: /var/lib/tracegate/{line}/a/outbox.sqlite3}}
    state_path: /var/lib/tracegate/{line}/a/state.sqlite3
  - id: sealing
    name: Sealing
    role: sealing
    device_id: {second}
    scanners: [{{name: unit, port: "socket://127.0.0.1:{port}2"}}]
    predecessors: [assembly]
    outbox: {{path: /var/lib/tracegate/{line}/s/outbox.sqlite3}}
    state_path: /var/lib/tracegate/{line}/s/state.sqlite3
"""


def _line(
    folder: Path,
    name: str,
    *,
    first: str,
    second: str,
    port: int,
    prefix: str = "tracegate/v1",
) -> Path:
    path = folder / f"{name}.yaml"
    text = LINE.format(line=name, first=first, second=second, port=port, prefix=prefix)
    path.write_text(text, encoding="utf-8")
    return path


def test_devices_of_the_example_plant_carry_their_topics() -> None:
    devices = collect_devices([LINE_1.parent])
    assert [d.device_id for d in devices] == [
        "edge-l1-receipt",
        "edge-l1-assembly",
        "edge-l1-sealing",
        "edge-l1-inspection",
        "edge-l1-packing",
        "edge-l1-shipping",
        "edge-l1-returns",
    ]
    sealing = devices[2].as_json()
    assert sealing == {
        "device_id": "edge-l1-sealing",
        "source": str(LINE_1),
        "file_name": "line-1.yaml",
        "site": "plant-ie",
        "line": "line-1",
        "checkpoint": "sealing",
        "topic_prefix": "tracegate/v1",
        "predecessors": ["assembly"],
        "outbox_path": "/var/lib/tracegate/line-1/sealing/outbox.sqlite3",
        "state_path": "/var/lib/tracegate/line-1/sealing/state.sqlite3",
        "event_topic": "tracegate/v1/plant-ie/line-1/sealing/event",
        "status_topic": "tracegate/v1/plant-ie/line-1/sealing/status",
        "command_filter": "tracegate/v1/plant-ie/line-1/sealing/cmd/#",
        "predecessor_event_topics": ["tracegate/v1/plant-ie/line-1/assembly/event"],
    }


def test_acl_gives_each_device_its_topics_and_the_ingest_all_events(tmp_path: Path) -> None:
    _line(tmp_path, "line-a", first="a-asm", second="a-seal", port=1701)
    _line(tmp_path, "line-b", first="b-asm", second="b-seal", port=1702, prefix="acme/v2")
    text = render_acl(collect_devices([tmp_path]), ingest_user="ingest", readers=["mes"])
    blocks = text.split("\n\n")
    assert blocks[2] == (
        f"# a-seal: checkpoint 'sealing' of line 'line-a' ({tmp_path / 'line-a.yaml'})\n"
        "user a-seal\n"
        "topic write tracegate/v1/plant-x/line-a/sealing/event\n"
        "topic write tracegate/v1/plant-x/line-a/sealing/status\n"
        "topic read tracegate/v1/plant-x/line-a/sealing/cmd/#\n"
        "topic read tracegate/v1/plant-x/line-a/assembly/event"
    )
    assert blocks[3].splitlines()[1:] == [
        "user b-asm",
        "topic write acme/v2/plant-x/line-b/assembly/event",
        "topic write acme/v2/plant-x/line-b/assembly/status",
        "topic read acme/v2/plant-x/line-b/assembly/cmd/#",
    ]
    assert blocks[5:] == [
        "# The cloud's ingest: every event in, every command out.\n"
        "user ingest\n"
        "topic read acme/v2/+/+/+/event\n"
        "topic write acme/v2/+/+/+/cmd/#\n"
        "topic read tracegate/v1/+/+/+/event\n"
        "topic write tracegate/v1/+/+/+/cmd/#",
        "# A plant system reading events and status.\n"
        "user mes\n"
        "topic read acme/v2/+/+/+/event\n"
        "topic read acme/v2/+/+/+/status\n"
        "topic read tracegate/v1/+/+/+/event\n"
        "topic read tracegate/v1/+/+/+/status\n",
    ]


def test_a_device_id_used_on_two_lines_is_refused(tmp_path: Path) -> None:
    _line(tmp_path, "line-a", first="asm", second="seal-a", port=1701)
    _line(tmp_path, "line-b", first="asm", second="seal-b", port=1702)
    with pytest.raises(DeployError) as caught:
        collect_devices([tmp_path])
    assert str(caught.value) == (
        f"{tmp_path / 'line-b.yaml'} checkpoint 'assembly': device_id 'asm' is already used"
        f" by {tmp_path / 'line-a.yaml'} checkpoint 'assembly'; a device id is its broker"
        " username and must be unique across the plant"
    )


def test_account_names_are_checked() -> None:
    devices = collect_devices([LINE_1])
    with pytest.raises(DeployError) as clash:
        render_acl(devices, ingest_user="edge-l1-sealing")
    assert str(clash.value) == (
        f"ingest user 'edge-l1-sealing': the name is already the device of {LINE_1}"
    )
    with pytest.raises(DeployError) as bad:
        render_acl(devices, ingest_user="ingest", readers=["mes system"])
    assert str(bad.value) == (
        "reader 'mes system': expected 1 to 64 letters, digits, '.', '_' or '-',"
        " starting with a letter or digit"
    )
    with pytest.raises(DeployError) as twice:
        render_acl(devices, ingest_user="ingest", readers=["ingest"])
    assert str(twice.value) == "reader 'ingest': the name is already the ingest user"


def test_missing_paths_and_empty_folders_are_named(tmp_path: Path) -> None:
    with pytest.raises(DeployError) as missing:
        collect_devices([tmp_path / "nope"])
    assert str(missing.value) == f"{tmp_path / 'nope'}: no such file or directory"
    with pytest.raises(DeployError) as empty:
        collect_devices([tmp_path])
    assert str(empty.value) == f"{tmp_path}: expected .yaml or .yml plant files, found none"


def test_edge_config_takes_the_plant_broker_and_keeps_the_rest() -> None:
    broker = BrokerSettings(
        broker_url="mqtts://broker.example:8883",
        ca_file=Path("/etc/tracegate/plant-ca.pem"),
        credentials_file=Path("/etc/tracegate/mqtt-credentials"),
    )
    text = render_edge_config(LINE_1, broker)
    assert text.startswith(
        "# Generated by `tracegate deploy edge-config` from line-1.yaml; edit that file, not\n"
    )
    deployed = load_plant_text(text, source="deployed")
    source = load_plant_file(LINE_1)
    mqtt = deployed.mqtt_for("sealing")
    assert (mqtt.broker_url, mqtt.credentials_file) == (
        "mqtts://broker.example:8883",
        Path("/etc/tracegate/mqtt-credentials"),
    )
    assert mqtt.tls is not None
    assert mqtt.tls.ca_file == Path("/etc/tracegate/plant-ca.pem")
    assert (mqtt.topic_prefix, mqtt.keepalive_s) == ("tracegate/v1", 30)
    assert deployed.checkpoints == source.checkpoints
    assert (deployed.site, deployed.line) == (source.site, source.line)


def test_edge_config_that_the_schema_refuses_names_the_deployed_file() -> None:
    broker = BrokerSettings(broker_url="mqtt://broker.example", ca_file=Path("/ca.pem"))
    with pytest.raises(ConfigError) as caught:
        render_edge_config(LINE_1, broker)
    assert str(caught.value) == (
        f"{LINE_1} (deployed):16 mqtt.tls: given, but broker_url uses mqtt:// (use mqtts://"
        " or wss://)"
    )


def test_cli_prints_devices_acl_and_edge_config(tmp_path: Path) -> None:
    runner = CliRunner()
    devices = runner.invoke(app, ["deploy", "devices", str(LINE_1)])
    assert devices.exit_code == 0, devices.output
    assert len(json.loads(devices.output)) == 7
    acl = runner.invoke(app, ["deploy", "acl", str(LINE_1), "--reader", "mes"])
    assert acl.exit_code == 0, acl.output
    assert acl.output.endswith(
        "user mes\ntopic read tracegate/v1/+/+/+/event\ntopic read tracegate/v1/+/+/+/status\n"
    )
    assert "\nuser tracegate-ingest\n" in acl.output
    config = runner.invoke(
        app, ["deploy", "edge-config", str(LINE_1), "--broker-url", "mqtts://b.example:8883"]
    )
    assert config.exit_code == 0, config.output
    assert "  broker_url: mqtts://b.example:8883\n" in config.output


def test_cli_reports_problems_on_stderr_with_exit_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "line.yaml"
    bad.write_text("site: {}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["deploy", "acl", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{bad}:1 site.id: ")
    clash = CliRunner().invoke(app, ["deploy", "acl", str(LINE_1), "--ingest-user", "a b"])
    assert clash.exit_code == 2
    assert clash.stderr == (
        "ingest user 'a b': expected 1 to 64 letters, digits, '.', '_' or '-',"
        " starting with a letter or digit\n"
    )


def test_acl_doctest() -> None:
    assert doctest.testmod(tracegate.deploy.acl).failed == 0
