"""JSON encoding and decoding of events and commands, and the per-device hash chain.

Encoding is deterministic: the same event always gives the same bytes (fields in declaration
order, no dicts), which the hash chain relies on. Every failure raises `WireError`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

import msgspec

from protocols.commands import COMMAND_KINDS, Command
from protocols.events import EVENT_KINDS, Event
from protocols.scalars import SCHEMA

__all__ = [
    "WireError",
    "decode_command",
    "decode_event",
    "encode_command",
    "encode_event",
    "event_hash",
]

Subject = Literal["event", "command"]
Category = Literal[
    "malformed_json",
    "unknown_kind",
    "wrong_schema",
    "missing_field",
    "wrong_type",
    "invalid_value",
    "not_encodable",
]

_EXCERPT_CHARS = 80
_MSGSPEC_AT = re.compile(r"^(?P<message>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")
_WRONG_TYPE = re.compile(r"^Expected `(?P<expected>[^`]+)`, got `(?P<found>[^`]+)`$")
_UNKNOWN_TAG = re.compile(r"^Invalid value (?P<value>.+)$")
_FIELD_PREFIX = re.compile(r"^(?P<field>[a-z_][a-z0-9_]*(?:\[\d+\])*): (?P<rest>.*)$", re.DOTALL)
_PATH_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


class WireError(ValueError):
    """A message that is not a valid event or command, or an event that cannot be sent as one.

    `str(error)` reads like "Invalid event at $.seq: expected int, got str; payload '{...'".
    """

    subject: Subject
    """What was being decoded or encoded: "event" or "command"."""
    category: Category
    """The kind of problem, stable for metrics: "malformed_json", "unknown_kind", ..."""
    problem: str
    """What was wrong, in words."""
    path: str | None
    """Where in the message, as msgspec writes it ("$.parameters[0].value"), or None."""
    excerpt: str
    """The start of the offending payload (at most 80 characters, then "...")."""

    def __init__(
        self,
        *,
        subject: Subject,
        category: Category,
        problem: str,
        path: str | None,
        excerpt: str,
    ) -> None:
        self.subject = subject
        self.category = category
        self.problem = problem
        self.path = path
        self.excerpt = excerpt
        where = f" at {path}" if path else ""
        super().__init__(f"Invalid {subject}{where}: {problem}; payload {excerpt!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.subject, self.category, self.problem, self.path, self.excerpt))


def _rebuild(
    subject: Subject, category: Category, problem: str, path: str | None, excerpt: str
) -> WireError:
    return WireError(
        subject=subject, category=category, problem=problem, path=path, excerpt=excerpt
    )


_encoder = msgspec.json.Encoder()
_event_decoder: msgspec.json.Decoder[Event] = msgspec.json.Decoder(Event)
_command_decoder: msgspec.json.Decoder[Command] = msgspec.json.Decoder(Command)


def encode_event(event: Event) -> bytes:
    """Encode an event as JSON, checked: the bytes returned always decode with `decode_event`.

    msgspec checks field constraints only when decoding, so the result is decoded once before it
    is returned; an event that breaks a constraint raises WireError here, on the device, instead
    of being sent and refused by the cloud.
    """
    data = _encode(event, subject="event")
    try:
        _event_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise _translate(exc, data, subject="event", kinds=EVENT_KINDS) from None
    return data


def decode_event(data: bytes | str) -> Event:
    """Decode one event from JSON, raising WireError with what was wrong.

    Fields unknown to this version are ignored, so newer producers can add fields.
    """
    try:
        return _event_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise _translate(exc, data, subject="event", kinds=EVENT_KINDS) from None


def encode_command(command: Command) -> bytes:
    """Encode a command as JSON, checked like `encode_event`."""
    data = _encode(command, subject="command")
    try:
        _command_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise _translate(exc, data, subject="command", kinds=COMMAND_KINDS) from None
    return data


def decode_command(data: bytes | str) -> Command:
    """Decode one command from JSON, raising WireError with what was wrong."""
    try:
        return _command_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise _translate(exc, data, subject="command", kinds=COMMAND_KINDS) from None


def event_hash(encoded: bytes) -> str:
    """SHA-256 hex of an encoded event: the next event's `prev_hash` on the same device.

    Hash the bytes as sent or received, never a re-encoding: a decoder drops unknown fields.

    >>> event_hash(b"{}")
    '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'
    """
    return hashlib.sha256(encoded).hexdigest()


def _encode(value: Event | Command, *, subject: Subject) -> bytes:
    try:
        return _encoder.encode(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise WireError(
            subject=subject,
            category="not_encodable",
            problem=f"cannot encode {type(value).__name__}: {exc}",
            path=None,
            excerpt=_excerpt(repr(value)),
        ) from None


def _translate(
    exc: msgspec.DecodeError, data: bytes | str, *, subject: Subject, kinds: tuple[str, ...]
) -> WireError:
    excerpt = _excerpt(data)
    if not isinstance(exc, msgspec.ValidationError):
        detail = str(exc).removeprefix("JSON is malformed: ")
        return WireError(
            subject=subject,
            category="malformed_json",
            problem=f"malformed JSON: {detail[:1].lower()}{detail[1:]}",
            path=None,
            excerpt=excerpt,
        )
    document = _untyped(data)
    # A message from another schema version may fail anywhere; name the version, not a symptom.
    if isinstance(document, dict) and document.get("schema", SCHEMA) != SCHEMA:
        return WireError(
            subject=subject,
            category="wrong_schema",
            problem=f"unsupported schema version {document['schema']!r}, expected {SCHEMA!r}",
            path="$.schema",
            excerpt=excerpt,
        )
    match = _MSGSPEC_AT.match(str(exc))
    assert match is not None  # the pattern matches any string
    message, path = match["message"], match["path"] or "$"
    category: Category
    if missing := _MISSING.match(message):
        category, problem = "missing_field", "missing required field"
        path = f"{path}.{missing['field']}"
    elif path == "$.kind" and (unknown := _UNKNOWN_TAG.match(message)):
        category = "unknown_kind"
        expected = ", ".join(repr(kind) for kind in kinds)
        problem = f"unknown kind {unknown['value']}, expected one of {expected}"
    elif wrong := _WRONG_TYPE.match(message):
        category, problem = "wrong_type", f"expected {wrong['expected']}, got {wrong['found']}"
    elif field_first := _FIELD_PREFIX.match(message):
        # Raised by a struct's __post_init__ check, which names the field it rejects.
        category, problem = "invalid_value", field_first["rest"]
        path = f"{path}.{field_first['field']}"
    else:
        category, problem = "invalid_value", message.replace("`", "")
        if problem.startswith("Expected"):
            problem = "e" + problem[1:]
            found = _value_at(document, path)
            if found is not _ABSENT:
                problem = f"{problem}, got {found!r}"
    return WireError(
        subject=subject, category=category, problem=problem, path=path, excerpt=excerpt
    )


_ABSENT = object()


def _untyped(data: bytes | str) -> object:
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError:
        return None


def _value_at(document: object, path: str) -> object:
    node = document
    for key, index in _PATH_STEP.findall(path.removeprefix("$")):
        if key and isinstance(node, dict) and key in node:
            node = node[key]
        elif index and isinstance(node, list) and int(index) < len(node):
            node = node[int(index)]
        else:
            return _ABSENT
    return node


def _excerpt(data: bytes | str) -> str:
    text = data if isinstance(data, str) else bytes(data).decode("utf-8", "backslashreplace")
    return text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "..."
