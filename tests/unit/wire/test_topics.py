"""The MQTT topic scheme: building, parsing, filters, and clear errors for anything else."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.commands import COMMAND_KINDS
from protocols.topics import (
    Topic,
    TopicError,
    command_filter,
    command_topic,
    event_filter,
    event_topic,
    parse_topic,
    shared_subscription,
    status_filter,
    status_topic,
)

segments = st.text(
    st.characters(exclude_characters="/+#", exclude_categories=("Cc", "Cs")),
    min_size=1,
    max_size=64,
)


def test_topics_follow_the_design() -> None:
    assert (
        event_topic("plant-a", "line-1", "sealing") == "tracegate/v1/plant-a/line-1/sealing/event"
    )
    assert status_topic("plant-a", "line-1", "sealing") == (
        "tracegate/v1/plant-a/line-1/sealing/status"
    )
    assert command_topic("plant-a", "line-1", "sealing", "hold") == (
        "tracegate/v1/plant-a/line-1/sealing/cmd/hold"
    )


def test_prefix_is_configurable() -> None:
    prefix = "test-3f9a/acme/tracegate/v1"
    topic = event_topic("s", "l", "c", prefix=prefix)
    assert topic == "test-3f9a/acme/tracegate/v1/s/l/c/event"
    assert parse_topic(topic, prefix=prefix) == Topic(
        site="s", line="l", checkpoint="c", channel="event"
    )


@settings(max_examples=50, deadline=None)
@given(
    site=segments,
    line=segments,
    checkpoint=segments,
    name=st.sampled_from(COMMAND_KINDS),
)
def test_parse_inverts_build(site: str, line: str, checkpoint: str, name: str) -> None:
    event = parse_topic(event_topic(site, line, checkpoint))
    status = parse_topic(status_topic(site, line, checkpoint))
    command = parse_topic(command_topic(site, line, checkpoint, name))
    assert event == Topic(site=site, line=line, checkpoint=checkpoint, channel="event")
    assert status == Topic(site=site, line=line, checkpoint=checkpoint, channel="status")
    assert command == Topic(
        site=site, line=line, checkpoint=checkpoint, channel="cmd", command=name
    )
    for topic in (event, status, command):
        assert parse_topic(topic.to_topic()) == topic


def test_filters() -> None:
    assert event_filter() == "tracegate/v1/+/+/+/event"
    assert event_filter(prefix="t/1", site="s", checkpoint="c") == "t/1/s/+/c/event"
    assert status_filter(site="s", line="l") == "tracegate/v1/s/l/+/status"
    assert command_filter("s", "l", "c") == "tracegate/v1/s/l/c/cmd/+"
    assert shared_subscription("ingest", event_filter()) == "$share/ingest/tracegate/v1/+/+/+/event"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: event_topic("plant/a", "l", "c"),
            "Invalid site 'plant/a': expected no '/', '+', '#' or control characters in a topic "
            "segment, found '/'",
        ),
        (
            lambda: status_topic("s", "line+1", "c"),
            "Invalid line 'line+1': expected no '/', '+', '#' or control characters in a topic "
            "segment, found '+'",
        ),
        (
            lambda: event_topic("s", "l", "#"),
            "Invalid checkpoint '#': expected no '/', '+', '#' or control characters in a topic "
            "segment, found '#'",
        ),
        (lambda: event_topic("s", "", "c"), "Invalid line '': expected a non-empty topic segment"),
        (
            lambda: event_topic("s", "l", "x" * 65),
            f"Invalid checkpoint '{'x' * 65}': expected at most 64 characters, got 65",
        ),
        (
            lambda: event_topic("s", "l", "c\x00"),
            "Invalid checkpoint 'c\\x00': expected no '/', '+', '#' or control characters in a "
            "topic segment, found '\\x00'",
        ),
        (
            lambda: command_topic("s", "l", "c", "reboot"),
            "Invalid name 'reboot': expected one of 'workorder', 'shipment', 'hold', 'release',"
            " 'lotinspection'",
        ),
        (
            lambda: event_topic("s", "l", "c", prefix="tracegate//v1"),
            "Invalid prefix 'tracegate//v1': segment '': expected a non-empty topic segment",
        ),
        (
            lambda: event_topic("s", "l", "c", prefix="tracegate/v1/"),
            "Invalid prefix 'tracegate/v1/': segment '': expected a non-empty topic segment",
        ),
        (
            lambda: event_topic("s", "l", "c", prefix="$SYS"),
            "Invalid prefix '$SYS': expected no leading '$' (reserved by brokers)",
        ),
        (
            lambda: shared_subscription("in/gest", "a/b"),
            "Invalid group 'in/gest': expected no '/', '+', '#' or control characters in a topic "
            "segment, found '/'",
        ),
    ],
)
def test_build_errors(call: Callable[[], str], message: str) -> None:
    with pytest.raises(TopicError) as caught:
        call()
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("topic", "message"),
    [
        (
            "other/v1/s/l/c/event",
            "Invalid topic 'other/v1/s/l/c/event': expected it to start with 'tracegate/v1/'",
        ),
        (
            "tracegate/v1/s/l/event",
            "Invalid topic 'tracegate/v1/s/l/event': expected {site}/{line}/{checkpoint}/event, "
            ".../status or .../cmd/{name} after the prefix, got 3 segments",
        ),
        (
            "tracegate/v1/s/l/c/cmd/hold/extra",
            "Invalid topic 'tracegate/v1/s/l/c/cmd/hold/extra': expected {site}/{line}/"
            "{checkpoint}/event, .../status or .../cmd/{name} after the prefix, got 6 segments",
        ),
        (
            "tracegate/v1/s/l/c/telemetry",
            "Invalid topic 'tracegate/v1/s/l/c/telemetry': unknown channel 'telemetry', "
            "expected 'event', 'status' or 'cmd'",
        ),
        (
            "tracegate/v1/s/l/c/cmd",
            "Invalid topic 'tracegate/v1/s/l/c/cmd': expected a command name after 'cmd'",
        ),
        (
            "tracegate/v1/s/l/c/cmd/reboot",
            "Invalid topic 'tracegate/v1/s/l/c/cmd/reboot': unknown command 'reboot', "
            "expected one of 'workorder', 'shipment', 'hold', 'release', 'lotinspection'",
        ),
        (
            "tracegate/v1/s/l/c/event/x",
            "Invalid topic 'tracegate/v1/s/l/c/event/x': expected nothing after 'event', got 'x'",
        ),
        (
            "tracegate/v1/+/l/c/event",
            "Invalid topic 'tracegate/v1/+/l/c/event': site '+': expected no '/', '+', '#' or "
            "control characters in a topic segment, found '+'",
        ),
        (
            "tracegate/v1/s//c/event",
            "Invalid topic 'tracegate/v1/s//c/event': line '': expected a non-empty topic segment",
        ),
    ],
)
def test_parse_errors(topic: str, message: str) -> None:
    with pytest.raises(TopicError) as caught:
        parse_topic(topic)
    assert str(caught.value) == message
    assert (caught.value.field, caught.value.value) == ("topic", topic)
    assert isinstance(caught.value, ValueError)


def test_parse_with_another_prefix_rejects_the_default_one() -> None:
    with pytest.raises(TopicError, match="expected it to start with 'test-1/'"):
        parse_topic(event_topic("s", "l", "c"), prefix="test-1")
