"""SSCCs at packing and shipping: reading a container label, making a new SSCC.

A logistic label carries the SSCC as GS1 AI (00): ``00`` and 18 digits at the start of
the element string (other AIs may follow: content, count, batch), or ``(00)...`` in the
human-readable form. A read that starts like that is a container label, never a unit: a
UDI starts with AI (01) or, for HIBCC, with ``+``.

>>> label = ContainerLabel.parse("00376130321109103420")
>>> label.sscc
'376130321109103420'
>>> ContainerLabel.parse("00376130321109103421")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
edge...SsccLabelError: Invalid SSCC check digit for '376130321109103421': expected 0, got 1
>>> make_sscc(extension_digit=1, company_prefix="5391234", serial=42)
'153912340000000426'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from protocols.sscc import check_sscc, sscc_check_digit

__all__ = ["ContainerLabel", "SsccLabelError", "looks_like_container_label", "make_sscc"]

_ELEMENT = re.compile(r"^00(\d{18})")
_HRI = re.compile(r"^\(00\)\s?(\d{18})")
_LOOSE = re.compile(r"^(?:\(00\)|00)\d")


class SsccLabelError(ValueError):
    """A container label whose SSCC is not valid."""


def looks_like_container_label(text: str) -> bool:
    """Whether a read is meant as a container label (AI 00), valid or not."""
    return bool(_LOOSE.match(text.strip()))


@dataclass(frozen=True, slots=True)
class ContainerLabel:
    """A container label as read: its SSCC, check digit verified."""

    sscc: str
    text: str
    """The read's text."""

    @classmethod
    def parse(cls, text: str) -> ContainerLabel:
        """The SSCC of a label read; `SsccLabelError` names what is wrong."""
        stripped = text.strip()
        match = _ELEMENT.match(stripped) or _HRI.match(stripped)
        if match is None:
            raise SsccLabelError(
                f"Invalid container label {text!r}: expected AI (00) and 18 digits"
            )
        try:
            return cls(sscc=check_sscc(match.group(1)), text=text)
        except ValueError as exc:
            raise SsccLabelError(str(exc)) from None


def make_sscc(*, extension_digit: int, company_prefix: str, serial: int) -> str:
    """A new SSCC: extension digit, GS1 company prefix, serial reference filling the 16
    digits, check digit. `serial` must fit the room the prefix leaves."""
    room = 16 - len(company_prefix)
    if not 0 <= extension_digit <= 9:
        raise ValueError(f"SSCC extension digit: expected 0 to 9, got {extension_digit}")
    if not (company_prefix.isascii() and company_prefix.isdigit() and len(company_prefix) >= 6):
        raise ValueError(f"GS1 company prefix: expected 6 to 12 digits, got {company_prefix!r}")
    if not 0 <= serial < 10**room:
        raise ValueError(
            f"SSCC serial reference {serial}: expected 0 to {10**room - 1}"
            f" with company prefix {company_prefix}"
        )
    body = f"{extension_digit}{company_prefix}{serial:0{room}d}"
    return body + str(sscc_check_digit(body))
