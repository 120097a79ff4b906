"""Checks of product device identifiers (UDI-DI) by issuing agency."""

from __future__ import annotations

import re

from protocols.gs1 import parse_gtin

_HIBC_DI = re.compile(r"^[A-Z][A-Z0-9]{3}[A-Z0-9]{1,18}[0-9]$")


def di_problem(issuer: str, di: str) -> str | None:
    """What is wrong with `di` as a DI of `issuer`, or None.

    >>> di_problem("GS1", "09506000134352") is None
    True
    >>> di_problem("GS1", "09506000134353")
    "Invalid GTIN check digit for '09506000134353': Expected 2, got 3."
    >>> di_problem("HIBCC", "A99912345")
    >>> di_problem("HIBCC", "999912345")[-32:]
    "unit of measure, got '999912345'"
    """
    if issuer == "GS1":
        if not (len(di) == 14 and di.isdigit()):
            return f"expected a GTIN-14 of 14 digits, got {di!r}"
        problems = parse_gtin(di).problems
        return problems[0] if problems else None
    if not _HIBC_DI.match(di):
        return (
            "expected a HIBCC DI: a labeler code (a letter and 3 letters or digits), a product "
            "number of 1-18 letters or digits and a one-digit unit of measure, "
            f"got {di!r}"
        )
    return None
