"""The shape of the UDI API that rules and CLIs rely on: dispatch, reads, JSON."""

import dataclasses
import re
from datetime import date

import pytest

from protocols.udi import GS, Udi, UdiError, inspect_udi, inspect_udi_reads, udi_to_json_dict

GTIN = "09506000134352"
UNKNOWN = (
    "Expected GS1 data (element string, '(01)...' text or Digital Link URI) or HIBC data "
    "starting with '+'."
)
JSON_KEYS = ["valid", "issuer", "di", "lot", "serial", "expiry", "production_date", "problems"]


@pytest.mark.parametrize("text", ["hello", "", "   ", "]d2", "-A99912345"])
def test_an_unknown_format_is_named(text: str) -> None:
    assert inspect_udi(text) == (None, (f"Unknown UDI format for {text!r}: {UNKNOWN}",))


def test_parse_raises_a_value_error_carrying_the_problems() -> None:
    with pytest.raises(UdiError) as caught:
        Udi.parse("hello")

    assert isinstance(caught.value, ValueError)
    assert caught.value.problems == (f"Unknown UDI format for 'hello': {UNKNOWN}",)
    assert caught.value.raw == "hello"
    assert str(caught.value) == f"Unknown UDI format for 'hello': {UNKNOWN}"


def test_a_udi_is_frozen() -> None:
    udi = Udi.parse(f"01{GTIN}")

    with pytest.raises(dataclasses.FrozenInstanceError):
        udi.lot = "X"  # type: ignore[misc]


def test_the_raw_text_is_kept_as_given() -> None:
    text = f"  ]d201{GTIN}10A{GS}\r\n"

    assert Udi.parse(text).raw == text


def test_a_gs1_label_split_over_two_symbols_is_read_together() -> None:
    udi = Udi.parse_reads([f"]C101{GTIN}17251231", f"]C110ABC{GS}21X"])

    assert (udi.di, udi.expiry, udi.lot, udi.serial, udi.symbology) == (
        GTIN,
        date(2025, 12, 31),
        "ABC",
        "X",
        "]C1",
    )


def test_reads_that_disagree_are_a_problem() -> None:
    reads = [f"01{GTIN}10A", f"01{GTIN}10B"]

    assert inspect_udi_reads(reads)[1] == (
        f"Conflicting lot in '01{GTIN}10A\\n01{GTIN}10B': A and B.",
    )


def test_reads_from_two_issuers_are_not_one_udi() -> None:
    reads = [f"01{GTIN}", "+A99912345/$$52001510X33"]

    assert inspect_udi_reads(reads) == (
        None,
        (
            f"Reads from different issuers in '01{GTIN}\\n+A99912345/$$52001510X33': "
            "Expected one, got ['GS1', 'HIBCC'].",
        ),
    )


def test_no_reads_is_no_udi() -> None:
    assert inspect_udi_reads([]) == (
        None,
        ("Unknown UDI format for '': Expected at least one read.",),
    )


@pytest.mark.parametrize("separators", [(), ("ab",), ("",)])
def test_separators_must_be_single_characters(separators: tuple[str, ...]) -> None:
    message = f"Separators must be single characters, got {list(separators)!r}."
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Udi.parse(f"01{GTIN}", separators=separators)


def test_eight_digits_that_read_as_an_element_string_are_not_a_gtin_8() -> None:
    assert inspect_udi("17251231") == (
        None,
        ("No device identifier in '17251231': Expected GS1 AI (01) GTIN.",),
    )


def test_a_bare_gtin_14_is_a_di_only_udi() -> None:
    assert Udi.parse(GTIN).di == GTIN


def test_the_json_object_of_a_valid_udi() -> None:
    result = udi_to_json_dict(*inspect_udi(f"01{GTIN}11240101172501001012{GS}21S"))

    assert list(result) == JSON_KEYS
    assert result == {
        "valid": True,
        "issuer": "GS1",
        "di": GTIN,
        "lot": "12",
        "serial": "S",
        "expiry": "2025-01-31",
        "production_date": "2024-01-01",
        "problems": [],
    }


def test_the_json_object_of_an_invalid_read_keeps_what_was_read() -> None:
    result = udi_to_json_dict(*inspect_udi("0109506000134353"))

    assert result == {
        "valid": False,
        "issuer": "GS1",
        "di": "09506000134353",
        "lot": None,
        "serial": None,
        "expiry": None,
        "production_date": None,
        "problems": ["Invalid GTIN check digit for '09506000134353': Expected 2, got 3."],
    }


def test_the_json_object_without_a_udi() -> None:
    result = udi_to_json_dict(*inspect_udi("hello"))

    assert list(result) == JSON_KEYS
    assert (result["valid"], result["issuer"], result["di"]) == (False, None, None)
    assert result["problems"] == [f"Unknown UDI format for 'hello': {UNKNOWN}"]
