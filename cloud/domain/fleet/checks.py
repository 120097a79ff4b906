"""What a message on a status topic must satisfy before it is kept: pure checks, no I/O.

A refusal has the same codes and wording as the event ingest's (`cloud.domain.events
.validation`) and goes to the same dead-letter table. The device registry check (is this
device bound to that checkpoint?) comes later, with the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloud.domain.events.validation import Incoming, RefusalCode, Refused
from protocols.codec import WireError, decode_event
from protocols.events import DeviceStatus
from protocols.topics import TopicError, parse_topic


@dataclass(slots=True)
class StatusReceipt:
    """A message as it arrived on a status topic."""

    incoming: Incoming
    retained: bool
    """Handed over by the broker at subscription (its retained copy), not published live."""


@dataclass(slots=True)
class CheckedStatus:
    receipt: StatusReceipt
    status: DeviceStatus


@dataclass(slots=True)
class Cleared:
    """An empty message on a status topic: the MQTT way of deleting its retained status (a
    device taken out of service). Not garbage: the topic's row is removed."""

    receipt: StatusReceipt


def check_status(
    receipt: StatusReceipt, *, topic_prefix: str, max_bytes: int
) -> CheckedStatus | Cleared | Refused:
    """Decode one status message and check that the topic it came on is its device's.

    >>> import datetime as dt
    >>> now = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    >>> garbage = StatusReceipt(Incoming(b"\\x00", "tg/a/l/c/status", now, "mqtt"), False)
    >>> check_status(garbage, topic_prefix="tg", max_bytes=1024).code
    'undecodable'
    """
    incoming = receipt.incoming
    if not incoming.payload:
        return Cleared(receipt)
    size = len(incoming.payload)
    if size > max_bytes:
        return Refused(
            incoming, "too_large", f"payload of {size} bytes: expected at most {max_bytes} bytes"
        )
    try:
        event = decode_event(incoming.payload)
    except WireError as exc:
        code: RefusalCode = "undecodable" if exc.category == "malformed_json" else "invalid"
        return Refused(incoming, code, str(exc))
    if not isinstance(event, DeviceStatus):
        return Refused(
            incoming,
            "invalid",
            f"event {event.event_id} on status topic {incoming.topic!r}: expected kind "
            f"'device.status', got {event.kind!r}",
        )
    problem = _topic_problem(incoming.topic, event, topic_prefix=topic_prefix)
    if problem is not None:
        return Refused(incoming, problem[0], problem[1])
    return CheckedStatus(receipt, event)


def _topic_problem(
    topic: str, status: DeviceStatus, *, topic_prefix: str
) -> tuple[RefusalCode, str] | None:
    try:
        parsed = parse_topic(topic, prefix=topic_prefix)
    except TopicError as exc:
        return "bad_topic", str(exc)
    if parsed.channel != "status":
        return (
            "bad_topic",
            f"topic {topic!r}: expected a status topic, got channel {parsed.channel!r}",
        )
    on_topic = f"{parsed.site}/{parsed.line}/{parsed.checkpoint}"
    in_status = f"{status.site}/{status.line}/{status.checkpoint}"
    if on_topic != in_status:
        return (
            "spoof",
            f"status {status.event_id} from device {status.device_id!r} names checkpoint "
            f"{in_status!r} but came on the status topic of {on_topic!r}",
        )
    return None
