"""SSCC (GS1 Serial Shipping Container Code): 18 digits ending in a mod-10 check digit."""

from __future__ import annotations

__all__ = ["check_sscc", "check_sscc_field", "sscc_check_digit"]


def sscc_check_digit(first_17: str) -> int:
    """The GS1 mod-10 check digit for the first 17 digits of an SSCC.

    Weights alternate 3, 1, 3, ... from the rightmost digit, as for every GS1 key.

    >>> sscc_check_digit("37613032110910342")
    0
    """
    if len(first_17) != 17 or not first_17.isascii() or not first_17.isdigit():
        raise ValueError(f"Invalid SSCC body {first_17!r}: expected 17 digits")
    total = sum(
        int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(reversed(first_17))
    )
    return (10 - total % 10) % 10


def check_sscc(value: str) -> str:
    """Return `value` if it is a valid SSCC, else raise ValueError saying what is wrong.

    >>> check_sscc("376130321109103420")
    '376130321109103420'
    >>> check_sscc("376130321109103421")
    Traceback (most recent call last):
    ...
    ValueError: Invalid SSCC check digit for '376130321109103421': expected 0, got 1
    """
    if len(value) != 18:
        raise ValueError(f"Invalid SSCC {value!r}: expected 18 digits, got {len(value)} characters")
    for position, char in enumerate(value, start=1):
        if char not in "0123456789":
            raise ValueError(
                f"Invalid SSCC {value!r}: expected 18 digits, found {char!r} at position {position}"
            )
    expected = sscc_check_digit(value[:17])
    if int(value[17]) != expected:
        raise ValueError(
            f"Invalid SSCC check digit for {value!r}: expected {expected}, got {value[17]}"
        )
    return value


def check_sscc_field(field: str, value: str) -> str:
    """`check_sscc` for a struct field: the error starts with the field's name.

    `protocols.codec` turns that name into the error's path.
    """
    try:
        return check_sscc(value)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from None
