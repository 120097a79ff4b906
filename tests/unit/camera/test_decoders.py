"""Decoding backends on symbols drawn with zxing-cpp's writer: exact text, identifier, flag."""

from __future__ import annotations

from typing import get_args

import numpy as np
import pytest

from edge.adapters.decoders import (
    Decoded,
    DecoderConfigError,
    ZbarDecoder,
    ZxingDecoder,
    check_formats,
    create_decoder,
)
from edge.sim.camera_render import Placement, render_scene
from edge.sim.units import GS, Symbology
from protocols.config.sources import PYZBAR_FORMATS as CONFIG_PYZBAR_FORMATS
from protocols.config.sources import BarcodeFormat

GS1_TEXT = f"0109506000134352112506021728060110LABC123{GS}21AB0000001"
HIBC_TEXT = "+A99912345/$$52001510X33"


def scene(*placements: Placement, noise_sigma: float = 2.0) -> np.ndarray:
    return render_scene(placements, seed=5, noise_sigma=noise_sigma)


def one(
    symbology: Symbology, text: str, *, module_px: float = 4.0, angle_deg: float = 0.0
) -> Placement:
    return Placement(
        symbology=symbology,
        text=text,
        center_px=(640, 360),
        module_px=module_px,
        angle_deg=angle_deg,
    )


@pytest.mark.parametrize(
    ("symbology", "text", "expected"),
    [
        (
            Symbology.GS1_DATAMATRIX,
            GS1_TEXT,
            Decoded(code_format="DataMatrix", symbology_id="]d2", gs1=True, text=GS1_TEXT),
        ),
        (
            Symbology.GS1_128,
            GS1_TEXT,
            Decoded(code_format="Code128", symbology_id="]C1", gs1=True, text=GS1_TEXT),
        ),
        (
            Symbology.GS1_QR,
            GS1_TEXT,
            Decoded(code_format="QRCode", symbology_id="]Q3", gs1=True, text=GS1_TEXT),
        ),
        (
            Symbology.HIBC_DATAMATRIX,
            HIBC_TEXT,
            Decoded(code_format="DataMatrix", symbology_id="]d1", gs1=False, text=HIBC_TEXT),
        ),
        (
            Symbology.HIBC_128,
            HIBC_TEXT,
            Decoded(code_format="Code128", symbology_id="]C0", gs1=False, text=HIBC_TEXT),
        ),
    ],
)
def test_zxing_reads_each_udi_symbology_with_gs_identifier_and_flag(
    symbology: Symbology, text: str, expected: Decoded
) -> None:
    linear = symbology in (Symbology.GS1_128, Symbology.HIBC_128)
    # A 1D symbol tilted past atan(height / width), about 6 degrees here, has no scan line
    # crossing every bar; 2D symbols are read at any angle.
    image = scene(
        one(symbology, text, module_px=2.0 if linear else 4.0, angle_deg=3 if linear else 33)
    )

    assert ZxingDecoder().decode(image) == [expected]


def test_zxing_keeps_gs_as_the_control_character_not_escaped() -> None:
    (read,) = ZxingDecoder().decode(scene(one(Symbology.GS1_DATAMATRIX, GS1_TEXT)))

    assert "\x1d21AB0000001" in read.text
    assert "<GS>" not in read.text
    assert "(" not in read.text


def test_zxing_reads_three_codes_in_one_frame() -> None:
    image = render_scene(
        [
            Placement(symbology=Symbology.GS1_DATAMATRIX, text=GS1_TEXT, center_px=(200, 150)),
            Placement(symbology=Symbology.GS1_QR, text=GS1_TEXT, center_px=(1000, 200)),
            Placement(
                symbology=Symbology.GS1_128, text=GS1_TEXT, center_px=(640, 520), module_px=2
            ),
        ],
        seed=1,
        noise_sigma=4,
    )

    found = sorted((d.code_format, d.symbology_id, d.text) for d in ZxingDecoder().decode(image))

    assert found == [
        ("Code128", "]C1", GS1_TEXT),
        ("DataMatrix", "]d2", GS1_TEXT),
        ("QRCode", "]Q3", GS1_TEXT),
    ]


def test_format_filter_reads_only_the_named_formats() -> None:
    image = render_scene(
        [
            Placement(symbology=Symbology.GS1_DATAMATRIX, text=GS1_TEXT, center_px=(200, 200)),
            Placement(symbology=Symbology.GS1_QR, text=GS1_TEXT, center_px=(500, 200)),
        ],
        width_px=640,
        height_px=480,
    )

    assert [d.code_format for d in ZxingDecoder(formats=["qr"]).decode(image)] == ["QRCode"]
    assert [d.code_format for d in ZxingDecoder(formats=["datamatrix"]).decode(image)] == [
        "DataMatrix"
    ]


def test_gs1_128_without_code128_drops_plain_code128() -> None:
    image = render_scene(
        [
            Placement(
                symbology=Symbology.HIBC_128, text=HIBC_TEXT, center_px=(640, 150), module_px=2
            ),
            Placement(
                symbology=Symbology.GS1_128, text=GS1_TEXT, center_px=(640, 500), module_px=2
            ),
        ],
    )

    gs1_only = ZxingDecoder(formats=["gs1_128"]).decode(image)
    both = ZxingDecoder(formats=["code128"]).decode(image)

    assert [(d.symbology_id, d.text) for d in gs1_only] == [("]C1", GS1_TEXT)]
    assert sorted(d.symbology_id or "" for d in both) == ["]C0", "]C1"]


def test_pyzbar_reads_gs1_128_keeping_gs_without_identifier_or_flag() -> None:
    image = scene(one(Symbology.GS1_128, GS1_TEXT, module_px=2.0), noise_sigma=0)

    assert ZbarDecoder(formats=["code128"]).decode(image) == [
        Decoded(code_format="Code128", symbology_id=None, gs1=None, text=GS1_TEXT)
    ]


def test_pyzbar_cannot_be_asked_for_datamatrix() -> None:
    with pytest.raises(DecoderConfigError) as caught:
        ZbarDecoder(formats=["datamatrix", "qr"])

    assert str(caught.value) == (
        "The pyzbar backend cannot read 'datamatrix': it reads codabar, code128, code39, "
        "code93, databar, databar_expanded, ean13, ean8, gs1_128, itf, qr, upca, upce."
    )


def test_unknown_format_is_named() -> None:
    with pytest.raises(DecoderConfigError) as caught:
        check_formats(["datamatrix", "DataMatrix"], backend="zxing")

    assert str(caught.value).startswith(
        "Unknown barcode format 'DataMatrix' for the zxing backend: expected one of aztec, "
    )


def test_no_formats_is_refused() -> None:
    with pytest.raises(DecoderConfigError) as caught:
        check_formats([], backend="zxing")

    assert str(caught.value) == "No barcode formats given for the zxing backend."


def test_unknown_backend_is_named() -> None:
    with pytest.raises(DecoderConfigError) as caught:
        create_decoder("zbar")

    assert str(caught.value) == "Unknown decoder backend 'zbar': expected 'zxing' or 'pyzbar'."


def test_format_names_are_the_device_configs() -> None:
    from edge.adapters.decoders import PYZBAR_FORMATS, ZXING_FORMATS

    assert set(ZXING_FORMATS) == set(get_args(BarcodeFormat))
    assert set(PYZBAR_FORMATS) == set(CONFIG_PYZBAR_FORMATS)


def test_empty_frame_gives_no_read() -> None:
    assert ZxingDecoder().decode(scene(noise_sigma=8)) == []
