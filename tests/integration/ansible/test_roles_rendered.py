"""What the roles wrote into the throwaway prefix: the edge host's config, credentials,
unit, udev rules, time and journal settings; the cloud's settings, units, proxy and its
migrated database; the broker's ACL, exactly as the generator makes it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ansible_deployment import BROKER_HOST, CLOUD_HOST, EDGE_HOST, PG_ADMIN, ROOT, Deployment

from protocols.config import load_plant_file

# The session fixture that runs ansible may start in any of these modules.
pytestmark = pytest.mark.timeout(300)


def _verify_unit(unit: Path) -> None:
    """systemd-analyze accepts the unit without a single warning."""
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stderr) == (0, ""), result.stderr


@pytest.fixture(scope="module")
def edge_root(deployment: Deployment) -> Path:
    run = deployment.plays["edge"]
    assert run.returncode == 0, run.describe()
    return deployment.root(EDGE_HOST)


@pytest.fixture(scope="module")
def cloud_root(deployment: Deployment) -> Path:
    run = deployment.plays["cloud"]
    assert run.returncode == 0, run.describe()
    return deployment.root(CLOUD_HOST)


def test_edge_config_points_the_agent_at_the_plant_broker(
    deployment: Deployment, edge_root: Path
) -> None:
    config = edge_root / "etc" / "tracegate" / "line-1.yaml"
    plant = load_plant_file(config)
    mqtt = plant.mqtt_for("sealing")
    assert mqtt.broker_url == f"mqtts://localhost:{deployment.broker_port}"
    assert mqtt.credentials_file == edge_root / "etc" / "tracegate" / "mqtt-credentials"
    assert mqtt.tls is not None
    assert mqtt.tls.ca_file == edge_root / "etc" / "tracegate" / "plant-ca.pem"
    assert mqtt.tls.ca_file.read_bytes() == (deployment.work / "pki" / "plant-ca.pem").read_bytes()
    assert plant.checkpoints == load_plant_file(ROOT / "device-configs" / "line-1.yaml").checkpoints
    assert oct(config.stat().st_mode & 0o777) == "0o640"


def test_edge_credentials_are_the_devices_account_and_private(
    deployment: Deployment, edge_root: Path
) -> None:
    credentials = edge_root / "etc" / "tracegate" / "mqtt-credentials"
    lines = credentials.read_text().splitlines()
    assert lines[1:] == [
        "username=edge-l1-sealing",
        f"password={deployment.password('edge-l1-sealing')}",
    ]
    assert oct(credentials.stat().st_mode & 0o777) == "0o600"


def test_edge_unit_has_the_watchdog_and_restarts_always(edge_root: Path) -> None:
    unit = edge_root / "etc" / "systemd" / "system" / "tracegate-edge.service"
    settings = unit.read_text().splitlines()
    venv = edge_root / "opt" / "tracegate" / "venv"
    config = edge_root / "etc" / "tracegate" / "line-1.yaml"
    for expected in (
        "Type=notify",
        "NotifyAccess=main",
        "Restart=always",
        "WatchdogSec=30",
        "StartLimitIntervalSec=0",
        f"ExecStart={venv}/bin/tracegate edge run {config} --checkpoint sealing"
        " --log-format json --log-level info",
        f"ReadWritePaths={edge_root}/var/lib/tracegate",
    ):
        assert expected in settings
    _verify_unit(unit)


def test_edge_venv_holds_the_wheel_and_the_outbox_folders_exist(edge_root: Path) -> None:
    python = edge_root / "opt" / "tracegate" / "venv" / "bin" / "python"
    code = "import importlib.metadata as m; print(m.version('tracegate'))"
    version = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == "0.1.0"
    assert (edge_root / "var" / "lib" / "tracegate" / "line-1" / "sealing").is_dir()


def test_edge_udev_time_and_journal_settings(edge_root: Path) -> None:
    rules = (edge_root / "etc" / "udev" / "rules.d" / "70-tracegate.rules").read_text()
    assert (
        'SUBSYSTEM=="tty", ATTRS{idVendor}=="05e0", ATTRS{idProduct}=="1200",'
        ' ATTRS{serial}=="S4100-0042", SYMLINK+="tracegate/scanner-unit", GROUP="tracegate",'
        ' MODE="0660"\n'
    ) in rules
    sources = (edge_root / "etc" / "chrony" / "sources.d" / "tracegate.sources").read_text()
    servers = [line for line in sources.splitlines() if not line.startswith("#")]
    assert servers == ["server ntp1.plant-ie.example iburst", "server ntp2.plant-ie.example iburst"]
    journal = (edge_root / "etc" / "systemd" / "journald.conf.d" / "tracegate.conf").read_text()
    assert "\nStorage=persistent\nSystemMaxUse=200M\n" in journal
    assert not (edge_root / "etc" / "fstab").exists()


def test_broker_acl_is_the_generated_one(deployment: Deployment) -> None:
    expected = subprocess.run(
        [Path(sys.executable).parent / "tracegate", "deploy", "acl", ROOT / "device-configs"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    acl = deployment.root(BROKER_HOST) / "etc" / "mosquitto" / "acl"
    assert acl.read_text() == expected
    assert oct(acl.stat().st_mode & 0o777) == "0o640"


def test_cloud_settings_load_with_the_broker_and_database(
    deployment: Deployment, cloud_root: Path
) -> None:
    from cloud.settings import load_settings

    settings = load_settings(env={}, file=cloud_root / "etc" / "tracegate" / "cloud.toml")
    assert settings.database_url == (
        f"postgresql+asyncpg://postgres@127.0.0.1:5432/{deployment.database}"
    )
    broker = settings.broker
    assert (broker.host, broker.port, broker.tls) == ("localhost", deployment.broker_port, True)
    assert (broker.username, broker.password) == (
        "tracegate-ingest",
        deployment.password("tracegate-ingest"),
    )
    assert settings.ingest_enabled is False
    trusted = cloud_root / "usr" / "local" / "share" / "ca-certificates" / "tracegate-plant-ca.crt"
    assert trusted.read_bytes() == (deployment.work / "pki" / "plant-ca.pem").read_bytes()


def test_cloud_migrated_its_database_and_imported_the_plant(
    deployment: Deployment, cloud_root: Path
) -> None:
    query = "SELECT string_agg(device_id, ',' ORDER BY device_id) FROM devices"
    result = subprocess.run(
        [*PG_ADMIN, "-d", deployment.database, "-tAc", query],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip().split(",") == sorted(
        [
            "edge-l1-assembly",
            "edge-l1-inspection",
            "edge-l1-packing",
            "edge-l1-receipt",
            "edge-l1-returns",
            "edge-l1-sealing",
            "edge-l1-shipping",
        ]
    )


def test_cloud_units_run_several_api_and_ingest_workers(cloud_root: Path) -> None:
    units = cloud_root / "etc" / "systemd" / "system"
    api = (units / "tracegate-api@.service").read_text()
    assert "--host 127.0.0.1 --port %i --no-ingest\n" in api
    ingest = (units / "tracegate-ingest@.service").read_text()
    assert "cloud ingest --config" in ingest
    assert ingest.rstrip().endswith("WantedBy=tracegate-cloud.target")
    assert "--worker tracegate-ingest-%i\n" in ingest
    for unit in ("tracegate-api@8001.service", "tracegate-ingest@2.service"):
        _verify_unit(units / unit)


def test_cloud_proxy_spreads_over_the_api_ports_with_tls(cloud_root: Path) -> None:
    site = cloud_root / "etc" / "nginx" / "sites-enabled" / "tracegate.conf"
    assert site.is_symlink()
    text = site.read_text()
    for expected in (
        "    server 127.0.0.1:8001 max_fails=3 fail_timeout=5s;\n",
        "    server 127.0.0.1:8002 max_fails=3 fail_timeout=5s;\n",
        "    listen 443 ssl http2;\n",
        f"    ssl_certificate {cloud_root}/etc/nginx/tls/tracegate.pem;\n",
        "        proxy_pass http://tracegate_api;\n",
    ):
        assert expected in text
    key = cloud_root / "etc" / "nginx" / "tls" / "tracegate.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
