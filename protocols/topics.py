"""The MQTT topic scheme: ``{prefix}/{site}/{line}/{checkpoint}/event|status|cmd/{name}``.

The prefix is configurable because plants may namespace their topics and tests use a unique
prefix on a shared broker; it defaults to "tracegate/v1".

>>> event_topic("plant-a", "line-1", "sealing")
'tracegate/v1/plant-a/line-1/sealing/event'
>>> parse_topic("tracegate/v1/plant-a/line-1/sealing/cmd/hold")
Topic(site='plant-a', line='line-1', checkpoint='sealing', channel='cmd', command='hold')
"""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from protocols.commands import COMMAND_KINDS

__all__ = [
    "DEFAULT_PREFIX",
    "Channel",
    "Topic",
    "TopicError",
    "command_filter",
    "command_topic",
    "event_filter",
    "event_topic",
    "parse_topic",
    "shared_subscription",
    "status_filter",
    "status_topic",
]

DEFAULT_PREFIX = "tracegate/v1"
"""The topic prefix unless a plant or a test configures another."""

Channel = Literal["event", "status", "cmd"]
_CHANNELS: tuple[Channel, ...] = ("event", "status", "cmd")
_MAX_SEGMENT_CHARS = 64
_FORBIDDEN = re.compile(r"[/+#\x00-\x1f\x7f]")


class TopicError(ValueError):
    """A topic, prefix or topic segment that does not fit the scheme."""

    field: str
    """What was checked: "topic", "prefix", "site", "line", "checkpoint", "name" or "group"."""
    value: str
    """The offending input."""
    problem: str
    """What was wrong with it."""

    def __init__(self, *, field: str, value: str, problem: str) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        super().__init__(f"Invalid {field} {value!r}: {problem}")


class Topic(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed tracegate topic."""

    site: str
    """The site segment."""
    line: str
    """The line segment."""
    checkpoint: str
    """The checkpoint segment."""
    channel: Channel
    """"event" (QoS 1), "status" (retained) or "cmd" (cloud to edge)."""
    command: str | None = None
    """The command kind for a "cmd" topic (one of `COMMAND_KINDS`), else None."""

    def to_topic(self, *, prefix: str = DEFAULT_PREFIX) -> str:
        """The topic string again, under `prefix`."""
        base = _base(prefix, self.site, self.line, self.checkpoint)
        if self.channel == "cmd":
            return f"{base}/cmd/{_command(self.command or '')}"
        return f"{base}/{self.channel}"


def event_topic(site: str, line: str, checkpoint: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    """Where a checkpoint's edge agent publishes its events (QoS 1)."""
    return f"{_base(prefix, site, line, checkpoint)}/event"


def status_topic(site: str, line: str, checkpoint: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    """Where a checkpoint's edge agent publishes its retained `device.status` (and its will)."""
    return f"{_base(prefix, site, line, checkpoint)}/status"


def command_topic(
    site: str, line: str, checkpoint: str, name: str, *, prefix: str = DEFAULT_PREFIX
) -> str:
    """Where the cloud sends command `name` (one of `COMMAND_KINDS`) to a checkpoint."""
    return f"{_base(prefix, site, line, checkpoint)}/cmd/{_command(name)}"


def event_filter(
    *,
    prefix: str = DEFAULT_PREFIX,
    site: str | None = None,
    line: str | None = None,
    checkpoint: str | None = None,
) -> str:
    """A subscription filter for events; a segment left as None matches any value ('+').

    >>> event_filter(site="plant-a")
    'tracegate/v1/plant-a/+/+/event'
    """
    return f"{_filter_base(prefix, site, line, checkpoint)}/event"


def status_filter(
    *,
    prefix: str = DEFAULT_PREFIX,
    site: str | None = None,
    line: str | None = None,
    checkpoint: str | None = None,
) -> str:
    """A subscription filter for status messages; a segment left as None matches any value."""
    return f"{_filter_base(prefix, site, line, checkpoint)}/status"


def command_filter(site: str, line: str, checkpoint: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    """The filter an edge agent subscribes to for all its commands.

    >>> command_filter("plant-a", "line-1", "packing")
    'tracegate/v1/plant-a/line-1/packing/cmd/+'
    """
    return f"{_base(prefix, site, line, checkpoint)}/cmd/+"


def shared_subscription(group: str, topic_filter: str) -> str:
    """An MQTT 5 shared subscription: the broker spreads matching messages over the group.

    >>> shared_subscription("ingest", event_filter())
    '$share/ingest/tracegate/v1/+/+/+/event'
    """
    return f"$share/{_segment('group', group)}/{topic_filter}"


def parse_topic(topic: str, *, prefix: str = DEFAULT_PREFIX) -> Topic:
    """Parse an event, status or command topic, raising TopicError for anything else.

    >>> try:
    ...     parse_topic("tracegate/v1/plant-a/line-1/sealing/telemetry")
    ... except TopicError as error:
    ...     print(error)
    Invalid topic 'tracegate/v1/plant-a/line-1/sealing/telemetry': unknown channel 'telemetry', \
expected 'event', 'status' or 'cmd'
    """
    head = _prefix(prefix) + "/"
    if not topic.startswith(head):
        raise TopicError(field="topic", value=topic, problem=f"expected it to start with {head!r}")
    parts = topic[len(head) :].split("/")
    shape = "{site}/{line}/{checkpoint}/event, .../status or .../cmd/{name}"
    if len(parts) not in (4, 5):
        raise TopicError(
            field="topic",
            value=topic,
            problem=f"expected {shape} after the prefix, got {len(parts)} segments",
        )
    for name, part in zip(("site", "line", "checkpoint", "channel", "name"), parts, strict=False):
        problem = _segment_problem(part)
        if problem:
            raise TopicError(field="topic", value=topic, problem=f"{name} {part!r}: {problem}")
    site, line, checkpoint, channel = parts[:4]
    if channel not in _CHANNELS:
        raise TopicError(
            field="topic",
            value=topic,
            problem=f"unknown channel {channel!r}, expected 'event', 'status' or 'cmd'",
        )
    if channel == "cmd":
        if len(parts) != 5:
            raise TopicError(
                field="topic", value=topic, problem="expected a command name after 'cmd'"
            )
        if parts[4] not in COMMAND_KINDS:
            raise TopicError(
                field="topic",
                value=topic,
                problem=f"unknown command {parts[4]!r}, {_expected_commands()}",
            )
        return Topic(site=site, line=line, checkpoint=checkpoint, channel="cmd", command=parts[4])
    if len(parts) != 4:
        raise TopicError(
            field="topic",
            value=topic,
            problem=f"expected nothing after {channel!r}, got {parts[4]!r}",
        )
    return Topic(
        site=site,
        line=line,
        checkpoint=checkpoint,
        channel="event" if channel == "event" else "status",
    )


def _base(prefix: str, site: str, line: str, checkpoint: str) -> str:
    return "/".join(
        (
            _prefix(prefix),
            _segment("site", site),
            _segment("line", line),
            _segment("checkpoint", checkpoint),
        )
    )


def _filter_base(prefix: str, site: str | None, line: str | None, checkpoint: str | None) -> str:
    segments = [
        "+" if value is None else _segment(field, value)
        for field, value in (("site", site), ("line", line), ("checkpoint", checkpoint))
    ]
    return "/".join((_prefix(prefix), *segments))


def _prefix(prefix: str) -> str:
    if prefix.startswith("$"):
        raise TopicError(
            field="prefix", value=prefix, problem="expected no leading '$' (reserved by brokers)"
        )
    for part in prefix.split("/"):
        problem = _segment_problem(part)
        if problem:
            raise TopicError(field="prefix", value=prefix, problem=f"segment {part!r}: {problem}")
    return prefix


def _segment(field: str, value: str) -> str:
    problem = _segment_problem(value)
    if problem:
        raise TopicError(field=field, value=value, problem=problem)
    return value


def _segment_problem(value: str) -> str | None:
    if not value:
        return "expected a non-empty topic segment"
    if len(value) > _MAX_SEGMENT_CHARS:
        return f"expected at most {_MAX_SEGMENT_CHARS} characters, got {len(value)}"
    found = _FORBIDDEN.search(value)
    if found:
        return (
            f"expected no '/', '+', '#' or control characters in a topic segment, "
            f"found {found.group()!r}"
        )
    return None


def _command(name: str) -> str:
    if name not in COMMAND_KINDS:
        raise TopicError(field="name", value=name, problem=_expected_commands())
    return name


def _expected_commands() -> str:
    return "expected one of " + ", ".join(repr(kind) for kind in COMMAND_KINDS)
