"""The MQTT 5 packets a QoS 1 subscriber exchanges with its broker: built and parsed, no I/O.

Why the ingest has its own: paho-mqtt spends about 70 µs of CPU per received
message on this machine (bench/ingest.py: a bare paho subscriber drains about
13,000 messages/s with a whole core), and it sends every acknowledgement as a
packet of its own plus a wake-up byte. That alone left the ingest no CPU for
its real work on a 2-core host. A subscriber needs only a few packet kinds:
CONNECT/CONNACK, SUBSCRIBE/SUBACK, PUBLISH (received, QoS 0 or 1), PUBACK,
PINGREQ/PINGRESP and DISCONNECT. Parsing every complete packet of a read in one
pass costs about 1.5 µs a message, and a batch's acknowledgements go out as one
write. Publishing (commands to the edges) still goes through paho.

The broker is never offered topic aliases (Topic Alias Maximum stays 0), so
every PUBLISH carries its topic. QoS 2 cannot arrive: the subscription asks
for QoS 1 at most, and MQTT 5 forbids the server to send more (3.8.4).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

PROTOCOL_LEVEL = 5
_PINGRESP_FIRST_BYTE = 0xD0

# Packet types (first byte >> 4).
_CONNACK = 2
_PUBLISH = 3
_SUBACK = 9
_PINGRESP = 13
_DISCONNECT = 14

_PACKET_NAMES = {
    1: "CONNECT",
    2: "CONNACK",
    3: "PUBLISH",
    4: "PUBACK",
    5: "PUBREC",
    6: "PUBREL",
    7: "PUBCOMP",
    8: "SUBSCRIBE",
    9: "SUBACK",
    10: "UNSUBSCRIBE",
    11: "UNSUBACK",
    12: "PINGREQ",
    13: "PINGRESP",
    14: "DISCONNECT",
    15: "AUTH",
}

# Property identifiers (MQTT 5, 2.2.2.2) by how their value is encoded.
_BYTE_PROPERTIES = frozenset({0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A})
_TWO_BYTE_PROPERTIES = frozenset({0x13, 0x21, 0x22, 0x23})
_FOUR_BYTE_PROPERTIES = frozenset({0x02, 0x11, 0x18, 0x27})
_VARINT_PROPERTIES = frozenset({0x0B})
_STRING_PROPERTIES = frozenset({0x03, 0x08, 0x12, 0x15, 0x1A, 0x1C, 0x1F})
_BINARY_PROPERTIES = frozenset({0x09, 0x16})
_PAIR_PROPERTIES = frozenset({0x26})
_SERVER_KEEP_ALIVE = 0x13
_REASON_STRING = 0x1F

PINGREQ = b"\xc0\x00"
DISCONNECT = b"\xe0\x00"
"""A normal disconnection (reason 0): the broker keeps the session and discards the will."""

CONNACK_REASONS = {
    0x80: "unspecified error",
    0x81: "malformed packet",
    0x82: "protocol error",
    0x83: "implementation specific error",
    0x84: "unsupported protocol version",
    0x85: "client identifier not valid",
    0x86: "bad user name or password",
    0x87: "not authorized",
    0x88: "server unavailable",
    0x89: "server busy",
    0x8A: "banned",
    0x8C: "bad authentication method",
    0x90: "topic name invalid",
    0x95: "packet too large",
    0x97: "quota exceeded",
    0x99: "payload format invalid",
    0x9A: "retain not supported",
    0x9B: "QoS not supported",
    0x9C: "use another server",
    0x9D: "server moved",
    0x9F: "connection rate exceeded",
}


class MqttProtocolError(ValueError):
    """Bytes from the broker that are not the MQTT 5 a subscriber expects.

    The connection is dropped and made again; nothing it delivered is acknowledged.
    """


@dataclass(slots=True)
class Publish:
    """A message delivered to the subscription (not frozen: one per message, and a frozen
    dataclass costs four times as much to build)."""

    topic: str
    """The topic; bytes that are not UTF-8 come as their `repr` (dead-lettered later)."""
    payload: bytes
    packet_id: int
    """0 for QoS 0, which needs no acknowledgement."""
    qos: int
    dup: bool
    """The broker sent it before, on this or an earlier connection."""


@dataclass(frozen=True, slots=True)
class ConnAck:
    session_present: bool
    reason_code: int
    server_keepalive_s: int | None
    """Set when the broker overrides the client's keep-alive (MQTT 5, 3.2.2.3.14)."""
    reason: str

    @property
    def refused(self) -> bool:
        return self.reason_code >= 0x80

    def explain(self) -> str:
        words = CONNACK_REASONS.get(self.reason_code, "unknown reason")
        detail = f": {self.reason}" if self.reason else ""
        return f"connection refused with reason 0x{self.reason_code:02X} ({words}){detail}"


@dataclass(frozen=True, slots=True)
class SubAck:
    packet_id: int
    reason_codes: tuple[int, ...]
    """Granted QoS (0-2) per topic filter, or a failure code (0x80 and above)."""
    reason: str


@dataclass(frozen=True, slots=True)
class PingResp:
    pass


@dataclass(frozen=True, slots=True)
class Disconnect:
    """The broker closes the connection, with a reason (0x8E: another client took the id)."""

    reason_code: int
    reason: str


Packet = Publish | ConnAck | SubAck | PingResp | Disconnect


def varint(value: int) -> bytes:
    """MQTT's variable byte integer.

    >>> varint(0), varint(127), varint(128), varint(16_383), varint(2_097_152)
    (b'\\x00', b'\\x7f', b'\\x80\\x01', b'\\xff\\x7f', b'\\x80\\x80\\x80\\x01')
    """
    if not 0 <= value <= 268_435_455:
        raise ValueError(f"variable byte integer: expected 0..268435455, got {value}")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _text(value: str | bytes) -> bytes:
    data = value.encode("utf-8") if isinstance(value, str) else value
    if len(data) > 0xFFFF:
        raise ValueError(f"MQTT string: expected at most 65535 bytes, got {len(data)}")
    return len(data).to_bytes(2, "big") + data


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes((first_byte,)) + varint(len(body)) + body


def connect_packet(
    *,
    client_id: str,
    keepalive_s: int,
    clean_start: bool,
    session_expiry_s: int,
    receive_maximum: int,
    username: str | None = None,
    password: str | None = None,
) -> bytes:
    """CONNECT with the session expiry and Receive Maximum the ingest's session needs.

    >>> connect_packet(client_id="a", keepalive_s=30, clean_start=False,
    ...     session_expiry_s=60, receive_maximum=10).hex(" ")
    '10 16 00 04 4d 51 54 54 05 00 00 1e 08 11 00 00 00 3c 21 00 0a 00 01 61'
    """
    if not 0 <= keepalive_s <= 0xFFFF:
        raise ValueError(f"keepalive_s: expected 0..65535, got {keepalive_s}")
    if not 1 <= receive_maximum <= 0xFFFF:
        raise ValueError(f"receive_maximum: expected 1..65535, got {receive_maximum}")
    flags = (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    flags |= 0x02 if clean_start else 0
    properties = b"\x11" + struct.pack("!I", session_expiry_s)
    properties += b"\x21" + struct.pack("!H", receive_maximum)
    body = _text("MQTT") + bytes((PROTOCOL_LEVEL, flags)) + struct.pack("!H", keepalive_s)
    body += varint(len(properties)) + properties + _text(client_id)
    if username is not None:
        body += _text(username)
    if password is not None:
        body += _text(password.encode("utf-8"))
    return _packet(0x10, body)


def subscribe_packet(*, packet_id: int, topic_filter: str, max_qos: int) -> bytes:
    """SUBSCRIBE to one filter (shared subscriptions are plain filters: `$share/group/...`).

    >>> subscribe_packet(packet_id=1, topic_filter="a/#", max_qos=1).hex(" ")
    '82 09 00 01 00 00 03 61 2f 23 01'
    """
    if max_qos not in (0, 1):
        raise ValueError(f"max_qos: expected 0 or 1 (this subscriber has no QoS 2), got {max_qos}")
    body = struct.pack("!H", packet_id) + b"\x00" + _text(topic_filter) + bytes((max_qos,))
    return _packet(0x82, body)


_PUBACK_HEADER = b"\x40\x02"


def puback_packets(packet_ids: Iterable[int]) -> bytes:
    """PUBACKs (reason 0, which MQTT 5 lets us leave out) for many messages, one write.

    >>> puback_packets([1, 258]).hex(" ")
    '40 02 00 01 40 02 01 02'
    """
    return b"".join([_PUBACK_HEADER + packet_id.to_bytes(2, "big") for packet_id in packet_ids])


class PacketReader:
    """Splits the byte stream from the broker into packets, whatever the reads' boundaries.

    >>> reader = PacketReader()
    >>> data = b"\\x32\\x08\\x00\\x01t\\x00\\x07\\x00ok"  # PUBLISH QoS 1, topic "t", id 7
    >>> reader.feed(data[:4]), reader.feed(data[4:])
    ([], [Publish(topic='t', payload=b'ok', packet_id=7, qos=1, dup=False)])
    """

    def __init__(self) -> None:
        self._pending = b""
        """The start of a packet whose end has not arrived yet."""

    def feed(self, data: bytes) -> list[Packet]:
        """Every packet completed by `data`; raises MqttProtocolError on malformed input."""
        # Parsed from one bytes object: each payload is then one slice, one copy.
        if self._pending:
            data = self._pending + data
        packets: list[Packet] = []
        size = len(data)
        start = 0
        # The hot loop: written out for PUBLISH, which is nearly every packet.
        while size - start >= 2:
            first = data[start]
            index = start + 1
            length = 0
            shift = 0
            while True:
                if index >= size:
                    length = -1
                    break
                byte = data[index]
                index += 1
                length |= (byte & 0x7F) << shift
                if not byte & 0x80:
                    break
                shift += 7
                if shift > 21:
                    raise MqttProtocolError(
                        "remaining length: expected at most 4 bytes, got a 5th continuation byte"
                    )
            if length < 0 or size - index < length:
                break
            end = index + length
            kind = first >> 4
            if kind == _PUBLISH:
                packets.append(_publish(first, data, index, end))
            else:
                packets.append(_control(kind, first, data[index:end]))
            start = end
        self._pending = data[start:] if start < size else b""
        return packets


def _publish(first: int, data: bytes, index: int, end: int) -> Publish:
    qos = (first >> 1) & 0x03
    if qos == 3:
        raise MqttProtocolError("PUBLISH: expected QoS 0, 1 or 2 in the flags, got 3")
    if qos == 2:
        raise MqttProtocolError(
            "PUBLISH: expected QoS 0 or 1 (the subscription granted at most 1), got QoS 2"
        )
    if end - index < 3:
        raise MqttProtocolError(f"PUBLISH: expected a topic, got {end - index} bytes")
    topic_size = (data[index] << 8) | data[index + 1]
    index += 2
    raw_topic = data[index : index + topic_size]
    index += topic_size
    packet_id = 0
    if qos:
        if index + 2 > end:
            raise MqttProtocolError(
                f"PUBLISH: topic and packet id take more than its {end - index} bytes"
            )
        packet_id = (data[index] << 8) | data[index + 1]
        index += 2
    if index < end and data[index] == 0:
        index += 1  # no properties: the usual case
    else:
        properties, index = _varint_at(data, index, end, "PUBLISH properties length")
        index += properties
    if index > end:
        raise MqttProtocolError(
            f"PUBLISH: topic, packet id and properties take more than its {end} bytes"
        )
    try:
        topic = raw_topic.decode("utf-8")
    except UnicodeDecodeError:
        topic = repr(raw_topic)
    return Publish(topic, data[index:end], packet_id, qos, bool(first & 0x08))


def _varint_at(buffer: bytes | bytearray, index: int, end: int, what: str) -> tuple[int, int]:
    value = 0
    for shift in (0, 7, 14, 21):
        if index >= end:
            raise MqttProtocolError(f"{what}: expected a variable byte integer, got the end")
        byte = buffer[index]
        index += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, index
    raise MqttProtocolError(f"{what}: expected at most 4 bytes, got a 5th continuation byte")


def _properties(body: bytes, index: int, packet: str) -> tuple[dict[int, object], int]:
    """Properties from `index`: {identifier: value} (the last of a repeated one) and the end."""
    size, index = _varint_at(body, index, len(body), f"{packet} properties length")
    end = index + size
    if end > len(body):
        raise MqttProtocolError(
            f"{packet}: expected {size} bytes of properties, got {len(body) - index}"
        )
    found: dict[int, object] = {}
    while index < end:
        identifier = body[index]
        index += 1
        value: object
        if identifier in _BYTE_PROPERTIES:
            value, index = body[index], index + 1
        elif identifier in _TWO_BYTE_PROPERTIES:
            value, index = int.from_bytes(body[index : index + 2], "big"), index + 2
        elif identifier in _FOUR_BYTE_PROPERTIES:
            value, index = int.from_bytes(body[index : index + 4], "big"), index + 4
        elif identifier in _VARINT_PROPERTIES:
            value, index = _varint_at(body, index, end, f"{packet} property 0x{identifier:02X}")
        elif identifier in _STRING_PROPERTIES or identifier in _BINARY_PROPERTIES:
            size = int.from_bytes(body[index : index + 2], "big")
            raw = body[index + 2 : index + 2 + size]
            value = raw.decode("utf-8", "replace") if identifier in _STRING_PROPERTIES else raw
            index += 2 + size
        elif identifier in _PAIR_PROPERTIES:
            for _ in range(2):
                index += 2 + int.from_bytes(body[index : index + 2], "big")
            value = None
        else:
            raise MqttProtocolError(
                f"{packet}: expected a known property identifier, got 0x{identifier:02X}"
            )
        found[identifier] = value
    if index != end:
        raise MqttProtocolError(f"{packet}: a property runs past the properties' {size} bytes")
    return found, end


def _control(kind: int, first: int, body: bytes) -> Packet:
    name = _PACKET_NAMES.get(kind, f"type {kind}")
    if kind == _CONNACK:
        if len(body) < 2:
            raise MqttProtocolError(f"CONNACK: expected at least 2 bytes, got {len(body)}")
        properties, _ = _properties(body, 2, name) if len(body) > 2 else ({}, 2)
        keepalive = properties.get(_SERVER_KEEP_ALIVE)
        return ConnAck(
            session_present=bool(body[0] & 0x01),
            reason_code=body[1],
            server_keepalive_s=keepalive if isinstance(keepalive, int) else None,
            reason=str(properties.get(_REASON_STRING, "")),
        )
    if kind == _SUBACK:
        if len(body) < 3:
            raise MqttProtocolError(f"SUBACK: expected at least 3 bytes, got {len(body)}")
        properties, index = _properties(body, 2, name)
        return SubAck(
            packet_id=int.from_bytes(body[:2], "big"),
            reason_codes=tuple(body[index:]),
            reason=str(properties.get(_REASON_STRING, "")),
        )
    if kind == _PINGRESP and first == _PINGRESP_FIRST_BYTE and not body:
        return PingResp()
    if kind == _DISCONNECT:
        if not body:
            return Disconnect(0, "")
        properties, _ = _properties(body, 1, name) if len(body) > 1 else ({}, 1)
        return Disconnect(body[0], str(properties.get(_REASON_STRING, "")))
    raise MqttProtocolError(
        f"expected CONNACK, SUBACK, PUBLISH, PINGRESP or DISCONNECT from the broker, got {name} "
        f"(first byte 0x{first:02X}, {len(body)} bytes)"
    )
