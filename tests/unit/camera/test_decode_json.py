"""`tracegate decode`'s JSON object per read, and which reads get a UDI verdict."""

from __future__ import annotations

import pytest

from edge.adapters.decoders import Decoded
from edge.sim.units import GS
from tracegate.cli_decode import decoded_json, looks_like_udi

GS1_TEXT = f"0109506000134352112506021728060110LABC123{GS}21AB0000001"


@pytest.mark.parametrize(
    ("text", "symbology_id", "gs1", "expected"),
    [
        (GS1_TEXT, "]d2", True, True),
        ("garbage", "]C1", None, True),
        ("+A99912345/$$52001510X33", "]d1", False, True),
        ("*+A99912345/$$52001510X33*", None, None, True),
        ("(01)09506000134352(17)280601", "]C0", False, True),
        ("0109506000134352", "]d1", False, True),
        ("https://id.example.com/01/09506000134352/10/AB", "]Q1", False, True),
        ("https://example.com/manual", "]Q1", False, False),
        ("12345", "]C0", False, False),
        ("hello", None, None, False),
    ],
)
def test_looks_like_udi(
    text: str, symbology_id: str | None, gs1: bool | None, expected: bool
) -> None:
    assert looks_like_udi(text=text, symbology_id=symbology_id, gs1=gs1) is expected


def test_valid_gs1_read() -> None:
    decoded = Decoded(code_format="DataMatrix", symbology_id="]d2", gs1=True, text=GS1_TEXT)

    assert decoded_json(decoded) == {
        "format": "DataMatrix",
        "symbology_id": "]d2",
        "gs1": True,
        "text": GS1_TEXT,
        "udi": {
            "valid": True,
            "issuer": "GS1",
            "di": "09506000134352",
            "lot": "LABC123",
            "serial": "AB0000001",
            "expiry": "2028-06-01",
            "production_date": "2025-06-02",
            "problems": [],
        },
    }


def test_gs1_data_in_a_plain_datamatrix_is_an_invalid_udi() -> None:
    decoded = Decoded(code_format="DataMatrix", symbology_id="]d1", gs1=False, text=GS1_TEXT)

    udi = decoded_json(decoded)["udi"]

    assert udi is not None
    assert udi["valid"] is False
    assert udi["problems"] == [
        "Symbology identifier ']d1' does not mark GS1 data: Expected one of ']C1', ']d2', "
        "']Q3', ']e0' before a GS1 element string."
    ]


def test_non_udi_read_has_null_udi() -> None:
    decoded = Decoded(code_format="QRCode", symbology_id="]Q1", gs1=False, text="hello")

    assert decoded_json(decoded)["udi"] is None
