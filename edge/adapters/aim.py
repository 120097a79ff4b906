"""AIM symbology identifiers (ISO/IEC 15424): the `]` + code character + modifier a reader
prefixes to its data, and what they say about the symbol. Pure code.

>>> split_symbology_id("]d2010950")
(']d2', '010950')
>>> split_symbology_id("+A99912345")
(None, '+A99912345')
>>> describe_symbology_id("]C1")
('Code128', True)
"""

from __future__ import annotations

import string

_CODE_CHARS = frozenset(string.ascii_letters)
_MODIFIER_CHARS = frozenset(string.ascii_letters + string.digits)

_FORMATS: dict[str, str] = {
    "A": "Code39",
    "C": "Code128",
    "E": "EAN13",
    "F": "Codabar",
    "G": "Code93",
    "I": "ITF",
    "L": "PDF417",
    "Q": "QRCode",
    "d": "DataMatrix",
    "e": "DataBar",
    "z": "Aztec",
}
"""Code character to barcode format, named as zxing-cpp names them (like the camera's reads)."""

_GS1: dict[str, bool] = {
    "]C0": False,
    "]C1": True,
    "]d1": False,
    "]d2": True,
    "]Q1": False,
    "]Q3": True,
    "]e0": True,
}
"""Identifiers whose modifier says whether the symbol carries GS1 data (FNC1 first)."""


def split_symbology_id(text: str) -> tuple[str | None, str]:
    """`(identifier, data)` when `text` starts with `]`, a letter and a letter or digit;
    `(None, text)` otherwise."""
    if len(text) >= 3 and text[0] == "]" and text[1] in _CODE_CHARS and text[2] in _MODIFIER_CHARS:
        return text[:3], text[3:]
    return None, text


def describe_symbology_id(symbology_id: str | None) -> tuple[str | None, bool | None]:
    """`(format, gs1)` the identifier implies; None where it says nothing.

    >>> describe_symbology_id("]d1"), describe_symbology_id("]X0"), describe_symbology_id(None)
    (('DataMatrix', False), (None, None), (None, None))
    """
    if symbology_id is None or len(symbology_id) != 3:
        return None, None
    return _FORMATS.get(symbology_id[1]), _GS1.get(symbology_id)
