"""`tracegate udi parse`: exit codes, the JSON object and the table."""

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from tracegate.cli import app

GTIN = "09506000134352"
JSON_KEYS = ["valid", "issuer", "di", "lot", "serial", "expiry", "production_date", "problems"]


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["udi", "parse", *args])
    return result.exit_code, result.stdout


def test_json_for_a_valid_gs1_udi() -> None:
    code, out = _run(f"]d201{GTIN}17250100101234\x1d21S1", "--json")

    assert code == 0
    assert json.loads(out) == {
        "valid": True,
        "issuer": "GS1",
        "di": GTIN,
        "lot": "1234",
        "serial": "S1",
        "expiry": "2025-01-31",
        "production_date": None,
        "problems": [],
    }


def test_a_gs_may_be_written_as_four_characters() -> None:
    literal = _run(f"01{GTIN}10AB\x1d21S1", "--json")
    escaped = _run(f"01{GTIN}10AB\\x1d21S1", "--json")

    assert literal == escaped
    assert json.loads(escaped[1])["lot"] == "AB"


def test_json_for_an_invalid_read_exits_1_and_lists_every_problem() -> None:
    code, out = _run("(01)09506000134353(17)250230", "--json")

    assert code == 1
    result = json.loads(out)
    assert list(result) == JSON_KEYS
    assert result["valid"] is False
    assert result["problems"] == [
        "Invalid GTIN check digit for '09506000134353': Expected 2, got 3.",
        "Invalid GS1 AI (17) date '250230': Expected a day from 00 to 28 in 2025-02, got 30.",
    ]


def test_json_for_hibcc() -> None:
    code, out = _run("+A99912345/$$52001510X3/16D20111212/S77DE1G45-", "--json")

    assert code == 0
    assert json.loads(out) == {
        "valid": True,
        "issuer": "HIBCC",
        "di": "A99912345",
        "lot": "10X3",
        "serial": "77DE1G45",
        "expiry": "2020-01-15",
        "production_date": "2011-12-12",
        "problems": [],
    }


def test_a_hibc_primary_and_its_separate_secondary() -> None:
    code, out = _run("+A999123457", "+$$3251231LOT779", "--json")

    assert code == 0
    assert (json.loads(out)["di"], json.loads(out)["lot"]) == ("A99912345", "LOT7")


def test_json_for_an_unknown_format() -> None:
    code, out = _run("hello", "--json")

    assert code == 1
    assert json.loads(out) == {
        "valid": False,
        "issuer": None,
        "di": None,
        "lot": None,
        "serial": None,
        "expiry": None,
        "production_date": None,
        "problems": [
            "Unknown UDI format for 'hello': Expected GS1 data (element string, '(01)...' "
            "text or Digital Link URI) or HIBC data starting with '+'."
        ],
    }


def test_another_separator() -> None:
    code, out = _run(f"01{GTIN}10AB|21S1", "--separator", "|", "--json")

    assert code == 0
    assert (json.loads(out)["lot"], json.loads(out)["serial"]) == ("AB", "S1")


def test_a_separator_of_two_characters_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["udi", "parse", f"01{GTIN}", "--separator", "ab"])

    assert result.exit_code == 2
    assert "expected single characters, got ['ab']" in result.output


def test_the_table_for_a_valid_udi() -> None:
    code, out = _run(f"01{GTIN}17251231")

    assert code == 0
    assert "valid UDI" in out
    assert GTIN in out
    assert "2025-12-31" in out


def test_the_table_for_an_invalid_read_names_the_problem() -> None:
    code, out = _run("+A99912345/$$52001510X34")

    assert code == 1
    assert "invalid UDI" in out
    assert "Invalid HIBC check character" in " ".join(out.split())


def test_the_installed_console_script() -> None:
    script = Path(sys.executable).with_name("tracegate")
    valid = subprocess.run(
        [script, "udi", "parse", f"01{GTIN}10A\\x1d21B", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    invalid = subprocess.run(
        [script, "udi", "parse", "0109506000134353", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert (valid.returncode, invalid.returncode) == (0, 1)
    assert list(json.loads(valid.stdout)) == JSON_KEYS
    assert json.loads(valid.stdout)["serial"] == "B"
    assert json.loads(invalid.stdout)["problems"] == [
        "Invalid GTIN check digit for '09506000134353': Expected 2, got 3."
    ]
