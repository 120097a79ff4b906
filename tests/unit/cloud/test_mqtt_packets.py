"""The ingest's MQTT 5 packet codec: pure bytes in, packets out (the broker side is tested
against a real Mosquitto in tests/integration/cloud/test_ingest_subscriber.py)."""

from __future__ import annotations

import doctest
import re

import pytest

from cloud.ingest import mqtt_packets
from cloud.ingest.mqtt_packets import (
    ConnAck,
    Disconnect,
    MqttProtocolError,
    PacketReader,
    PingResp,
    Publish,
    SubAck,
    connect_packet,
    puback_packets,
    varint,
)


def publish_bytes(
    topic: bytes, payload: bytes, *, qos: int = 1, packet_id: int = 7, properties: bytes = b""
) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic
    if qos:
        body += packet_id.to_bytes(2, "big")
    body += varint(len(properties)) + properties + payload
    return bytes((0x30 | qos << 1,)) + varint(len(body)) + body


def test_doctests() -> None:
    assert doctest.testmod(mqtt_packets).failed == 0


def test_packets_are_found_whatever_the_read_boundaries() -> None:
    stream = (
        publish_bytes(b"a/b", b"x" * 300, packet_id=1)
        + b"\xd0\x00"
        + publish_bytes(b"a/c", b"", qos=0)
        + publish_bytes(b"a/d", b"{}" * 20_000, packet_id=65535)
    )
    expected = [
        Publish("a/b", b"x" * 300, 1, 1, False),
        PingResp(),
        Publish("a/c", b"", 0, 0, False),
        Publish("a/d", b"{}" * 20_000, 65535, 1, False),
    ]
    assert PacketReader().feed(stream) == expected
    for chunk in (1, 2, 3, 7, 1000):
        reader = PacketReader()
        found = []
        for start in range(0, len(stream), chunk):
            found += reader.feed(stream[start : start + chunk])
        assert found == expected, chunk


def test_publish_properties_are_skipped_and_flags_read() -> None:
    properties = (
        b"\x02\x00\x00\x00\x3c"  # message expiry 60 s
        + b"\x26\x00\x01k\x00\x02vv"  # user property k=vv
        + b"\x0b\x81\x01"  # subscription identifier 129 (two-byte varint)
    )
    data = bytearray(publish_bytes(b"t", b"payload", properties=properties, packet_id=9))
    data[0] |= 0x08 | 0x01  # DUP and RETAIN
    assert PacketReader().feed(bytes(data)) == [Publish("t", b"payload", 9, 1, True)]


def test_a_topic_that_is_not_utf8_comes_as_its_repr_to_be_dead_lettered() -> None:
    (packet,) = PacketReader().feed(publish_bytes(b"a/\xff", b"{}"))
    assert isinstance(packet, Publish)
    assert packet.topic == "b'a/\\xff'"


def test_connack_suback_disconnect() -> None:
    reader = PacketReader()
    connack = b"\x20\x0b\x01\x86\x08\x13\x00\x05\x1f\x00\x02no"
    suback = b"\x90\x04\x00\x01\x00\x87"
    assert reader.feed(connack + suback + b"\xe0\x00" + b"\xe0\x02\x8e\x00") == [
        ConnAck(session_present=True, reason_code=0x86, server_keepalive_s=5, reason="no"),
        SubAck(packet_id=1, reason_codes=(0x87,), reason=""),
        Disconnect(0, ""),
        Disconnect(0x8E, ""),
    ]
    refused = ConnAck(session_present=False, reason_code=0x86, server_keepalive_s=None, reason="")
    assert refused.refused
    assert refused.explain() == "connection refused with reason 0x86 (bad user name or password)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x30\xff\xff\xff\xff\x01", "remaining length: expected at most 4 bytes"),
        (b"\x34\x05\x00\x01t\x00\x01", "PUBLISH: expected QoS 0 or 1"),
        (b"\x36\x00", "PUBLISH: expected QoS 0, 1 or 2 in the flags, got 3"),
        (b"\x62\x02\x00\x01", "got PUBREL (first byte 0x62, 2 bytes)"),
        (b"\x32\x06\x00\x01t\x00\x01\x09", "PUBLISH: topic, packet id and properties take more"),
        (b"\x32\x04\x00\x01tx" + b"\x30\x00", "PUBLISH: topic and packet id take more than"),
        (b"\x20\x04\x00\x00\x01\x99", "CONNACK: expected a known property identifier, got 0x99"),
        (b"\x20\x01\x00", "CONNACK: expected at least 2 bytes, got 1"),
    ],
)
def test_malformed_packets_say_what_was_expected(data: bytes, message: str) -> None:
    with pytest.raises(MqttProtocolError, match=re.escape(message)):
        PacketReader().feed(data)


def test_connect_carries_credentials_and_session_settings() -> None:
    packet = connect_packet(
        client_id="ingest-1",
        keepalive_s=30,
        clean_start=False,
        session_expiry_s=7 * 24 * 3600,
        receive_maximum=2000,
        username="ingest",
        password="s3cret",
    )
    assert packet[0] == 0x10
    assert packet[2:9] == b"\x00\x04MQTT\x05"
    assert packet[9] == 0xC0  # user name and password, no clean start
    assert packet.endswith(b"\x00\x08ingest-1\x00\x06ingest\x00\x06s3cret")
    assert b"\x11\x00\x09\x3a\x80" in packet  # session expiry 604800 s
    assert b"\x21\x07\xd0" in packet  # receive maximum 2000


def test_acks_for_a_batch_are_one_buffer() -> None:
    assert puback_packets(range(1, 501)) == b"".join(
        b"\x40\x02" + n.to_bytes(2, "big") for n in range(1, 501)
    )
    assert puback_packets([]) == b""


def test_out_of_range_values_are_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("expected 0..268435455, got -1")):
        varint(-1)
    with pytest.raises(ValueError, match=re.escape("receive_maximum: expected 1..65535, got 0")):
        connect_packet(
            client_id="x", keepalive_s=1, clean_start=True, session_expiry_s=0, receive_maximum=0
        )
