"""The ingest's own MQTT 5 subscriber against a real Mosquitto: persistent session, acks only
after the caller says so and only on their connection, reconnects, keep-alive, credentials."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cloud_helpers import (
    INGEST_BROKER_CONFIG,
    MOSQUITTO,
    OwnMosquitto,
    free_port,
    publisher,
    wait_for_port,
    wait_until,
)

from cloud.ingest.mqtt_packets import Publish
from cloud.ingest.mqtt_subscriber import MqttSubscriber
from cloud.settings import BrokerAddress


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Publish, int]] = []

    def __call__(self, messages: list[Publish], connection: int) -> None:
        self.messages += [(message, connection) for message in messages]

    def payloads(self) -> list[bytes]:
        return [message.payload for message, _ in self.messages]


def address(
    port: int, *, username: str | None = None, password: str | None = None
) -> BrokerAddress:
    return BrokerAddress(
        host="127.0.0.1", port=port, tls=False, username=username, password=password
    )


class Broker:
    """A Mosquitto of this test's own (other settings than the session's), restartable."""

    def __init__(self, directory: Path, extra: str) -> None:
        self.port = free_port()
        self.config = directory / "mosquitto.conf"
        self.config.write_text(
            f"{INGEST_BROKER_CONFIG}{extra}user root\nlistener {self.port} 127.0.0.1\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, timeout_s=5.0)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@contextlib.contextmanager
def own_broker(directory: Path, extra: str) -> Iterator[Broker]:
    broker = Broker(directory, extra)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@contextlib.asynccontextmanager
async def subscribed(
    broker: BrokerAddress, client_id: str, topic_filter: str, inbox: Inbox, **options: int
) -> AsyncIterator[MqttSubscriber]:
    subscriber = MqttSubscriber(
        broker=broker,
        client_id=client_id,
        topic_filter=topic_filter,
        on_messages=inbox,
        session_expiry_s=options.pop("session_expiry_s", 600),
        receive_maximum=options.pop("receive_maximum", 100),
        **options,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(subscriber.run(stop))
    try:
        await asyncio.wait_for(subscriber.subscribed.wait(), 5)
        yield subscriber
    finally:
        stop.set()
        await task


async def test_unacknowledged_messages_come_again_on_the_next_connection(
    mosquitto: OwnMosquitto, prefix: str
) -> None:
    client_id = f"sub-{secrets.token_hex(4)}"
    topic_filter = f"$share/g{secrets.token_hex(3)}/{prefix}/#"
    first = Inbox()
    async with subscribed(address(mosquitto.port), client_id, topic_filter, first) as subscriber:
        with publisher(mosquitto.port, f"{client_id}-pub") as pub:
            for n in range(10):
                pub.publish(f"{prefix}/a/b", f"m{n}".encode())
            pub.client.publish(f"{prefix}/a/q0", b"qos0", qos=0).wait_for_publish(5)
        await wait_until(lambda: len(first.messages) == 11, what="11 messages received")
        (connection,) = {number for _, number in first.messages}
        qos1 = [message for message, _ in first.messages if message.qos == 1]
        subscriber.ack(connection, [message.packet_id for message in qos1[:5]])
        subscriber.ack(connection, [0])  # QoS 0: nothing to acknowledge
    assert [message.topic for message, _ in first.messages[:2]] == [f"{prefix}/a/b"] * 2
    assert first.payloads() == [f"m{n}".encode() for n in range(10)] + [b"qos0"]

    again = Inbox()
    async with subscribed(address(mosquitto.port), client_id, topic_filter, again) as subscriber:
        await wait_until(lambda: len(again.messages) >= 5, what="5 messages redelivered")
        await asyncio.sleep(0.2)
        assert again.payloads() == [f"m{n}".encode() for n in range(5, 10)]
        assert all(message.dup for message, _ in again.messages)
        subscriber.ack(again.messages[0][1], [message.packet_id for message, _ in again.messages])

    rest = Inbox()
    async with subscribed(address(mosquitto.port), client_id, topic_filter, rest):
        await asyncio.sleep(0.3)
    assert rest.messages == []


async def test_acks_of_a_lost_connection_are_dropped_and_the_messages_come_again(
    tmp_path: Path, prefix: str
) -> None:
    # Persistence: the session and its unacknowledged message outlive the restart.
    extra = f"persistence true\npersistence_location {tmp_path}/\nallow_anonymous true\n"
    with own_broker(tmp_path, extra) as broker:
        inbox = Inbox()
        client_id = f"sub-{secrets.token_hex(4)}"
        async with subscribed(
            address(broker.port), client_id, f"{prefix}/#", inbox, keepalive_s=5
        ) as subscriber:
            with publisher(broker.port, f"{client_id}-pub") as pub:
                pub.publish(f"{prefix}/x", b"before")
            await wait_until(lambda: len(inbox.messages) == 1, what="the first message")
            (old, old_connection) = inbox.messages[0]
            broker.stop()
            await wait_until(lambda: not subscriber.connected, what="the connection lost")
            broker.start()
            await wait_until(lambda: subscriber.connected, timeout_s=15, what="reconnected")
            await wait_until(lambda: len(inbox.messages) == 2, what="the redelivery")
            (again, new_connection) = inbox.messages[1]
            assert new_connection == old_connection + 1
            assert (again.payload, again.dup) == (b"before", True)
            subscriber.ack(old_connection, [old.packet_id])
            assert subscriber.acks_dropped == 1
            subscriber.ack(new_connection, [again.packet_id])
            with publisher(broker.port, f"{client_id}-pub") as pub:
                pub.publish(f"{prefix}/x", b"after")
            await wait_until(lambda: len(inbox.messages) == 3, what="a message after the restart")
            subscriber.ack(new_connection, [inbox.messages[2][0].packet_id])
        assert inbox.messages[2][0].payload == b"after"


async def test_an_idle_connection_is_kept_alive(mosquitto: OwnMosquitto, prefix: str) -> None:
    inbox = Inbox()
    async with subscribed(
        address(mosquitto.port), f"sub-{secrets.token_hex(4)}", f"{prefix}/#", inbox, keepalive_s=1
    ) as subscriber:
        # Mosquitto drops a client it has not heard from for 1.5 keep-alive periods.
        await asyncio.sleep(3.5)
        assert subscriber.connected
        assert subscriber.connection_number == 1


async def test_credentials_are_sent_and_a_refusal_is_retried(
    tmp_path: Path, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    passwords = tmp_path / "passwords"
    made = await asyncio.create_subprocess_exec(
        "mosquitto_passwd", "-b", "-c", str(passwords), "ingest", "pa:ss wörd"
    )
    assert await made.wait() == 0
    extra = f"allow_anonymous false\npassword_file {passwords}\n"
    with own_broker(tmp_path, extra) as broker:
        wrong = MqttSubscriber(
            broker=address(broker.port, username="ingest", password="nope"),
            client_id="wrong",
            topic_filter=f"{prefix}/#",
            on_messages=Inbox(),
            session_expiry_s=0,
            receive_maximum=10,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(wrong.run(stop))
        await wait_until(
            lambda: "reason 0x87 (not authorized)" in caplog.text,
            what="the refusal logged",
        )
        assert not wrong.connected and not wrong.subscribed.is_set()
        stop.set()
        await task

        inbox = Inbox()
        right = address(broker.port, username="ingest", password="pa:ss wörd")
        async with subscribed(right, "right", f"{prefix}/#", inbox) as subscriber:
            assert subscriber.connected


async def test_a_broker_that_never_answers_is_left_and_tried_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed = 0

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal closed
        await reader.read()  # until the subscriber gives up on this connection
        closed += 1
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    subscriber = MqttSubscriber(
        broker=address(port),
        client_id="patient",
        topic_filter="t/#",
        on_messages=Inbox(),
        session_expiry_s=0,
        receive_maximum=10,
        connect_timeout_s=0.2,
        reconnect_max_s=0.2,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(subscriber.run(stop))
    try:
        await wait_until(lambda: closed >= 2, what="two silent connections given up")
        assert not subscriber.connected
        assert "unreachable" in caplog.text
    finally:
        stop.set()
        await task
        server.close()
        await server.wait_closed()
