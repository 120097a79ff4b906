"""A message that is not a valid event or command raises WireError saying exactly what is wrong."""

from __future__ import annotations

import datetime as dt
import pickle
import uuid
from typing import Any

import msgspec
import pytest

from protocols import events as ev
from protocols.codec import WireError, decode_command, decode_event, encode_event

EVENT_ID = uuid.UUID("017f22e2-79b0-7cc3-98c4-dc0c0c07398f")
NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
KINDS = (
    "'unit.inspected', 'lot.received', 'unit.assembled', 'lot.transformed', 'unit.packed', "
    "'unit.unpacked', 'container.shipped', 'unit.received', 'device.status'"
)


def packed(**changes: Any) -> ev.UnitPacked:
    fields: dict[str, Any] = {
        "event_id": EVENT_ID,
        "device_id": "edge-1",
        "occurred_at": NOW,
        "site": "s",
        "line": "l",
        "checkpoint": "packing",
        "container": "376130321109103420",
        "children": (ev.UnitRef(di="09506000134352", serial="SN1"),),
    }
    return ev.UnitPacked(**(fields | changes))


def document(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = msgspec.json.decode(encode_event(packed()))
    return doc | changes


def payload(doc: dict[str, Any]) -> bytes:
    return msgspec.json.encode(doc)


def excerpt(data: bytes) -> str:
    text = data.decode()
    return text if len(text) <= 80 else text[:80] + "..."


def event_error(data: bytes | str) -> WireError:
    with pytest.raises(WireError) as caught:
        decode_event(data)
    return caught.value


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"garbage",
            "Invalid event: malformed JSON: invalid character (byte 0); payload 'garbage'",
        ),
        (b"", "Invalid event: malformed JSON: input data was truncated; payload ''"),
        (
            b'{"kind": "unit.packed"',
            "Invalid event: malformed JSON: input data was truncated; "
            'payload \'{"kind": "unit.packed"\'',
        ),
        (
            b"\xff\xfe{}",
            "Invalid event: malformed JSON: invalid character (byte 0); payload '\\\\xff\\\\xfe{}'",
        ),
        ('{"a" 1}', "Invalid event: malformed JSON: expected ':' (byte 5); payload '{\"a\" 1}'"),
    ],
)
def test_malformed_json(data: bytes | str, message: str) -> None:
    error = event_error(data)
    assert str(error) == message
    assert (error.category, error.path) == ("malformed_json", None)


def test_unknown_kind_lists_the_known_ones() -> None:
    data = payload(document(kind="unit.exploded"))
    error = event_error(data)
    assert str(error) == (
        f"Invalid event at $.kind: unknown kind 'unit.exploded', expected one of {KINDS}; "
        f"payload {excerpt(data)!r}"
    )
    assert (error.category, error.path, error.subject) == ("unknown_kind", "$.kind", "event")


def test_missing_kind() -> None:
    error = event_error(b'{"schema": "tracegate/1"}')
    assert str(error) == (
        'Invalid event at $.kind: missing required field; payload \'{"schema": "tracegate/1"}\''
    )
    assert error.category == "missing_field"


def test_missing_field_names_its_path() -> None:
    doc = document()
    del doc["device_id"]
    error = event_error(payload(doc))
    assert error.problem == "missing required field"
    assert (error.category, error.path) == ("missing_field", "$.device_id")
    assert str(error).startswith("Invalid event at $.device_id: missing required field; payload")


def test_missing_nested_field_names_its_path() -> None:
    doc = document()
    del doc["children"][0]["di"]
    error = event_error(payload(doc))
    assert (error.category, error.path) == ("missing_field", "$.children[0].di")


@pytest.mark.parametrize(
    ("changes", "path", "problem"),
    [
        ({"seq": "1"}, "$.seq", "expected int, got str"),
        ({"occurred_at": 1714564800}, "$.occurred_at", "expected datetime, got int"),
        ({"children": {"type": "unit"}}, "$.children", "expected array, got object"),
        (
            {"children": [{"type": "unit", "di": 9506000134352}]},
            "$.children[0].di",
            "expected str, got int",
        ),
    ],
)
def test_wrong_type(changes: dict[str, Any], path: str, problem: str) -> None:
    error = event_error(payload(document(**changes)))
    assert (error.category, error.path, error.problem) == ("wrong_type", path, problem)
    assert str(error).startswith(f"Invalid event at {path}: {problem}; payload ")


def test_top_level_array_is_the_wrong_type() -> None:
    assert str(event_error(b"[]")) == "Invalid event at $: expected object, got array; payload '[]'"


@pytest.mark.parametrize("version", ["tracegate/2", "tracegate/0", 1])
def test_wrong_schema_version(version: object) -> None:
    data = payload(document(schema=version))
    error = event_error(data)
    assert str(error) == (
        f"Invalid event at $.schema: unsupported schema version {version!r}, "
        f"expected 'tracegate/1'; payload {excerpt(data)!r}"
    )
    assert error.category == "wrong_schema"


def test_wrong_schema_is_named_even_when_the_body_changed_too() -> None:
    # A future version may rename fields; the version is the cause worth reporting.
    doc = document(schema="tracegate/2", container_sscc="376130321109103420")
    del doc["container"]
    assert event_error(payload(doc)).problem == (
        "unsupported schema version 'tracegate/2', expected 'tracegate/1'"
    )


@pytest.mark.parametrize(
    ("changes", "path", "problem"),
    [
        ({"seq": -1}, "$.seq", "expected int >= 0, got -1"),
        ({"device_id": ""}, "$.device_id", "expected str of length >= 1, got ''"),
        (
            {"site": "plant/a"},
            "$.site",
            "expected str matching regex '^[^/+#\\\\x00-\\\\x1f\\\\x7f]+\\\\Z', got 'plant/a'",
        ),
        (
            {"line": "line-1\n"},
            "$.line",
            "expected str matching regex '^[^/+#\\\\x00-\\\\x1f\\\\x7f]+\\\\Z', got 'line-1\\n'",
        ),
        (
            {"occurred_at": "2024-05-01T12:00:00"},
            "$.occurred_at",
            "expected datetime with a timezone component, got '2024-05-01T12:00:00'",
        ),
        (
            {"occurred_at": "2024-05-01T14:00:00+02:00"},
            "$.occurred_at",
            "expected a UTC time, got 2024-05-01T14:00:00+02:00",
        ),
        (
            {"event_id": "6f1c5d0e-2b4a-4c59-9f57-3b1f8e2d7a10"},
            "$.event_id",
            "expected a UUIDv7, got version 4 (6f1c5d0e-2b4a-4c59-9f57-3b1f8e2d7a10)",
        ),
        (
            {"seq": 1, "prev_hash": "ab" * 32},
            "$.prev_hash",
            f"expected '' at seq 1 (no previous event), got '{'ab' * 32}'",
        ),
        ({"seq": 7}, "$.prev_hash", "expected the previous event's hash at seq 7, got ''"),
        (
            {"container": "376130321109103421"},
            "$.container",
            "Invalid SSCC check digit for '376130321109103421': expected 0, got 1",
        ),
        (
            {"children": [{"type": "container", "sscc": "376130321109103421"}]},
            "$.children[0].sscc",
            "Invalid SSCC check digit for '376130321109103421': expected 0, got 1",
        ),
        (
            {"children": [{"type": "unit", "di": "09506000134352"}]},
            "$.children[0]",
            "Invalid unit '09506000134352': expected a serial or a lot, got neither",
        ),
        ({"children": [{"type": "pallet"}]}, "$.children[0].type", "Invalid value 'pallet'"),
        ({"children": []}, "$.children", "expected array of length >= 1, got []"),
    ],
)
def test_invalid_value(changes: dict[str, Any], path: str, problem: str) -> None:
    error = event_error(payload(document(**changes)))
    assert (error.path, error.problem) == (path, problem)
    assert error.category == "invalid_value"


def test_excerpt_is_the_start_of_the_payload() -> None:
    data = payload(document(seq="x"))
    error = event_error(data)
    assert error.excerpt == data[:80].decode() + "..."
    assert len(error.excerpt) == 83


def test_wire_error_is_a_value_error_and_pickles() -> None:
    error = event_error(b"garbage")
    assert isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.category, copy.path) == (str(error), error.category, error.path)


def test_encode_refuses_an_event_the_cloud_would_refuse() -> None:
    # msgspec checks constraints only when decoding; encode_event checks its own output.
    with pytest.raises(WireError) as caught:
        encode_event(packed(device_id="edge/1"))
    assert caught.value.path == "$.device_id"
    assert caught.value.category == "invalid_value"


def test_encode_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(WireError) as caught:
        encode_event(packed(children=(object(),)))
    assert str(caught.value).startswith(
        "Invalid event: cannot encode UnitPacked: Encoding objects of type object is unsupported"
    )
    assert caught.value.category == "not_encodable"


def test_constructors_check_what_they_can() -> None:
    with pytest.raises(ValueError, match=r"^container: Invalid SSCC check digit for "):
        packed(container="376130321109103421")
    with pytest.raises(
        ValueError, match=r"^occurred_at: expected a UTC time, got 2024-05-01T12:00:00 without"
    ):
        packed(occurred_at=NOW.replace(tzinfo=None))
    with pytest.raises(
        ValueError,
        match=r"^value: expected a finite number or None for parameter 'seal_temp', got nan$",
    ):
        ev.ParameterSample(name="seal_temp", value=float("nan"), age_ms=0, in_limits=False)
    with pytest.raises(ValueError, match=r"^corrects: expected another event's id"):
        packed(corrects=EVENT_ID)


def test_command_errors_name_the_command_kinds() -> None:
    with pytest.raises(WireError) as caught:
        decode_command(b'{"kind": "reboot"}')
    assert str(caught.value) == (
        "Invalid command at $.kind: unknown kind 'reboot', expected one of 'workorder', "
        "'shipment', 'hold', 'release', 'lotinspection'; payload '{\"kind\": \"reboot\"}'"
    )
    assert caught.value.subject == "command"


def test_command_hold_scope_must_name_something() -> None:
    data = msgspec.json.encode(
        {
            "kind": "hold",
            "command_id": str(EVENT_ID),
            "issued_at": "2024-05-01T12:00:00Z",
            "issued_by": "qa@example.com",
            "hold_id": "H-1",
            "scope": {},
            "reason": "seal excursion",
        }
    )
    with pytest.raises(WireError) as caught:
        decode_command(data)
    assert (caught.value.path, caught.value.problem) == (
        "$.scope",
        "Invalid hold scope: expected at least one unit, lot or di, got none",
    )
