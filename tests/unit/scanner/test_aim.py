"""AIM symbology identifiers: split and described."""

from __future__ import annotations

import pytest

from edge.adapters.aim import describe_symbology_id, split_symbology_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("]d2010950", ("]d2", "010950")),
        ("]C1", ("]C1", "")),
        ("]Q30109", ("]Q3", "0109")),
        ("]z0X", ("]z0", "X")),
        ("]d", (None, "]d")),
        ("]2d01", (None, "]2d01")),
        ("]d\x1d01", (None, "]d\x1d01")),
        ("d201", (None, "d201")),
        ("", (None, "")),
    ],
)
def test_split(text: str, expected: tuple[str | None, str]) -> None:
    assert split_symbology_id(text) == expected


@pytest.mark.parametrize(
    ("symbology_id", "expected"),
    [
        ("]d2", ("DataMatrix", True)),
        ("]d1", ("DataMatrix", False)),
        ("]C1", ("Code128", True)),
        ("]C0", ("Code128", False)),
        ("]Q3", ("QRCode", True)),
        ("]Q1", ("QRCode", False)),
        ("]e0", ("DataBar", True)),
        ("]E0", ("EAN13", None)),
        ("]X0", (None, None)),
        (None, (None, None)),
    ],
)
def test_describe(symbology_id: str | None, expected: tuple[str | None, bool | None]) -> None:
    assert describe_symbology_id(symbology_id) == expected
