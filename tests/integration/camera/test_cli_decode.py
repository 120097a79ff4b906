"""`tracegate decode` on image files written to disk."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
from typer.testing import CliRunner

from edge.sim.camera_render import Placement, render_scene
from edge.sim.units import GS, Symbology, gtin_check_digit
from tracegate.cli import app

GS1_TEXT = f"0109506000134352112506021728060110LABC123{GS}21AB0000001"
WRONG_CHECK_DIGIT = f"0109506000134353112506021728060110LABC123{GS}21AB0000002"
HIBC_TEXT = "+A99912345/$$52001510X33"
MANUAL_URL = "https://example.com/ifu/tg-1234"


def write_label(tmp_path: Path) -> Path:
    image = render_scene(
        [
            Placement(symbology=Symbology.GS1_DATAMATRIX, text=GS1_TEXT, center_px=(200, 180)),
            Placement(symbology=Symbology.HIBC_DATAMATRIX, text=HIBC_TEXT, center_px=(640, 180)),
            Placement(symbology=Symbology.GS1_QR, text=WRONG_CHECK_DIGIT, center_px=(1050, 200)),
            Placement(
                symbology=Symbology.HIBC_128, text=MANUAL_URL, center_px=(640, 520), module_px=2
            ),
        ],
        seed=2,
        noise_sigma=3,
    )
    path = tmp_path / "label.png"
    assert cv2.imwrite(str(path), image)
    return path


def test_json_lists_each_code_with_its_udi_verdict(tmp_path: Path) -> None:
    assert gtin_check_digit("0950600013435") == "2"  # so ...353 is wrong
    label = write_label(tmp_path)

    result = CliRunner().invoke(app, ["decode", "--json", str(label)])

    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    assert "\\u001d21AB0000001" in line
    codes = json.loads(line)
    assert all(list(code) == ["format", "symbology_id", "gs1", "text", "udi"] for code in codes)
    assert sorted(codes, key=lambda code: (code["format"], code["text"])) == [
        {
            "format": "Code128",
            "symbology_id": "]C0",
            "gs1": False,
            "text": MANUAL_URL,
            "udi": None,
        },
        {
            "format": "DataMatrix",
            "symbology_id": "]d1",
            "gs1": False,
            "text": HIBC_TEXT,
            "udi": {
                "valid": True,
                "issuer": "HIBCC",
                "di": "A99912345",
                "lot": "10X3",
                "serial": None,
                "expiry": "2020-01-15",
                "production_date": None,
                "problems": [],
            },
        },
        {
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
        },
        {
            "format": "QRCode",
            "symbology_id": "]Q3",
            "gs1": True,
            "text": WRONG_CHECK_DIGIT,
            "udi": {
                "valid": False,
                "issuer": "GS1",
                "di": "09506000134353",
                "lot": "LABC123",
                "serial": "AB0000002",
                "expiry": "2028-06-01",
                "production_date": "2025-06-02",
                "problems": ["Invalid GTIN check digit for '09506000134353': Expected 2, got 3."],
            },
        },
    ]


def test_udi_object_is_what_udi_parse_prints(tmp_path: Path) -> None:
    label = write_label(tmp_path)
    runner = CliRunner()

    codes = json.loads(runner.invoke(app, ["decode", "--json", str(label)]).stdout)
    gs1 = next(code for code in codes if code["symbology_id"] == "]d2")
    parsed = runner.invoke(app, ["udi", "parse", "--json", "]d2" + gs1["text"]])

    assert json.loads(parsed.stdout) == gs1["udi"]


def test_missing_and_broken_images_are_named_and_the_rest_decoded(tmp_path: Path) -> None:
    label = write_label(tmp_path)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    missing = tmp_path / "missing.png"

    result = CliRunner().invoke(app, ["decode", "--json", str(missing), str(broken), str(label)])

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {missing}: no such file",
        f"error: {broken}: not an image OpenCV can read (expected PNG, JPEG, BMP, TIFF, WebP, "
        "...; got 18 bytes starting b'\\x89PNG\\r\\n\\x1a\\n')",
    ]
    (line,) = result.stdout.splitlines()
    assert len(json.loads(line)) == 4


def test_image_without_codes_prints_an_empty_list(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    assert cv2.imwrite(str(path), render_scene([], width_px=640, height_px=480, noise_sigma=5))

    result = CliRunner().invoke(app, ["decode", "--json", str(path)])

    assert (result.exit_code, result.stdout) == (0, "[]\n")


def test_table_output_names_the_image_and_marks_gs(tmp_path: Path) -> None:
    label = write_label(tmp_path)

    result = CliRunner().invoke(app, ["decode", str(label)], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert str(label) in result.stdout
    assert "0109506000134352112506021728060110LABC123<GS>21AB0000001" in result.stdout
    assert "not a UDI" in result.stdout
    assert "invalid: Invalid GTIN check digit for '09506000134353': Expected 2, got 3." in (
        result.stdout
    )


def test_pyzbar_cannot_be_asked_for_datamatrix(tmp_path: Path) -> None:
    label = write_label(tmp_path)

    result = CliRunner().invoke(
        app, ["decode", "--backend", "pyzbar", "--format", "datamatrix", str(label)]
    )

    assert result.exit_code == 2
    assert result.stderr.startswith("error: The pyzbar backend cannot read 'datamatrix': ")
