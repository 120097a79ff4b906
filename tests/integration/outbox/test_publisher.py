"""The publisher against the real Mosquitto: order, PUBACK-only deletion, status, refusals."""

from __future__ import annotations

import asyncio
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from outbox_helpers import (
    CHECKPOINT,
    LINE,
    SITE,
    Collector,
    OwnBroker,
    make_event,
    own_broker,
    publisher_options,
    verify_chain,
    wait_until,
)
from paho.mqtt.enums import CallbackAPIVersion

from edge.outbox import Outbox
from edge.publish import Publisher
from protocols.codec import decode_event
from protocols.events import DeviceStatus
from protocols.topics import command_topic, status_topic

pytestmark = pytest.mark.mosquitto

DEVICE = "dev-test"
SHARED_BROKER = 1883


async def test_events_arrive_in_seq_order_and_leave_the_outbox_only_after_puback(
    outbox: Outbox, prefix: str
) -> None:
    collector = Collector(port=SHARED_BROKER, topic_filter=f"{prefix}/#")
    try:
        for n in range(300):
            await outbox.commit(make_event(DEVICE, n))
        async with Publisher(outbox, **publisher_options(SHARED_BROKER, prefix)) as publisher:
            await wait_until(lambda: outbox.metrics().depth == 0, timeout_s=10, what="drain")
            more = [await outbox.commit(make_event(DEVICE, n)) for n in range(300, 320)]
            await wait_until(lambda: outbox.metrics().depth == 0, timeout_s=10, what="drain")
            status = publisher.status()
        received = await asyncio.to_thread(collector.wait_for_events, 320, timeout_s=10)
    finally:
        collector.close()

    verify_chain(received)
    assert more[-1].seq == 320
    assert (status.state, status.published_total, status.refused_total) == ("connected", 320, 0)
    assert status.window == 20  # Mosquitto's default Receive Maximum caps our 100


async def test_birth_heartbeat_and_orderly_stop_are_retained_device_status(
    outbox: Outbox, prefix: str
) -> None:
    topic = status_topic(SITE, LINE, CHECKPOINT, prefix=prefix)
    collector = Collector(port=SHARED_BROKER, topic_filter=topic)
    try:
        await outbox.commit(make_event(DEVICE, 1))
        options = publisher_options(SHARED_BROKER, prefix) | {"heartbeat_interval_s": 0.1}
        async with Publisher(outbox, **options):
            await wait_until(
                lambda: len(collector.payloads(channel="status")) >= 3,
                timeout_s=5,
                what="birth and two heartbeats",
            )
        await wait_until(
            lambda: not decode_status(collector.payloads(channel="status")[-1]).online,
            timeout_s=5,
            what="the offline status",
        )
        statuses = [decode_status(p) for p in collector.payloads(channel="status")]
    finally:
        collector.close()
    late = Collector(port=SHARED_BROKER, topic_filter=topic)
    try:
        await wait_until(lambda: bool(late.messages), timeout_s=5, what="the retained status")
        (retained_topic, retained_payload, retained_flag) = late.messages[0]
    finally:
        late.close()

    birth = statuses[0]
    assert (birth.online, birth.seq, birth.prev_hash) == (True, 0, "")
    assert (birth.software_version, birth.config_hash) == ("0.1.0-test", "cfg-1234")
    assert (birth.device_id, birth.site, birth.checkpoint) == (DEVICE, SITE, CHECKPOINT)
    assert all(s.online for s in statuses[:-1])
    assert retained_flag and retained_topic == topic
    assert decode_status(retained_payload).online is False


async def test_commits_go_on_while_the_broker_is_down_and_drain_when_it_is_back(
    tmp_path: Path, outbox: Outbox, prefix: str
) -> None:
    broker = OwnBroker(tmp_path / "broker")
    broker.start()
    collector = Collector(port=broker.port, topic_filter=f"{prefix}/#")  # its session persists
    broker.stop()
    try:
        async with Publisher(outbox, **publisher_options(broker.port, prefix)) as publisher:
            await wait_until(
                lambda: publisher.status().failed_attempts >= 2, timeout_s=5, what="retries"
            )
            for n in range(200):
                await outbox.commit(make_event(DEVICE, n))
            status = publisher.status()
            assert outbox.metrics().depth == 200
            broker.start()
            await wait_until(lambda: outbox.metrics().depth == 0, timeout_s=10, what="drain")
        received = await asyncio.to_thread(collector.wait_for_events, 200, timeout_s=10)
    finally:
        collector.close()
        broker.stop()

    assert status.state == "disconnected"
    assert status.last_error == (
        f"Cannot connect to MQTT broker 127.0.0.1:{broker.port}: Connection refused"
    )
    verify_chain(received)


async def test_a_refused_puback_raises_an_alarm_and_the_event_stays_until_accepted(
    tmp_path: Path, outbox: Outbox, prefix: str
) -> None:
    acl = tmp_path / "acl"
    acl.write_text("topic readwrite nothing-allowed/#\n")
    with own_broker(tmp_path / "broker", extra_config=f"acl_file {acl}\n") as broker:
        collector = Collector(port=broker.port, topic_filter=f"{prefix}/#")
        try:
            for n in range(5):
                await outbox.commit(make_event(DEVICE, n))
            async with Publisher(outbox, **publisher_options(broker.port, prefix)) as publisher:
                await wait_until(
                    lambda: publisher.status().refused_total >= 5, timeout_s=5, what="refusals"
                )
                refused = publisher.status()
                assert outbox.metrics().depth == 5

                acl.write_text("topic readwrite #\n")
                broker.reload()
                await wait_until(lambda: outbox.metrics().depth == 0, timeout_s=10, what="drain")
            received = await asyncio.to_thread(collector.wait_for_events, 5, timeout_s=10)
        finally:
            collector.close()

    assert refused.alarms[0].code == "puback_refused"
    assert refused.alarms[0].message == (
        f"Broker 127.0.0.1:{broker.port} refused event seq 1: Not authorized "
        "(PUBACK reason code 135); it stays in the outbox and is resent"
    )
    verify_chain(received)


def decode_status(payload: bytes) -> DeviceStatus:
    event = decode_event(payload)
    assert isinstance(event, DeviceStatus), f"expected a device.status, got {event.kind}"
    return event


async def test_commands_for_this_checkpoint_reach_on_command(outbox: Outbox, prefix: str) -> None:
    received: list[tuple[str, bytes]] = []
    topic = command_topic(SITE, LINE, CHECKPOINT, "hold", prefix=prefix)
    options = publisher_options(SHARED_BROKER, prefix) | {
        "on_command": lambda t, p: received.append((t, p))
    }
    async with Publisher(outbox, **options) as publisher:
        await publisher.wait_connected(timeout_s=5)
        await asyncio.sleep(0.2)  # the SUBSCRIBE goes out right after the CONNACK
        sender = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        sender.connect("127.0.0.1", SHARED_BROKER)
        sender.loop_start()
        sender.publish(topic, b'{"kind": "hold"}', qos=1).wait_for_publish(5)
        sender.disconnect()
        sender.loop_stop()
        await wait_until(lambda: bool(received), timeout_s=5, what="the command")

    assert received == [(topic, b'{"kind": "hold"}')]
