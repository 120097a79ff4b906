"""Register codec: every type, both word orders, scale and sign, and the map's own errors."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.adapters.plc_codec import (
    RegisterMapError,
    RegisterSpec,
    decode,
    encode,
    plan_reads,
)


def hr(name: str = "v", address: int = 0, **kw: object) -> RegisterSpec:
    return RegisterSpec(name=name, table="holding_register", address=address, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data_type", "words", "value"),
    [
        ("uint16", [0xFFFF], 65535),
        ("int16", [0xFFFF], -1),
        ("int16", [0x8000], -32768),
        ("int16", [0x7FFF], 32767),
        ("uint32", [0x0001, 0x0000], 65536),
        ("int32", [0xFFFF, 0xFFFE], -2),
        ("int32", [0x8000, 0x0000], -(2**31)),
        ("float32", [0x4334, 0x3333], 180.2),
    ],
)
def test_decode_big_word_order(data_type: str, words: list[int], value: float) -> None:
    assert decode(hr(data_type=data_type), words) == value


@pytest.mark.parametrize(
    ("data_type", "words", "value"),
    [
        ("uint32", [0x0000, 0x0001], 65536),
        ("int32", [0xFFFE, 0xFFFF], -2),
        ("float32", [0x3333, 0x4334], 180.2),
    ],
)
def test_decode_little_word_order(data_type: str, words: list[int], value: float) -> None:
    assert decode(hr(data_type=data_type, word_order="little"), words) == value


def test_scale_applies_to_the_raw_value_and_keeps_the_sign() -> None:
    spec = hr(data_type="int16", scale=0.1, unit="°C")
    assert decode(spec, [1802]) == 180.2
    assert decode(spec, [0xFF83]) == -12.5
    assert encode(spec, 180.2) == [1802]
    assert encode(spec, -12.5) == [0xFF83]


def test_scale_above_one_and_on_32_bits() -> None:
    spec = hr(data_type="int32", scale=10.0, word_order="little")
    assert decode(spec, [0xFFFF, 0xFFFF]) == -10.0
    assert encode(spec, 1_000_000) == [100_000 & 0xFFFF, 100_000 >> 16]


def test_unscaled_integers_stay_integers() -> None:
    value = decode(hr(data_type="uint32"), [0, 7])
    assert value == 7 and isinstance(value, int)


def test_bool_from_coil_and_from_a_register_bit() -> None:
    coil = RegisterSpec(name="eye", table="discrete_input", address=3, data_type="bool")
    assert decode(coil, [True]) is True
    bit = hr(name="status", data_type="uint16", bit=5)
    assert decode(bit, [1 << 5]) is True
    assert decode(bit, [0xFFFF ^ (1 << 5)]) is False


@given(st.integers(-(2**31), 2**31 - 1), st.sampled_from(["big", "little"]))
def test_int32_round_trips(value: int, order: str) -> None:
    spec = hr(data_type="int32", word_order=order)
    assert decode(spec, encode(spec, value)) == value


@given(st.integers(0, 2**32 - 1), st.sampled_from(["big", "little"]))
def test_uint32_round_trips(value: int, order: str) -> None:
    spec = hr(data_type="uint32", word_order=order)
    assert decode(spec, encode(spec, value)) == value


@given(st.floats(-1e30, 1e30, allow_nan=False), st.sampled_from(["big", "little"]))
def test_float32_round_trips_to_float32_precision(value: float, order: str) -> None:
    spec = hr(data_type="float32", word_order=order)
    expected = struct.unpack(">f", struct.pack(">f", value))[0]
    assert decode(spec, encode(spec, value)) == pytest.approx(expected, rel=1e-6)


def test_encode_out_of_range_names_the_register_and_the_range() -> None:
    spec = hr(name="seal_temp", address=12, data_type="int16", scale=0.1)
    with pytest.raises(RegisterMapError) as info:
        encode(spec, 4000.0)
    assert str(info.value) == (
        "holding_register 12 (seal_temp): value 4000.0 (raw 40000 at scale 0.1) is outside "
        "int16 -32768 to 32767"
    )


def test_encode_refuses_a_number_for_a_coil_and_a_bool_for_a_register() -> None:
    coil = RegisterSpec(name="pass", table="coil", address=0, data_type="bool")
    with pytest.raises(RegisterMapError, match=r"^coil 0 \(pass\): expected True or False, got 1$"):
        encode(coil, 1)
    with pytest.raises(RegisterMapError, match=r"^holding_register 0 \(v\): expected a number"):
        encode(hr(), True)


def test_encode_refuses_a_single_bit_of_a_register() -> None:
    with pytest.raises(RegisterMapError, match="a single bit of a register cannot be written"):
        encode(hr(bit=3), True)


def test_decode_refuses_the_wrong_number_of_words() -> None:
    with pytest.raises(RegisterMapError, match=r"^register 'v': expected 2 raw value\(s\), got 1$"):
        decode(hr(data_type="float32"), [1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"table": "coil", "data_type": "uint16"},
            "register 'x' data_type: a coil holds bool, got 'uint16'",
        ),
        (
            {"table": "holding_register", "data_type": "bool"},
            "register 'x' data_type: a holding_register holds a register type (not bool), "
            "got 'bool'",
        ),
        (
            {"table": "holding_register", "address": 70000},
            "register 'x' address: expected 0 to 65535, got 70000",
        ),
        (
            {"table": "holding_register", "scale": 0.0},
            "register 'x' scale: expected a non-zero number, got 0.0",
        ),
        (
            {"table": "holding_register", "data_type": "int32", "bit": 2},
            "register 'x' bit: expected 0 to 15 on a 16-bit register, got bit 2 on int32",
        ),
        (
            {"table": "holding_register", "word_order": "middle"},
            "register 'x' word_order: expected 'big' or 'little', got 'middle'",
        ),
    ],
)
def test_bad_specs_are_refused_with_the_key_and_value(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(RegisterMapError) as info:
        RegisterSpec(name="x", address=kwargs.pop("address", 0), **kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_plan_reads_merges_near_addresses_and_splits_tables() -> None:
    specs = [
        hr("a", 0),
        hr("b", 2, data_type="float32"),
        hr("c", 30),
        RegisterSpec(name="eye", table="discrete_input", address=0, data_type="bool"),
        RegisterSpec(name="run", table="discrete_input", address=1, data_type="bool"),
    ]
    blocks = plan_reads(specs, max_gap=8)
    assert [(b.table, b.address, b.count, [s.name for s in b.specs]) for b in blocks] == [
        ("holding_register", 0, 4, ["a", "b"]),
        ("holding_register", 30, 1, ["c"]),
        ("discrete_input", 0, 2, ["eye", "run"]),
    ]
    assert blocks[0].describe() == "holding_register 0-3 (a, b)"
    assert blocks[0].slice_for(specs[1], [9, 0, 7, 8]) == [7, 8]


def test_plan_reads_respects_the_modbus_request_size() -> None:
    specs = [hr(f"r{i}", i * 5) for i in range(60)]
    blocks = plan_reads(specs)
    assert all(b.count <= 125 for b in blocks)
    assert sum(len(b.specs) for b in blocks) == 60
