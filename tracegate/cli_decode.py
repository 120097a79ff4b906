"""`tracegate decode IMAGE...`: decode barcodes in image files as the line camera does.

Per image, `--json` prints one line holding a JSON list of
`{"format", "symbology_id", "gs1", "text", "udi"}`: `text` keeps GS as U+001D (JSON writes
it `\\u001d`), and `udi` is the object `tracegate udi parse --json` prints for the read as a
scanner would send it (AIM symbology identifier first), or null when the read does not look
like a UDI at all. A read that looks like GS1 or HIBC data but is broken gets the object,
with `valid` false and its problems.

The edge side (OpenCV, zxing-cpp) is imported inside the command body only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

import typer

if TYPE_CHECKING:
    from edge.adapters.decoders import Decoded, Decoder, Image
    from protocols.udi import UdiJson

GS = "\x1d"
_GS1_SYMBOLOGY_IDS = frozenset({"]C1", "]d2", "]Q3", "]e0"})
_GS1_HRI = re.compile(r"\(\d{2,4}\)")
_GS1_ELEMENT_STRING_WITH_GTIN = re.compile(r"01\d{14}")
_GS1_DIGITAL_LINK = re.compile(r"https?://[^/\s]+(/[^\s]*)?/01/\d{8,14}", re.IGNORECASE)


class DecodedJson(TypedDict):
    """One code of one image, as `--json` prints it: exactly these keys, in this order."""

    format: str
    symbology_id: str | None
    gs1: bool | None
    text: str
    udi: UdiJson | None


def looks_like_udi(*, text: str, symbology_id: str | None, gs1: bool | None) -> bool:
    """Whether a read claims to be GS1 or HIBC data, so that it is worth a UDI verdict.

    >>> looks_like_udi(text="+A99912345/$$52001510X33", symbology_id="]d1", gs1=False)
    True
    >>> looks_like_udi(text="0109506000134352", symbology_id="]d1", gs1=False)
    True
    >>> looks_like_udi(text="https://example.com", symbology_id="]Q1", gs1=False)
    False
    """
    if gs1 or symbology_id in _GS1_SYMBOLOGY_IDS:
        return True
    body = text.strip()
    return (
        body.startswith(("+", "*+"))
        or _GS1_HRI.match(body) is not None
        or _GS1_ELEMENT_STRING_WITH_GTIN.match(body) is not None
        or _GS1_DIGITAL_LINK.match(body) is not None
    )


def decoded_json(decoded: Decoded) -> DecodedJson:
    """The JSON object for one read."""
    from protocols.udi import inspect_udi, udi_to_json_dict

    udi: UdiJson | None = None
    if looks_like_udi(text=decoded.text, symbology_id=decoded.symbology_id, gs1=decoded.gs1):
        udi = udi_to_json_dict(*inspect_udi((decoded.symbology_id or "") + decoded.text))
    return DecodedJson(
        format=decoded.code_format,
        symbology_id=decoded.symbology_id,
        gs1=decoded.gs1,
        text=decoded.text,
        udi=udi,
    )


class ImageReadError(Exception):
    """An image file that does not exist or cannot be decoded as an image."""


def read_image(path: Path) -> Image:
    """The image at `path` as OpenCV loads it (BGR), or ImageReadError naming the file."""
    import cv2
    import numpy as np

    if not path.exists():
        raise ImageReadError(f"{path}: no such file")
    if not path.is_file():
        raise ImageReadError(f"{path}: not a file")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ImageReadError(
            f"{path}: not an image OpenCV can read (expected PNG, JPEG, BMP, TIFF, WebP, ...; "
            f"got {data.size} bytes starting {bytes(data[:8])!r})"
        )
    return np.asarray(image, dtype=np.uint8)


def decode_command(
    images: Annotated[
        list[Path], typer.Argument(metavar="IMAGE", help="Image files (PNG, JPEG, ...).")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON list per image instead of tables.")
    ] = False,
    backend: Annotated[
        str,
        typer.Option("--backend", help="Decoder: zxing (default) or pyzbar (1D and QR only)."),
    ] = "zxing",
    formats: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            help="Barcode format to look for, as device configs name it (repeatable; default "
            "datamatrix, code128, qr; with pyzbar: code128, qr).",
        ),
    ] = None,
) -> None:
    """Decode the barcodes in image files; a UDI verdict for each code. Exit 1 when an image
    cannot be read (the others are still decoded)."""
    from edge.adapters.decoders import DEFAULT_FORMATS, DecoderError, create_decoder

    chosen = formats or (["code128", "qr"] if backend == "pyzbar" else list(DEFAULT_FORMATS))
    try:
        decoder = create_decoder(backend, formats=chosen)
    except DecoderError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    failed = False
    for path in images:
        try:
            results = _decode_file(decoder, path)
        except ImageReadError as exc:
            typer.echo(f"error: {exc}", err=True)
            failed = True
            continue
        if as_json:
            typer.echo(json.dumps(results))
        else:
            _print_table(path, results)
    raise typer.Exit(1 if failed else 0)


def _decode_file(decoder: Decoder, path: Path) -> list[DecodedJson]:
    return [decoded_json(d) for d in decoder.decode(read_image(path))]


def _print_table(path: Path, results: list[DecodedJson]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    if not results:
        console.print(Text(f"{path}: no code found", style="yellow"))
        return
    table = Table(title=str(path), title_justify="left")
    for column in ("format", "symbology id", "GS1"):
        table.add_column(column)
    table.add_column("text", overflow="fold")
    table.add_column("UDI", overflow="fold")
    for result in results:
        table.add_row(
            result["format"],
            result["symbology_id"] or "-",
            _flag(result["gs1"]),
            Text(result["text"].replace(GS, "<GS>")),
            _udi_cell(result["udi"]),
        )
    console.print(table)


def _flag(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _udi_cell(udi: UdiJson | None) -> Any:
    from rich.text import Text

    if udi is None:
        return Text("not a UDI", style="dim")
    if udi["valid"]:
        fields = {"lot": udi["lot"], "serial": udi["serial"], "expiry": udi["expiry"]}
        parts = [f"{udi['issuer']} DI {udi['di']}"]
        parts += [f"{name} {value}" for name, value in fields.items() if value]
        return Text("valid: " + ", ".join(parts), style="green")
    return Text("invalid: " + " ".join(udi["problems"]), style="red")
