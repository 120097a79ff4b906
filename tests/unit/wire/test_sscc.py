"""SSCC check digits (GS1 mod 10) and the errors for malformed SSCCs."""

from __future__ import annotations

import pytest

from protocols.events import ContainerRef
from protocols.sscc import check_sscc, sscc_check_digit


@pytest.mark.parametrize(
    "sscc",
    [
        "376130321109103420",  # GS1 General Specifications example (biip's test case)
        "340123450000000000",
        "106141411234567897",
        "000000000000000000",
    ],
)
def test_valid_ssccs(sscc: str) -> None:
    assert check_sscc(sscc) == sscc
    assert sscc_check_digit(sscc[:17]) == int(sscc[17])
    assert ContainerRef.parse(sscc) == ContainerRef(sscc=sscc)


@pytest.mark.parametrize(
    ("sscc", "message"),
    [
        (
            "106141411234567890",
            "Invalid SSCC check digit for '106141411234567890': expected 7, got 0",
        ),
        (
            "37613032110910342",
            "Invalid SSCC '37613032110910342': expected 18 digits, got 17 characters",
        ),
        (
            "3761303211091034200",
            "Invalid SSCC '3761303211091034200': expected 18 digits, got 19 characters",
        ),
        (
            "37613032110910342X",
            "Invalid SSCC '37613032110910342X': expected 18 digits, found 'X' at position 18",
        ),
        (
            "٣٧٦١٣٠٣٢١١٠٩١٠٣٤٢٠",
            "Invalid SSCC '٣٧٦١٣٠٣٢١١٠٩١٠٣٤٢٠': expected 18 digits, found '٣' at position 1",
        ),
    ],
)
def test_invalid_ssccs(sscc: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_sscc(sscc)
    assert str(caught.value) == message
    with pytest.raises(ValueError, match=r"^sscc: Invalid SSCC"):
        ContainerRef(sscc=sscc)


def test_check_digit_needs_seventeen_digits() -> None:
    with pytest.raises(ValueError, match=r"^Invalid SSCC body '123': expected 17 digits$"):
        sscc_check_digit("123")
