"""The ingest's pure checks: payload validation, topic match, clock skew, seq tracking."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec
import pytest

from cloud.domain.catalog.identifiers import di_problem
from cloud.domain.events.partitions import month_bounds, partition_name
from cloud.domain.events.sequences import SequenceStep, advance_sequence
from cloud.domain.events.validation import Checked, Incoming, Refused, check_incoming
from cloud.domain.genealogy.models import unit_ident
from protocols.codec import encode_event
from protocols.events import LotReceived
from protocols.ids import uuid7, uuid7_time

PREFIX = "tg/v1"
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def lot_event(*, occurred_at: dt.datetime = NOW, checkpoint: str = "receiving") -> LotReceived:
    return LotReceived(
        event_id=uuid7(),
        device_id="edge-1",
        seq=1,
        occurred_at=occurred_at,
        site="s",
        line="l",
        checkpoint=checkpoint,
        di="09506000134352",
        lot="L1",
        quantity=10,
        supplier="Acme",
        inspection_state="accepted",
    )


def check(payload: bytes, topic: str = f"{PREFIX}/s/l/receiving/event") -> Checked | Refused:
    return check_incoming(
        Incoming(payload, topic, NOW, "mqtt"),
        topic_prefix=PREFIX,
        max_event_bytes=4096,
        clock_skew_threshold_s=300,
    )


def test_a_valid_event_is_checked_with_its_partition_time() -> None:
    event = lot_event()
    result = check(encode_event(event))
    assert isinstance(result, Checked)
    assert result.event == event
    assert result.id_time == uuid7_time(event.event_id)
    assert (result.clock_offset_ms, result.clock_skew) == (0, False)


@pytest.mark.parametrize(
    ("offset", "skewed"),
    [
        (dt.timedelta(seconds=299), False),
        (dt.timedelta(seconds=301), True),
        (dt.timedelta(days=-400), True),
    ],
)
def test_a_clock_far_off_is_flagged(offset: dt.timedelta, skewed: bool) -> None:
    result = check(encode_event(lot_event(occurred_at=NOW + offset)))
    assert isinstance(result, Checked)
    assert result.clock_skew is skewed
    assert result.clock_offset_ms == offset / dt.timedelta(milliseconds=1)


def test_too_large_payloads_are_refused_before_decoding() -> None:
    result = check(b"{" * 4097)
    assert isinstance(result, Refused)
    assert (result.code, result.reason) == (
        "too_large",
        "payload of 4097 bytes: expected at most 4096 bytes",
    )


def test_undecodable_and_invalid_payloads() -> None:
    garbage = check(b"\x00\x01")
    assert isinstance(garbage, Refused) and garbage.code == "undecodable"
    document = msgspec.json.decode(encode_event(lot_event()))
    document["quantity"] = -1
    invalid = check(msgspec.json.encode(document))
    assert isinstance(invalid, Refused)
    assert invalid.code == "invalid"
    assert invalid.reason.startswith("Invalid event at $.quantity: expected float > 0.0, got -1;")


def test_a_payload_naming_another_checkpoint_than_its_topic_is_a_spoof() -> None:
    event = lot_event(checkpoint="sealing")
    result = check(encode_event(event))
    assert isinstance(result, Refused)
    assert (result.code, result.reason) == (
        "spoof",
        f"event {event.event_id} from device 'edge-1' names checkpoint 's/l/sealing' "
        "but came on the topic of 's/l/receiving'",
    )


def test_a_topic_outside_the_scheme_is_refused() -> None:
    result = check(encode_event(lot_event()), topic="elsewhere/s/l/receiving/event")
    assert isinstance(result, Refused)
    assert (result.code, result.reason) == (
        "bad_topic",
        "Invalid topic 'elsewhere/s/l/receiving/event': expected it to start with 'tg/v1/'",
    )


def test_api_payloads_have_no_topic_to_match() -> None:
    result = check_incoming(
        Incoming(encode_event(lot_event(checkpoint="x")), "", NOW, "api"),
        topic_prefix=PREFIX,
        max_event_bytes=4096,
        clock_skew_threshold_s=300,
    )
    assert isinstance(result, Checked)


@pytest.mark.parametrize(
    ("maximum", "seqs", "expected"),
    [
        (0, [1, 2, 3], SequenceStep(3, (), ())),
        (0, [3, 1, 2], SequenceStep(3, (), ())),
        (2, [5], SequenceStep(5, ((3, 4),), ())),
        (5, [3, 6, 9], SequenceStep(9, ((7, 8),), (3,))),
        (5, [5, 5], SequenceStep(5, (), (5, 5))),
        (0, [], SequenceStep(0, (), ())),
    ],
)
def test_advance_sequence(maximum: int, seqs: list[int], expected: SequenceStep) -> None:
    assert advance_sequence(maximum, seqs) == expected


def test_partitions_are_named_and_bounded_by_month() -> None:
    assert partition_name(2026, 12) == "events_y2026m12"
    assert month_bounds(2026, 12) == (
        dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
    )


def test_a_unit_is_its_serial_else_its_lot() -> None:
    assert unit_ident(serial="SN1", lot="L1") == "S:SN1"
    assert unit_ident(serial=None, lot="L1") == "L:L1"
    with pytest.raises(ValueError, match="a unit needs a serial or a lot besides its DI"):
        unit_ident(serial=None, lot=None)


def test_product_dis_are_checked_by_issuer() -> None:
    assert di_problem("GS1", "09506000134352") is None
    assert di_problem("GS1", "9506000134352") == (
        "expected a GTIN-14 of 14 digits, got '9506000134352'"
    )
    assert di_problem("HIBCC", "A99912345") is None


def test_uuid7_time_is_the_partition_key() -> None:
    event_id = uuid.UUID("017f22e2-79b0-7cc3-98c4-dc0c0c07398f")
    assert uuid7_time(event_id) == dt.datetime(2022, 2, 22, 19, 22, 22, tzinfo=dt.UTC)
