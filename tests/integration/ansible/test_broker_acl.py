"""The broker role's generated Mosquitto config, password file and ACL, accepted by a
Mosquitto of the test's own (its own port, its own files; the machine's broker is not
touched), and enforcing per-device access."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ansible_deployment import BROKER_HOST, Deployment
from mqtt_probe import MqttProbe

# The session fixture that runs ansible may start in any of these modules.
pytestmark = pytest.mark.timeout(300)

PREFIX = "tracegate/v1/plant-ie/line-1"
SEALING, ASSEMBLY, PACKING = "edge-l1-sealing", "edge-l1-assembly", "edge-l1-packing"
INGEST = "tracegate-ingest"
# PUBACK/CONNACK reason codes; 16 "No matching subscribers" is a success too.
SUCCESS, NO_SUBSCRIBERS, NOT_AUTHORIZED = 0, 16, 135


@pytest.fixture(scope="module")
def broker(deployment: Deployment) -> Iterator[Deployment]:
    play = deployment.plays["broker"]
    assert play.returncode == 0, play.describe()
    config = deployment.root(BROKER_HOST) / "etc" / "mosquitto" / "mosquitto.conf"
    log = deployment.work / "mosquitto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(["mosquitto", "-c", str(config)], stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 5
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mosquitto exited {proc.returncode}: {log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", deployment.broker_port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"mosquitto did not listen: {log.read_text()}")
                time.sleep(0.05)
        yield deployment
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _probe(broker: Deployment, account: str, *, password: str | None = None) -> MqttProbe:
    probe = MqttProbe(
        port=broker.broker_port,
        ca_file=broker.work / "pki" / "plant-ca.pem",
        username=account,
        password=broker.password(account) if password is None else password,
    )
    code = probe.connect()
    assert code == SUCCESS, f"{account} refused: reason code {code}"
    return probe


def test_config_raises_the_queue_limits_and_requires_accounts(deployment: Deployment) -> None:
    conf = deployment.root(BROKER_HOST) / "etc" / "mosquitto" / "mosquitto.conf"
    settings = [line for line in conf.read_text().splitlines() if line and not line.startswith("#")]
    for expected in (
        "persistence true",
        "max_queued_messages 5000000",
        "max_queued_bytes 0",
        "persistent_client_expiration 14d",
        "allow_anonymous false",
        f"listener {deployment.broker_port}",
        "require_certificate false",
    ):
        assert expected in settings


def test_password_file_holds_hashes_only(deployment: Deployment) -> None:
    conf_dir = deployment.root(BROKER_HOST) / "etc" / "mosquitto"
    lines = (conf_dir / "passwd").read_text().splitlines()
    users = [line.split(":", 1)[0] for line in lines]
    assert users == [
        "edge-l1-receipt",
        "edge-l1-assembly",
        SEALING,
        "edge-l1-inspection",
        PACKING,
        "edge-l1-shipping",
        "edge-l1-returns",
        INGEST,
    ]
    assert all(line.split(":", 1)[1].startswith("$7$") for line in lines)
    assert deployment.password(SEALING) not in (conf_dir / "passwd").read_text()
    assert not (conf_dir / "passwd.new").exists()
    assert oct((conf_dir / "passwd").stat().st_mode & 0o777) == "0o640"


def test_device_publishes_on_its_own_topics_only(broker: Deployment) -> None:
    ingest = _probe(broker, INGEST)
    sealing = _probe(broker, SEALING)
    try:
        assert ingest.subscribe("$share/tracegate-ingest/tracegate/v1/+/+/+/event") == [1]
        own = f"{PREFIX}/sealing/event"
        assert sealing.publish(own, b"A on its topic") == SUCCESS
        assert sealing.publish(f"{PREFIX}/assembly/event", b"A posing as B") == NOT_AUTHORIZED
        assert sealing.publish(f"{PREFIX}/sealing/cmd/hold", b"A commanding") == NOT_AUTHORIZED
        assert sealing.publish(f"{PREFIX}/sealing/status", b"A status") == NO_SUBSCRIBERS
        assert sealing.publish(own, b"A again") == SUCCESS
        assert ingest.receive_until(own, b"A again") == [
            (own, b"A on its topic"),
            (own, b"A again"),
        ]
    finally:
        sealing.close()
        ingest.close()


def test_device_reads_its_commands_and_its_predecessors_events_only(broker: Deployment) -> None:
    sealing = _probe(broker, SEALING)
    ingest = _probe(broker, INGEST)
    assembly = _probe(broker, ASSEMBLY)
    packing = _probe(broker, PACKING)
    try:
        # Mosquitto grants every subscription and checks "read" on each delivery: a publish
        # that matches only a denied subscription is acknowledged and delivered to nobody.
        assert sealing.subscribe(
            f"{PREFIX}/sealing/cmd/#",
            f"{PREFIX}/assembly/cmd/#",
            f"{PREFIX}/assembly/event",
            f"{PREFIX}/packing/event",
        ) == [1, 1, 1, 1]
        assert ingest.publish(f"{PREFIX}/assembly/cmd/hold", b"hold for B") == SUCCESS
        assert ingest.publish(f"{PREFIX}/sealing/cmd/hold", b"hold for A") == SUCCESS
        assert assembly.publish(f"{PREFIX}/assembly/event", b"B's event") == SUCCESS
        assert packing.publish(f"{PREFIX}/packing/event", b"C's event") == SUCCESS
        assert ingest.publish(f"{PREFIX}/sealing/cmd/release", b"last") == SUCCESS
        received = sealing.receive_until(f"{PREFIX}/sealing/cmd/release", b"last")
        assert sorted(received) == [
            (f"{PREFIX}/assembly/event", b"B's event"),
            (f"{PREFIX}/sealing/cmd/hold", b"hold for A"),
            (f"{PREFIX}/sealing/cmd/release", b"last"),
        ]
    finally:
        for probe in (sealing, ingest, assembly, packing):
            probe.close()


def test_wrong_password_and_anonymous_clients_are_refused(broker: Deployment) -> None:
    ca_file = broker.work / "pki" / "plant-ca.pem"
    wrong = MqttProbe(port=broker.broker_port, ca_file=ca_file, username=SEALING, password="x")
    anonymous = MqttProbe(port=broker.broker_port, ca_file=ca_file, username=None, password="")
    try:
        assert wrong.connect() == NOT_AUTHORIZED
        assert anonymous.connect() == NOT_AUTHORIZED
    finally:
        wrong.close()
        anonymous.close()


def test_the_deployed_edge_credentials_open_the_broker(broker: Deployment) -> None:
    from edge.publish import load_credentials

    root = broker.root("l1-sealing.plant-ie.example")
    credentials = load_credentials(Path(root, "etc", "tracegate", "mqtt-credentials"))
    assert credentials.username == SEALING
    probe = _probe(broker, SEALING, password=credentials.password)
    probe.close()
