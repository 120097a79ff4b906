"""The status consumer's pure parts: a status message's checks, liveness, config drift, and
the line status page's durations."""

from __future__ import annotations

import datetime as dt
import doctest

import pytest

from cloud.domain.events.validation import Incoming, Refused
from cloud.domain.fleet import checks, liveness
from cloud.domain.fleet.checks import CheckedStatus, Cleared, StatusReceipt, check_status
from cloud.domain.fleet.liveness import line_configs, silent_after
from cloud.web import lines
from protocols.codec import encode_event
from protocols.events import DeviceStatus, LotReceived
from protocols.ids import uuid7

PREFIX = "tg/v1"
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
TOPIC = "tg/v1/s/l/sealing/status"


def status(*, checkpoint: str = "sealing", online: bool = True) -> DeviceStatus:
    return DeviceStatus(
        event_id=uuid7(),
        device_id="edge-1",
        occurred_at=NOW,
        site="s",
        line="l",
        checkpoint=checkpoint,
        online=online,
        software_version="1.0",
        config_hash="cfg",
        outbox_depth=0,
        outbox_oldest_age_s=0.0,
        outbox_bytes=0,
    )


def check(payload: bytes, *, topic: str = TOPIC) -> CheckedStatus | Cleared | Refused:
    receipt = StatusReceipt(Incoming(payload, topic, NOW, "mqtt"), retained=False)
    return check_status(receipt, topic_prefix=PREFIX, max_bytes=1024)


def refusal(payload: bytes, *, topic: str = TOPIC) -> tuple[str, str]:
    outcome = check(payload, topic=topic)
    assert isinstance(outcome, Refused), outcome
    return outcome.code, outcome.reason


def test_a_status_on_its_own_topic_passes() -> None:
    sent = status()
    outcome = check(encode_event(sent))
    assert isinstance(outcome, CheckedStatus) and outcome.status == sent


def test_an_empty_message_clears_the_topic() -> None:
    assert isinstance(check(b""), Cleared)


def test_refusals_name_the_input_and_what_was_expected() -> None:
    assert refusal(b"x" * 1025) == (
        "too_large",
        "payload of 1025 bytes: expected at most 1024 bytes",
    )
    code, reason = refusal(b"{nope")
    assert code == "undecodable" and reason.startswith("Invalid event: malformed JSON")
    code, reason = refusal(b'{"kind": "device.status"}')
    assert code == "invalid" and "missing required field" in reason
    lot = LotReceived(
        event_id=uuid7(),
        device_id="edge-1",
        seq=1,
        occurred_at=NOW,
        site="s",
        line="l",
        checkpoint="sealing",
        di="09506000134352",
        lot="L1",
        quantity=1,
        supplier="Acme",
        inspection_state="accepted",
    )
    assert refusal(encode_event(lot)) == (
        "invalid",
        f"event {lot.event_id} on status topic {TOPIC!r}: expected kind 'device.status', "
        "got 'lot.received'",
    )


def test_a_status_on_another_checkpoints_topic_is_a_spoof() -> None:
    sent = status(checkpoint="packing")
    assert refusal(encode_event(sent)) == (
        "spoof",
        f"status {sent.event_id} from device 'edge-1' names checkpoint 's/l/packing' but came "
        "on the status topic of 's/l/sealing'",
    )


@pytest.mark.parametrize(
    ("topic", "problem"),
    [
        ("tg/v1/s/l/sealing/event", "expected a status topic, got channel 'event'"),
        ("other/s/l/sealing/status", "expected it to start with 'tg/v1/'"),
    ],
)
def test_a_status_off_the_status_topics_is_refused(topic: str, problem: str) -> None:
    code, reason = refusal(encode_event(status()), topic=topic)
    assert code == "bad_topic" and problem in reason


def test_liveness() -> None:
    allowance = silent_after(status_period_s=30, periods=3)
    assert allowance == dt.timedelta(seconds=90)

    def judged(online: bool | None, age_s: float) -> str:
        heard = NOW - dt.timedelta(seconds=age_s)
        return liveness.liveness(online=online, heard_at=heard, now=NOW, silent_after=allowance)

    assert judged(True, 0) == "online"
    assert judged(True, 90) == "online"
    assert judged(True, 90.001) == "silent"
    assert judged(False, 0) == "offline"
    assert judged(False, 10_000) == "offline"  # offline is said, not inferred
    assert judged(None, 0) == "unknown"
    assert liveness.liveness(online=True, heard_at=None, now=NOW, silent_after=allowance) == (
        "unknown"
    )


def test_config_drift_on_a_line() -> None:
    (one,) = line_configs([("s", "l", "a", "h1"), ("s", "l", "b", "h1")])
    assert one.consistent and not one.differs("a")
    (two,) = line_configs([("s", "l", "a", "h1"), ("s", "l", "b", "h2"), ("s", "l", "c", "h1")])
    assert not two.consistent
    assert two.hashes == {"h1": ["a", "c"], "h2": ["b"]}
    assert [two.differs(d) for d in ("a", "b", "c", "never-reported")] == [
        False,
        True,
        False,
        False,
    ]
    # A tie: nothing says which config is intended, so every agent is flagged.
    (tie,) = line_configs([("s", "l", "a", "h1"), ("s", "l", "b", "h2")])
    assert tie.differs("a") and tie.differs("b")
    # Lines are judged apart.
    lines = line_configs([("s", "l1", "a", "h1"), ("s", "l2", "b", "h2")])
    assert [(x.line, x.consistent) for x in lines] == [("l1", True), ("l2", True)]


@pytest.mark.parametrize("module", [checks, liveness, lines])
def test_doctests(module: object) -> None:
    failed, attempted = doctest.testmod(module)  # type: ignore[arg-type]
    assert failed == 0 and attempted > 0
