"""The contract edge and cloud share: wire events and commands, their codec, ids and topics.

Pure code: no I/O, nothing done at import time beyond defining types.
"""

from protocols.codec import (
    WireError,
    decode_command,
    decode_event,
    encode_command,
    encode_event,
    event_hash,
)
from protocols.commands import COMMAND_KINDS, Command
from protocols.events import EVENT_KINDS, SCHEMA, Event
from protocols.ids import uuid7, uuid7_time
from protocols.topics import (
    DEFAULT_PREFIX,
    Topic,
    TopicError,
    command_topic,
    event_topic,
    parse_topic,
    status_topic,
)

__all__ = [
    "COMMAND_KINDS",
    "DEFAULT_PREFIX",
    "EVENT_KINDS",
    "SCHEMA",
    "Command",
    "Event",
    "Topic",
    "TopicError",
    "WireError",
    "command_topic",
    "decode_command",
    "decode_event",
    "encode_command",
    "encode_event",
    "event_hash",
    "event_topic",
    "parse_topic",
    "status_topic",
    "uuid7",
    "uuid7_time",
]
