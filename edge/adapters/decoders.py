"""Barcode decoding backends behind one small interface; the decoding libraries live only here.

zxing-cpp is the camera decoder: it reads GS1 DataMatrix, GS1-128 and GS1 QR and reports
the AIM symbology identifier and the GS1 flag. pyzbar is a selectable second backend for 1D
and QR codes only; zbar reads no DataMatrix and reports neither identifier nor GS1 flag, so
its reads carry `None` for both (unknown, not false).

Formats are asked for by the device config's names (`datamatrix`, `gs1_128`, `qr`, ...);
reads report the format by zxing-cpp's name (`DataMatrix`, `Code128`, `QRCode`) whatever
the backend. `gs1_128` is Code 128 with the GS1 flag: asked for without `code128`, plain
Code 128 reads are dropped (zbar cannot tell them apart, so it keeps them).

>>> try:
...     check_formats(["datamatrix"], backend="pyzbar")
... except DecoderConfigError as exc:
...     print(str(exc)[:64])
The pyzbar backend cannot read 'datamatrix': it reads codabar, c
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
import zxingcpp

Backend = Literal["zxing", "pyzbar"]
Image = npt.NDArray[np.uint8]
"""A frame: 2-D grayscale or 3-D BGR, 8 bits per channel (OpenCV's layout)."""

ZXING_FORMATS: dict[str, str] = {
    "datamatrix": "DataMatrix",
    "code128": "Code128",
    "gs1_128": "Code128",
    "qr": "QRCode",
    "micro_qr": "MicroQRCode",
    "pdf417": "PDF417",
    "aztec": "Aztec",
    "ean13": "EAN13",
    "ean8": "EAN8",
    "upca": "UPCA",
    "upce": "UPCE",
    "itf": "ITF",
    "databar": "DataBar",
    "databar_expanded": "DataBarExp",
    "code39": "Code39",
    "code93": "Code93",
    "codabar": "Codabar",
}
"""Config format name -> zxing-cpp format (also the name reads report)."""

PYZBAR_FORMATS: dict[str, str] = {
    "code128": "CODE128",
    "gs1_128": "CODE128",
    "qr": "QRCODE",
    "ean13": "EAN13",
    "ean8": "EAN8",
    "upca": "UPCA",
    "upce": "UPCE",
    "itf": "I25",
    "databar": "DATABAR",
    "databar_expanded": "DATABAR_EXP",
    "code39": "CODE39",
    "code93": "CODE93",
    "codabar": "CODABAR",
}
"""Config format name -> zbar symbol type. No DataMatrix, Micro QR, Aztec or PDF417 (zbar's
PDF417 support is not built in its Debian package)."""

_ZBAR_TYPE_TO_FORMAT: dict[str, str] = {
    zbar: ZXING_FORMATS[name] for name, zbar in PYZBAR_FORMATS.items()
}

DEFAULT_FORMATS: tuple[str, ...] = ("datamatrix", "code128", "qr")
"""The UDI carriers on medical devices: GS1/HIBC DataMatrix, GS1-128/HIBC 128, GS1 QR."""


class DecoderError(Exception):
    """A decoding backend cannot be used as asked."""


class DecoderConfigError(DecoderError, ValueError):
    """A backend or format name that does not exist, or a format the backend cannot read."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Decoded:
    """One symbol found in one image."""

    code_format: str
    """zxing-cpp's format name: `DataMatrix`, `Code128`, `QRCode`, ..."""

    symbology_id: str | None
    """AIM symbology identifier (`]d2` GS1 DataMatrix, `]C1` GS1-128, `]Q3` GS1 QR), or None
    when the backend does not report one."""

    gs1: bool | None
    """True when the symbol carries the GS1 flag (FNC1 first), None when the backend cannot
    tell."""

    text: str
    """Decoded data; GS1 field separators kept as GS (U+001D)."""


class Decoder(Protocol):
    """Finds and decodes every symbol of the configured formats in an image. Blocking:
    callers run it off the event loop."""

    @property
    def backend(self) -> Backend: ...

    @property
    def formats(self) -> tuple[str, ...]: ...

    def decode(self, image: Image) -> list[Decoded]: ...


def check_formats(formats: Collection[str], *, backend: Backend) -> tuple[str, ...]:
    """The formats, each once, in the order given; DecoderConfigError names the first one the
    backend does not read."""
    known = ZXING_FORMATS if backend == "zxing" else PYZBAR_FORMATS
    if not formats:
        raise DecoderConfigError(f"No barcode formats given for the {backend} backend.")
    for name in formats:
        if name in known:
            continue
        if name in ZXING_FORMATS:
            raise DecoderConfigError(
                f"The {backend} backend cannot read {name!r}: it reads {', '.join(sorted(known))}."
            )
        raise DecoderConfigError(
            f"Unknown barcode format {name!r} for the {backend} backend: "
            f"expected one of {', '.join(sorted(known))}."
        )
    return tuple(dict.fromkeys(formats))


def _drops_plain_code128(formats: Collection[str]) -> bool:
    return "gs1_128" in formats and "code128" not in formats


class ZxingDecoder:
    """zxing-cpp: every format in `formats`, symbology identifier and GS1 flag reported."""

    def __init__(self, *, formats: Collection[str] = DEFAULT_FORMATS, try_invert: bool = False):
        self._formats = check_formats(formats, backend="zxing")
        names = dict.fromkeys(ZXING_FORMATS[name] for name in self._formats)
        self._zx_formats = zxingcpp.BarcodeFormats(
            [getattr(zxingcpp.BarcodeFormat, name) for name in names]
        )
        self._gs1_128_only = _drops_plain_code128(self._formats)
        # Labels print dark on light; skipping the inverted pass saves a decode per frame.
        self._try_invert = try_invert

    @property
    def backend(self) -> Backend:
        return "zxing"

    @property
    def formats(self) -> tuple[str, ...]:
        return self._formats

    def decode(self, image: Image) -> list[Decoded]:
        # TextMode.Plain keeps GS1's FNC1 separators as U+001D; the default (HRI) would turn
        # them into "(10)..." parentheses and Escaped into the four characters "<GS>".
        found = zxingcpp.read_barcodes(
            image,
            formats=self._zx_formats,
            text_mode=zxingcpp.TextMode.Plain,
            try_invert=self._try_invert,
        )
        reads = [
            Decoded(
                code_format=symbol.format.name,
                symbology_id=symbol.symbology_identifier or None,
                gs1=symbol.content_type == zxingcpp.ContentType.GS1,
                text=symbol.text,
            )
            for symbol in found
        ]
        if self._gs1_128_only:
            reads = [r for r in reads if r.code_format != "Code128" or r.gs1]
        return reads


class ZbarDecoder:
    """pyzbar (zbar): 1D and QR formats; no symbology identifier, no GS1 flag."""

    def __init__(self, *, formats: Collection[str] = ("code128", "qr")) -> None:
        self._formats = check_formats(formats, backend="pyzbar")
        try:
            from pyzbar import pyzbar
        except ImportError as exc:  # pyzbar loads libzbar with ctypes at import
            raise DecoderError(
                "The pyzbar backend needs the zbar shared library (Debian package libzbar0): "
                f"importing pyzbar failed with {exc}"
            ) from exc
        self._pyzbar: Any = pyzbar
        types = dict.fromkeys(PYZBAR_FORMATS[name] for name in self._formats)
        self._symbols = [pyzbar.ZBarSymbol[zbar_type] for zbar_type in types]

    @property
    def backend(self) -> Backend:
        return "pyzbar"

    @property
    def formats(self) -> tuple[str, ...]:
        return self._formats

    def decode(self, image: Image) -> list[Decoded]:
        found = self._pyzbar.decode(image, symbols=self._symbols)
        reads: list[Decoded] = []
        for symbol in found:
            data: bytes = symbol.data
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
            code_format = _ZBAR_TYPE_TO_FORMAT.get(symbol.type, symbol.type)
            reads.append(Decoded(code_format=code_format, symbology_id=None, gs1=None, text=text))
        return reads


def create_decoder(backend: str, *, formats: Sequence[str] = DEFAULT_FORMATS) -> Decoder:
    """The decoder for `backend` (`zxing` or `pyzbar`) limited to `formats` (config names)."""
    if backend == "zxing":
        return ZxingDecoder(formats=formats)
    if backend == "pyzbar":
        return ZbarDecoder(formats=formats)
    raise DecoderConfigError(f"Unknown decoder backend {backend!r}: expected 'zxing' or 'pyzbar'.")
