"""Wrong password, wrong CA, client certificates: clear errors, retries, no crash."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from outbox_helpers import OwnBroker, make_event, own_broker, publisher_options, wait_until

sys.path.insert(0, str(Path(__file__).parents[1]))

from tls_pki import make_plant_pki, tls_listener

from edge.outbox import Outbox
from edge.publish import MqttTls, Publisher

pytestmark = pytest.mark.mosquitto

DEVICE = "dev-test"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plant CA with a server certificate for 127.0.0.1 and a client certificate, and an
    unrelated CA."""
    return make_plant_pki(tmp_path_factory.mktemp("pki"))


def _password_broker(tmp_path: Path) -> OwnBroker:
    passwords = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), "line1-sealing", "right-password"],
        check=True,
        capture_output=True,
    )
    return OwnBroker(
        tmp_path / "broker", anonymous=False, extra_config=f"password_file {passwords}\n"
    )


async def test_a_wrong_password_is_a_clear_error_retried_with_backoff(
    tmp_path: Path, outbox: Outbox, prefix: str
) -> None:
    credentials = tmp_path / "mqtt-credentials"
    credentials.write_text("username=line1-sealing\npassword=wrong-password\n")
    credentials.chmod(0o600)
    broker = _password_broker(tmp_path)
    broker.start()
    try:
        options = publisher_options(broker.port, prefix) | {"credentials_file": credentials}
        async with Publisher(outbox, **options) as publisher:
            await wait_until(
                lambda: publisher.status().failed_attempts >= 3, timeout_s=10, what="3 attempts"
            )
            committed = await outbox.commit(make_event(DEVICE, 1))  # the line goes on
            status = publisher.status()
    finally:
        broker.stop()

    assert status.state == "disconnected"
    assert status.last_error == (
        # Mosquitto 2.0 answers a wrong password with 135 "Not authorized", not 134.
        f"MQTT broker 127.0.0.1:{broker.port} refused the connection: Not authorized "
        f"(CONNACK reason code 135); check the username and password in {credentials}"
    )
    assert status.alarms[0].code == "connect_refused"
    assert status.next_retry_in_s is not None and status.next_retry_in_s > 0
    assert committed.seq == 1 and outbox.metrics().depth == 1


async def test_the_right_password_connects_and_publishes(
    tmp_path: Path, outbox: Outbox, prefix: str
) -> None:
    credentials = tmp_path / "mqtt-credentials"
    credentials.write_text("# plant broker\nusername = line1-sealing\npassword = right-password\n")
    credentials.chmod(0o600)
    broker = _password_broker(tmp_path)
    broker.start()
    try:
        await outbox.commit(make_event(DEVICE, 1))
        options = publisher_options(broker.port, prefix) | {"credentials_file": credentials}
        async with Publisher(outbox, **options) as publisher:
            await wait_until(lambda: outbox.metrics().depth == 0, timeout_s=5, what="drain")
            assert publisher.status().last_error is None
    finally:
        broker.stop()


async def test_a_broker_certificate_from_another_ca_is_a_clear_tls_error(
    tmp_path: Path, pki: Path, outbox: Outbox, prefix: str
) -> None:
    tls = MqttTls(
        ca_file=pki / "other-ca.pem", cert_file=pki / "edge.pem", key_file=pki / "edge.key"
    )
    with own_broker(tmp_path / "broker", extra_config=tls_listener(pki)) as broker:
        options = publisher_options(broker.port, prefix) | {"tls": tls}
        async with Publisher(outbox, **options) as publisher:
            await wait_until(
                lambda: publisher.status().failed_attempts >= 3, timeout_s=10, what="3 attempts"
            )
            status = publisher.status()

    assert status.state == "disconnected"
    assert status.last_error == (
        f"TLS handshake with MQTT broker 127.0.0.1:{broker.port} failed: self-signed "
        f"certificate in certificate chain (ca_file {pki / 'other-ca.pem'})"
    )


async def test_tls_with_the_plant_ca_and_a_client_certificate_publishes(
    tmp_path: Path, pki: Path, outbox: Outbox, prefix: str
) -> None:
    tls = MqttTls(
        ca_file=pki / "plant-ca.pem", cert_file=pki / "edge.pem", key_file=pki / "edge.key"
    )
    with own_broker(tmp_path / "broker", extra_config=tls_listener(pki)) as broker:
        await outbox.commit(make_event(DEVICE, 1))
        async with Publisher(outbox, **publisher_options(broker.port, prefix) | {"tls": tls}):
            await wait_until(lambda: outbox.metrics().depth == 0, timeout_s=5, what="drain")
