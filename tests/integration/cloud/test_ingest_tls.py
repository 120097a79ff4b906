"""The ingest over TLS (`mqtts://`, as in production) against a real Mosquitto with a TLS
listener: the plant CA and a client certificate work end to end; a broker certificate from
another CA and a missing client certificate are clear errors, retried, never a crash."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cloud_helpers import Device, publisher, wait_until
from ingest_helpers import running_ingest
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parents[1] / "outbox"))

from outbox_helpers import OwnBroker, free_port, own_broker
from tls_pki import make_plant_pki, tls_listener

from cloud.db.database import Database
from cloud.domain.events.models import Event
from cloud.ingest.mqtt_packets import Publish
from cloud.ingest.mqtt_subscriber import MqttSubscriber
from cloud.settings import BrokerAddress, Settings

pytestmark = pytest.mark.mosquitto


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_plant_pki(tmp_path_factory.mktemp("pki"))


@contextlib.contextmanager
def tls_broker(directory: Path, pki: Path) -> Iterator[tuple[OwnBroker, int]]:
    """A broker whose first listener is TLS with client certificates required, and a plain
    listener (the second port) for the test's edge publisher."""
    plain_port = free_port()
    extra = f"{tls_listener(pki)}listener {plain_port} 127.0.0.1\n"
    with own_broker(directory, extra_config=extra) as broker:
        yield broker, plain_port


async def stored_events(db: Database) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Event)) or 0)


async def test_events_over_tls_with_the_plant_ca_and_a_client_certificate_are_stored_once(
    tmp_path: Path,
    pki: Path,
    database_url: str,
    db: Database,
    plant: dict[str, Device],
    prefix: str,
) -> None:
    sealing = plant["sealing"]
    topic = sealing.topic(prefix)
    payloads = [sealing.inspected(f"TLS-{n}")[1] for n in range(20)]
    marker = sealing.inspected("TLS-marker")[1]
    with tls_broker(tmp_path / "broker", pki) as (broker, plain_port):
        tag = secrets.token_hex(4)
        settings = Settings(
            database_url=database_url,
            mqtt_url=f"mqtts://127.0.0.1:{broker.port}",
            mqtt_ca_file=pki / "plant-ca.pem",
            mqtt_cert_file=pki / "edge.pem",
            mqtt_key_file=pki / "edge.key",
            topic_prefix=prefix,
            ingest_group=f"ingest-{tag}",
            ingest_client_id=f"ingest-{tag}-1",
            ingest_batch_wait_ms=5,
            accept_unknown_devices=False,
        )
        async with running_ingest(settings, db, subscribed_within_s=10) as worker:
            assert worker.connected
            with publisher(plain_port, f"edge-{tag}") as pub:
                for data in payloads + payloads:  # every event twice, as after an edge retry
                    pub.publish(topic, data)
            await wait_until(lambda: worker.stats.received == 40, what="40 messages received")
            await wait_until(lambda: _stored(db, 20), what="20 events stored")
        assert (worker.stats.stored, worker.stats.duplicates) == (20, 20)

        # The same persistent session again: had the PUBACKs not gone out over TLS, the
        # broker would send the 40 messages again before the marker.
        async with running_ingest(settings, db, subscribed_within_s=10) as again:
            with publisher(plain_port, f"edge-{tag}") as pub:
                pub.publish(topic, marker)
            await wait_until(lambda: _stored(db, 21), what="the marker stored")
        assert (again.stats.received, again.stats.stored) == (1, 1)
    assert await stored_events(db) == 21
    async with db.sessions() as session:
        distinct = await session.scalar(select(func.count(func.distinct(Event.event_id))))
    assert distinct == 21


async def _stored(db: Database, expected: int) -> bool:
    return await stored_events(db) >= expected


def tls_address(port: int, pki: Path, *, ca: str, client_cert: bool) -> BrokerAddress:
    return BrokerAddress(
        host="127.0.0.1",
        port=port,
        tls=True,
        username=None,
        password=None,
        ca_file=pki / f"{ca}.pem",
        cert_file=pki / "edge.pem" if client_cert else None,
        key_file=pki / "edge.key" if client_cert else None,
    )


async def failing_attempts(broker: BrokerAddress, prefix: str) -> MqttSubscriber:
    """Run a subscriber until it has failed three times; it must still be running then."""
    received: list[Publish] = []
    subscriber = MqttSubscriber(
        broker=broker,
        client_id=f"ingest-{secrets.token_hex(4)}",
        topic_filter=f"{prefix}/#",
        on_messages=lambda messages, _: received.extend(messages),
        session_expiry_s=0,
        receive_maximum=10,
        connect_timeout_s=5,
        reconnect_max_s=0.2,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(subscriber.run(stop))
    try:
        await wait_until(lambda: subscriber.failed_attempts >= 3, what="3 failed attempts")
        assert not task.done()  # retrying, not crashed
        assert not subscriber.connected and not subscriber.subscribed.is_set()
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert received == []
    return subscriber


async def test_a_broker_certificate_from_another_ca_is_a_clear_tls_error_retried(
    tmp_path: Path, pki: Path, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    with tls_broker(tmp_path / "broker", pki) as (broker, _):
        address = tls_address(broker.port, pki, ca="other-ca", client_cert=True)
        subscriber = await failing_attempts(address, prefix)
    expected = (
        f"TLS handshake with MQTT broker 127.0.0.1:{broker.port} failed: self-signed "
        f"certificate in certificate chain (ca_file {pki / 'other-ca.pem'})"
    )
    assert subscriber.last_error == expected
    assert caplog.text.count(expected) >= 3


async def test_a_missing_client_certificate_is_a_clear_error_retried(
    tmp_path: Path, pki: Path, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    with tls_broker(tmp_path / "broker", pki) as (broker, _):
        address = tls_address(broker.port, pki, ca="plant-ca", client_cert=False)
        subscriber = await failing_attempts(address, prefix)
    # TLS 1.3 checks the client certificate after the client's side of the handshake: the
    # broker's alert is read, or our CONNECT meets the closed socket and the connection resets.
    alert = (
        f"TLS handshake with MQTT broker 127.0.0.1:{broker.port} failed: tlsv13 alert "
        "certificate required: the broker requires a client certificate (set "
        f"mqtt_cert_file) (ca_file {pki / 'plant-ca.pem'})"
    )
    reset = (
        f"TLS connection to MQTT broker 127.0.0.1:{broker.port} reset (Connection reset by "
        "peer) before CONNACK: a broker that requires a client certificate does this (no "
        "mqtt_cert_file set)"
    )
    assert subscriber.last_error in (alert, reset)
    assert subscriber.last_error in caplog.text
    assert "Connection refused" not in caplog.text
