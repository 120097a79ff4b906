"""Where a checkpoint's reads come from: barcode scanners and a camera."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from protocols.config._base import ConfigModel, Float, Int, Name, Problems, describe_value, invalid

Framing = Literal["cr", "lf", "crlf", "etx", "custom"]
"""How a scanner ends each read."""

_TERMINATORS: dict[str, bytes] = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "etx": b"\x03"}

_AIM_ID = re.compile(r"\][A-Za-z][0-9A-Za-z]")

BarcodeFormat = Literal[
    "datamatrix",
    "code128",
    "gs1_128",
    "qr",
    "micro_qr",
    "pdf417",
    "aztec",
    "ean13",
    "ean8",
    "upca",
    "upce",
    "itf",
    "databar",
    "databar_expanded",
    "code39",
    "code93",
    "codabar",
]
"""Symbologies a camera may be told to look for. ``gs1_128`` is Code 128 carrying GS1
data (FNC1 first); ``datamatrix`` and ``qr`` cover their GS1 and HIBC forms."""

PYZBAR_FORMATS: frozenset[str] = frozenset(
    {
        "code128",
        "gs1_128",
        "qr",
        "ean13",
        "ean8",
        "upca",
        "upce",
        "itf",
        "databar",
        "databar_expanded",
        "code39",
        "code93",
        "codabar",
    }
)
"""What zbar can decode: no DataMatrix, Micro QR, Aztec or PDF417 (DESIGN.md)."""


def _check_port(value: str) -> str:
    if value.startswith(("socket://", "rfc2217://")):
        parts = urlsplit(value)
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None:
            raise invalid(
                f"expected {parts.scheme}://HOST:PORT with a port from 1 to 65535,"
                f" got {describe_value(value)}"
            )
        return value
    if value.startswith("/") or re.fullmatch(r"COM[0-9]+", value):
        return value
    raise invalid(
        "expected a serial device path (/dev/ttyUSB0, /dev/serial/by-id/...) or a"
        f" socket://HOST:PORT URL, got {describe_value(value)}"
    )


class ScannerConfig(ConfigModel):
    """A barcode scanner on a serial line, or a fixed-mount reader that streams over TCP."""

    name: Name
    """Source name recorded with each read, unique within the checkpoint (``front``)."""
    port: str
    """A serial device path (``/dev/ttyACM0``, ``/dev/serial/by-id/...``) or a pyserial
    URL ``socket://HOST:PORT`` (or ``rfc2217://HOST:PORT``) for a reader on the network."""
    baud: Int = Field(9600, gt=0)
    """Serial line speed in bits per second; ignored for ``socket://`` ports."""
    bytesize: Literal[5, 6, 7, 8] = 8
    """Data bits per character."""
    parity: Literal["none", "even", "odd", "mark", "space"] = "none"
    """Serial parity."""
    stopbits: Float = 1
    """Serial stop bits: 1, 1.5 or 2."""
    framing: Framing = "cr"
    """What ends each read: ``cr``, ``lf``, ``crlf``, ``etx`` (0x03) or ``custom``."""
    terminator_hex: str | None = None
    """The terminator bytes in hex (``"04"`` for EOT), with ``framing: custom`` only."""
    symbology_prefixes: tuple[str, ...] = ()
    """AIM symbology identifiers the scanner is set to prefix (``]d2``, ``]C1``, ``]Q3``,
    ``]e0``); a read without one of them is a read with a problem. Empty: no prefix."""
    gs_substitutes: tuple[str, ...] = ()
    """Characters this scanner sends in place of the GS1 group separator (0x1D), for
    scanners whose keyboard-style output cannot carry it (``~``, ``|``)."""
    read_timeout_s: Float = Field(1.0, gt=0)
    """How long an incomplete read may wait for its terminator before it is dropped."""
    reconnect_backoff_min_s: Float = Field(0.5, gt=0)
    """First wait before reopening a lost port; doubled (with jitter) up to the maximum."""
    reconnect_backoff_max_s: Float = Field(30.0, gt=0)
    """Longest wait between attempts to reopen a lost port."""

    @field_validator("port")
    @classmethod
    def _port_form(cls, value: str) -> str:
        return _check_port(value)

    @field_validator("stopbits")
    @classmethod
    def _stopbits(cls, value: float) -> float:
        if value not in (1, 1.5, 2):
            raise invalid(f"expected one of 1, 1.5, 2, got {value:g}")
        return value

    @field_validator("symbology_prefixes")
    @classmethod
    def _aim_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for prefix in value:
            if not _AIM_ID.fullmatch(prefix):
                raise invalid(
                    f"expected AIM symbology identifiers like ']d2', got {describe_value(prefix)}"
                )
        return value

    @field_validator("gs_substitutes")
    @classmethod
    def _single_chars(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for char in value:
            if len(char) != 1:
                raise invalid(f"expected single characters, got {describe_value(char)}")
        return value

    @model_validator(mode="after")
    def _cross_field(self) -> ScannerConfig:
        problems = Problems()
        if self.framing == "custom":
            if self.terminator_hex is None:
                problems.add(("terminator_hex",), "required with framing 'custom'")
            else:
                try:
                    if not bytes.fromhex(self.terminator_hex):
                        raise ValueError
                except ValueError:
                    problems.add(
                        ("terminator_hex",),
                        f"expected hex bytes like '04' or '1d0d', got {self.terminator_hex!r}",
                    )
        elif self.terminator_hex is not None:
            problems.add(
                ("terminator_hex",), f"only allowed with framing 'custom', not '{self.framing}'"
            )
        if self.reconnect_backoff_min_s > self.reconnect_backoff_max_s:
            problems.add(
                ("reconnect_backoff_min_s",),
                f"must not exceed reconnect_backoff_max_s ({self.reconnect_backoff_max_s:g}),"
                f" got {self.reconnect_backoff_min_s:g}",
            )
        problems.raise_if_any()
        return self

    @property
    def terminator(self) -> bytes:
        """The bytes that end a read on this scanner."""
        if self.framing == "custom":
            return bytes.fromhex(self.terminator_hex or "")
        return _TERMINATORS[self.framing]

    @property
    def is_network(self) -> bool:
        """True when the port is a pyserial URL rather than a local device."""
        return "://" in self.port


class RegionOfInterest(ConfigModel):
    """The part of the frame to decode, in pixels of the full frame."""

    x: Int = Field(ge=0)
    """Left edge in pixels."""
    y: Int = Field(ge=0)
    """Top edge in pixels."""
    width: Int = Field(gt=0)
    """Width in pixels."""
    height: Int = Field(gt=0)
    """Height in pixels."""


CameraSourceKind = Literal["index", "device", "rtsp", "file"]


class CameraConfig(ConfigModel):
    """A camera decoding codes from frames (final visual inspection, unlabelled stations)."""

    name: Name = "camera"
    """Source name recorded with each read, unique within the checkpoint."""
    source: str
    """A device index (``0``), a V4L2 device (``/dev/video0``), an ``rtsp://`` URL or a
    video file path."""
    roi: RegionOfInterest | None = None
    """Region to decode; the whole frame when absent."""
    downscale: Float = Field(1.0, gt=0, le=1)
    """Factor applied to the (cropped) frame before decoding: 0.5 halves each side."""
    formats: tuple[BarcodeFormat, ...] = Field(("datamatrix",), min_length=1)
    """Symbologies to look for; fewer formats decode faster and misread less."""
    decoder: Literal["zxing", "pyzbar"] = "zxing"
    """``zxing`` (zxing-cpp, keeps symbology ids and GS1 flags) or ``pyzbar`` (1D and QR
    only, no symbology ids)."""
    trigger: Literal["continuous", "on_trigger"] = "continuous"
    """``continuous``: every frame is decoded; ``on_trigger``: only the frames around a
    PLC trigger (needs ``plc.trigger``)."""
    fps: Float = Field(10.0, gt=0, le=120)
    """Frames per second taken from the source."""
    frame_queue: Int = Field(4, ge=1, le=64)
    """Frames buffered between capture and decoding; the oldest is dropped when full, so
    memory never grows with time."""

    @field_validator("source", mode="before")
    @classmethod
    def _index_as_text(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise invalid(f"expected a device index of 0 or more, got {value}")
            return str(value)
        return value

    @field_validator("source")
    @classmethod
    def _source_form(cls, value: str) -> str:
        if not value.strip():
            raise invalid("expected a device index, /dev/video*, an rtsp:// URL or a file path")
        if "://" in value and not value.startswith(("rtsp://", "rtsps://")):
            raise invalid(
                f"expected an rtsp:// URL, a device or a file path, got {describe_value(value)}"
            )
        return value

    @model_validator(mode="after")
    def _cross_field(self) -> CameraConfig:
        problems = Problems()
        seen: set[str] = set()
        for i, fmt in enumerate(self.formats):
            if fmt in seen:
                problems.add(("formats", i), f"'{fmt}' is listed twice")
            seen.add(fmt)
        if self.decoder == "pyzbar":
            for i, fmt in enumerate(self.formats):
                if fmt not in PYZBAR_FORMATS:
                    problems.add(
                        ("formats", i), f"pyzbar cannot decode '{fmt}'; use decoder 'zxing'"
                    )
        problems.raise_if_any()
        return self

    @property
    def source_kind(self) -> CameraSourceKind:
        """What ``source`` names: a device index, a device node, an RTSP stream or a file."""
        if self.source.isdigit():
            return "index"
        if self.source.startswith(("rtsp://", "rtsps://")):
            return "rtsp"
        if self.source.startswith("/dev/"):
            return "device"
        return "file"

    @property
    def device_index(self) -> int | None:
        """The device index when ``source`` is one, else None."""
        return int(self.source) if self.source.isdigit() else None
