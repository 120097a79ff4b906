"""Every event and command kind round-trips through JSON unchanged and encodes deterministically."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols import commands as cmd
from protocols import events as ev
from protocols.codec import (
    decode_command,
    decode_event,
    encode_command,
    encode_event,
    event_hash,
)
from protocols.sscc import sscc_check_digit

# --- scalars -------------------------------------------------------------------------------

segments = st.text(
    st.characters(exclude_characters="/+#", exclude_categories=("Cc", "Cs")),
    min_size=1,
    max_size=64,
)
identifiers = st.text(min_size=1, max_size=128)
texts = st.text(max_size=200)
UPPER_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
dis = st.text(UPPER_DIGITS, min_size=1, max_size=25)
lot_numbers = st.text(min_size=1, max_size=20)
serials = st.text(min_size=1, max_size=20)
ssccs = st.text("0123456789", min_size=17, max_size=17).map(
    lambda body: body + str(sscc_check_digit(body))
)
sha256s = st.binary(min_size=32, max_size=32).map(bytes.hex)
utc_times = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)
dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31))
finite = st.floats(allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=0, exclude_min=True, allow_nan=False, allow_infinity=False)
non_negative_ints = st.integers(min_value=0, max_value=2**53)
uoms = st.sampled_from(["EA", "kg", "g", "m", "mL"])


@st.composite
def uuid7s(draw: st.DrawFn) -> uuid.UUID:
    timestamp_ms = draw(st.integers(0, 2**48 - 1))
    rand_a = draw(st.integers(0, 2**12 - 1))
    rand_b = draw(st.integers(0, 2**62 - 1))
    return uuid.UUID(int=(timestamp_ms << 80) | (7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def tuples_of(strategy: st.SearchStrategy[Any], *, min_size: int = 0) -> st.SearchStrategy[Any]:
    return st.lists(strategy, min_size=min_size, max_size=4).map(tuple)


# --- parts ---------------------------------------------------------------------------------

reads = st.builds(
    ev.Read,
    text=st.text(min_size=1, max_size=100) | st.just("]d2010950600013435210ABC\x1d21SN1"),
    symbology_id=optional(st.from_regex(r"\][A-Za-z][0-9A-Za-z]", fullmatch=True)),
    source=st.sampled_from(["scanner", "camera"]),
    source_name=identifiers,
    read_at=utc_times,
)
parsed_udis = st.builds(
    ev.ParsedUdi,
    issuer=st.sampled_from(["GS1", "HIBCC"]),
    di=dis,
    lot=optional(lot_numbers),
    serial=optional(serials),
    expiry=optional(dates),
    production_date=optional(dates),
)
samples = st.builds(
    ev.ParameterSample,
    name=identifiers,
    value=optional(finite),
    unit=st.sampled_from(["", "degC", "bar", "ms"]),
    lo=optional(finite),
    hi=optional(finite),
    age_ms=non_negative_ints,
    in_limits=st.booleans(),
)
reasons = st.builds(ev.Reason, code=st.text(min_size=1, max_size=64), text=texts)
interlocks = st.builds(
    ev.InterlockResult,
    output=identifiers,
    written=st.booleans(),
    verified=st.booleans(),
    error=optional(texts),
)
unit_refs = st.one_of(
    st.builds(ev.UnitRef, di=dis, serial=serials, lot=optional(lot_numbers), raw=optional(texts)),
    st.builds(ev.UnitRef, di=dis, serial=st.none(), lot=lot_numbers, raw=optional(texts)),
)
lot_quantities = st.builds(
    ev.LotQuantity, di=dis, lot=lot_numbers, quantity=positive, unit_of_measure=uoms
)
container_refs = st.builds(ev.ContainerRef, sscc=ssccs)
parties = st.builds(
    ev.Party,
    name=st.text(min_size=1, max_size=100),
    address_lines=tuples_of(st.text(max_size=100)),
    country_code=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2),
    region=optional(st.text(max_size=64)),
    gln=optional(st.text("0123456789", min_size=13, max_size=13)),
)
adapters = st.builds(
    ev.AdapterState,
    name=identifiers,
    kind=st.sampled_from(["scanner", "camera", "plc", "mqtt"]),
    state=st.sampled_from(["up", "down", "unknown"]),
    since=optional(utc_times),
    detail=optional(texts),
)


# --- events --------------------------------------------------------------------------------


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    seq = draw(st.integers(min_value=0, max_value=2**53))
    event_id = draw(uuid7s())
    corrects = draw(optional(uuid7s()).filter(lambda u: u != event_id))
    return {
        "event_id": event_id,
        "device_id": draw(segments),
        "seq": seq,
        "prev_hash": "" if seq <= 1 else draw(sha256s),
        "occurred_at": draw(utc_times),
        "site": draw(segments),
        "line": draw(segments),
        "checkpoint": draw(segments),
        "corrects": corrects,
    }


def event_of(cls: type[ev.Event], **body: st.SearchStrategy[Any]) -> st.SearchStrategy[ev.Event]:
    return st.builds(lambda envelope, **fields: cls(**envelope, **fields), envelopes(), **body)


EVENT_STRATEGIES: dict[str, st.SearchStrategy[ev.Event]] = {
    "unit.inspected": event_of(
        ev.UnitInspected,
        reads=tuples_of(reads),
        udi=optional(parsed_udis),
        parameters=tuples_of(samples),
        decision=st.sampled_from(["pass", "hold"]),
        reasons=tuples_of(reasons),
        work_order=optional(identifiers),
        ruleset_version=st.text(min_size=1, max_size=64),
        interlock=optional(interlocks),
    ),
    "lot.received": event_of(
        ev.LotReceived,
        di=dis,
        lot=lot_numbers,
        expiry=optional(dates),
        quantity=positive,
        unit_of_measure=uoms,
        supplier=st.text(min_size=1, max_size=256),
        inspection_state=st.sampled_from(["quarantined", "accepted", "rejected"]),
    ),
    "unit.assembled": event_of(
        ev.UnitAssembled,
        parent=unit_refs,
        components=tuples_of(unit_refs | lot_quantities, min_size=1),
        work_order=optional(identifiers),
    ),
    "lot.transformed": event_of(
        ev.LotTransformed,
        transformation=st.sampled_from(["split", "merge", "rework"]),
        inputs=tuples_of(lot_quantities, min_size=1),
        outputs=tuples_of(lot_quantities, min_size=1),
        work_order=optional(identifiers),
    ),
    "unit.packed": event_of(
        ev.UnitPacked,
        container=ssccs,
        parent_container=optional(ssccs),
        children=tuples_of(unit_refs | container_refs, min_size=1),
    ),
    "unit.unpacked": event_of(
        ev.UnitUnpacked,
        container=ssccs,
        parent_container=optional(ssccs),
        children=tuples_of(unit_refs | container_refs, min_size=1),
        reason=optional(reasons),
    ),
    "container.shipped": event_of(
        ev.ContainerShipped,
        shipment_id=identifiers,
        order=identifiers,
        recipient=parties,
        containers=tuples_of(ssccs, min_size=1),
    ),
    "unit.received": event_of(
        ev.UnitReceived,
        items=tuples_of(unit_refs | container_refs, min_size=1),
        returned_by=parties,
        reason=reasons,
        rma=optional(identifiers),
    ),
    "device.status": event_of(
        ev.DeviceStatus,
        online=st.booleans(),
        software_version=st.text(min_size=1, max_size=64),
        config_hash=sha256s,
        adapters=tuples_of(adapters),
        outbox_depth=non_negative_ints,
        outbox_oldest_age_s=st.floats(min_value=0, allow_nan=False, allow_infinity=False),
        outbox_bytes=non_negative_ints,
    ),
}


# --- commands ------------------------------------------------------------------------------


def command_of(cls: type[cmd.Command], **body: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.builds(cls, command_id=uuid7s(), issued_at=utc_times, issued_by=identifiers, **body)


lot_refs = st.builds(cmd.LotRef, di=dis, lot=lot_numbers)
hold_scopes = st.one_of(
    st.builds(cmd.HoldScope, units=tuples_of(unit_refs, min_size=1), lots=tuples_of(lot_refs)),
    st.builds(cmd.HoldScope, lots=tuples_of(lot_refs, min_size=1), dis=tuples_of(dis)),
    st.builds(cmd.HoldScope, dis=tuples_of(dis, min_size=1)),
)

COMMAND_STRATEGIES: dict[str, st.SearchStrategy[cmd.Command]] = {
    "workorder": command_of(
        cmd.WorkOrder,
        work_order=identifiers,
        products=tuples_of(dis, min_size=1),
        lot=optional(lot_numbers),
        expiry=optional(dates),
        production_date=optional(dates),
        quantity=st.integers(min_value=1, max_value=10**9),
        route=tuples_of(segments),
        bom=tuples_of(
            st.builds(cmd.BomLine, di=dis, quantity_per_unit=positive, unit_of_measure=uoms)
        ),
    ),
    "shipment": command_of(
        cmd.Shipment,
        shipment_id=identifiers,
        order=identifiers,
        recipient=parties,
        expected_containers=tuples_of(ssccs),
    ),
    "hold": command_of(
        cmd.Hold, hold_id=identifiers, scope=hold_scopes, reason=st.text(min_size=1, max_size=200)
    ),
    "release": command_of(
        cmd.Release,
        hold_id=identifiers,
        signed_by=identifiers,
        reason=st.text(min_size=1, max_size=200),
    ),
    "lotinspection": command_of(
        cmd.LotInspection,
        di=dis,
        lot=lot_numbers,
        state=st.sampled_from(["accepted", "rejected"]),
        signed_by=identifiers,
        reason=optional(st.text(min_size=1, max_size=200)),
    ),
}


def test_every_kind_has_a_strategy() -> None:
    assert tuple(EVENT_STRATEGIES) == ev.EVENT_KINDS
    assert tuple(COMMAND_STRATEGIES) == cmd.COMMAND_KINDS


@pytest.mark.parametrize("kind", ev.EVENT_KINDS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_event_round_trips(kind: str, data: st.DataObject) -> None:
    event = data.draw(EVENT_STRATEGIES[kind])
    encoded = encode_event(event)
    decoded = decode_event(encoded)
    assert decoded == event
    assert type(decoded) is ev.EVENT_TYPES[kind]
    assert decoded.kind == kind
    assert msgspec.json.decode(encoded)["kind"] == kind
    # The chain hashes bytes, so encoding must be a function of the event alone.
    assert encode_event(decoded) == encoded
    assert decode_event(encoded.decode()) == event
    assert event_hash(encoded) == hashlib.sha256(encoded).hexdigest()
    assert event_hash(encode_event(decoded)) == event_hash(encoded)


@pytest.mark.parametrize("kind", cmd.COMMAND_KINDS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_command_round_trips(kind: str, data: st.DataObject) -> None:
    command = data.draw(COMMAND_STRATEGIES[kind])
    encoded = encode_command(command)
    decoded = decode_command(encoded)
    assert decoded == command
    assert type(decoded) is cmd.COMMAND_TYPES[kind]
    assert decoded.kind == kind
    assert encode_command(decoded) == encoded


GOLDEN_EVENT = ev.UnitInspected(
    event_id=uuid.UUID("017f22e2-79b0-7cc3-98c4-dc0c0c07398f"),
    device_id="edge-sealing-1",
    seq=2,
    prev_hash="a" * 64,
    occurred_at=dt.datetime(2022, 2, 22, 19, 22, 22, 125000, tzinfo=dt.UTC),
    site="plant-a",
    line="line-1",
    checkpoint="sealing",
    reads=(
        ev.Read(
            text="010950600013435210ABC\x1d21SN1",
            symbology_id="]d2",
            source="scanner",
            source_name="scanner-1",
            read_at=dt.datetime(2022, 2, 22, 19, 22, 22, 100000, tzinfo=dt.UTC),
        ),
    ),
    udi=ev.ParsedUdi(issuer="GS1", di="09506000134352", lot="ABC", serial="SN1"),
    parameters=(
        ev.ParameterSample(
            name="seal_temp",
            value=182.5,
            unit="degC",
            lo=175.0,
            hi=185.0,
            age_ms=40,
            in_limits=True,
        ),
    ),
    decision="pass",
    ruleset_version="2024.1",
    interlock=ev.InterlockResult(output="pass", written=True, verified=True),
)

GOLDEN_BYTES = (
    b'{"kind":"unit.inspected","schema":"tracegate/1",'
    b'"event_id":"017f22e2-79b0-7cc3-98c4-dc0c0c07398f","device_id":"edge-sealing-1","seq":2,'
    b'"prev_hash":"' + b"a" * 64 + b'","occurred_at":"2022-02-22T19:22:22.125000Z",'
    b'"site":"plant-a","line":"line-1","checkpoint":"sealing","corrects":null,'
    b'"reads":[{"text":"010950600013435210ABC\\u001d21SN1","symbology_id":"]d2",'
    b'"source":"scanner","source_name":"scanner-1","read_at":"2022-02-22T19:22:22.100000Z"}],'
    b'"udi":{"issuer":"GS1","di":"09506000134352","lot":"ABC","serial":"SN1","expiry":null,'
    b'"production_date":null},"parameters":[{"name":"seal_temp","value":182.5,"unit":"degC",'
    b'"lo":175.0,"hi":185.0,"age_ms":40,"in_limits":true}],"decision":"pass","reasons":[],'
    b'"work_order":null,"ruleset_version":"2024.1",'
    b'"interlock":{"output":"pass","written":true,"verified":true,"error":null}}'
)


def test_encoding_is_pinned_byte_for_byte() -> None:
    # Hash chains already stored would break if field order or formatting changed.
    assert encode_event(GOLDEN_EVENT) == GOLDEN_BYTES
    assert event_hash(GOLDEN_BYTES) == hashlib.sha256(GOLDEN_BYTES).hexdigest()


def test_chain_links_by_hash_of_the_previous_encoding() -> None:
    first = msgspec.structs.replace(GOLDEN_EVENT, seq=1, prev_hash="")
    first_bytes = encode_event(first)
    second = msgspec.structs.replace(GOLDEN_EVENT, seq=2, prev_hash=event_hash(first_bytes))
    assert decode_event(encode_event(second)).prev_hash == event_hash(first_bytes)


def test_unknown_fields_from_newer_producers_are_ignored() -> None:
    document = msgspec.json.decode(GOLDEN_BYTES)
    document["added_in_a_later_release"] = {"x": 1}
    assert decode_event(msgspec.json.encode(document)) == GOLDEN_EVENT
