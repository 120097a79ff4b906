"""`tracegate config validate PATH...`: OK per valid file, every problem otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from protocols.config import config_hash, load_plant_file
from tracegate.cli import app

ROOT = Path(__file__).resolve().parents[3]


def run(*args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["config", "validate", *args])
    return result.exit_code, result.output.splitlines()


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.fixture
def broken(tmp_path: Path, minimal: str) -> Path:
    text = minimal.replace("scale: 0.01", "scale: x").replace("  timezone: UTC\n", "")
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    return path


def test_valid_directory(in_repo: None) -> None:
    digest = config_hash(load_plant_file("device-configs/line-1.yaml"))[:12]
    assert run("device-configs") == (
        0,
        [
            f"OK device-configs/line-1.yaml (line line-1, 7 checkpoints, config hash {digest})",
            "1 config valid",
        ],
    )


def test_every_problem_is_printed_plain(broken: Path) -> None:
    code, lines = run(str(broken))
    assert code == 1
    assert lines == [
        f"FAIL {broken} (2 problems)",
        f"{broken}:1 site.timezone: required key missing",
        f"{broken}:29 checkpoints[0].plc.registers[1].scale: expected a number, got 'x'",
        "1 of 1 config invalid",
    ]


def test_valid_and_invalid_files_together(in_repo: None, broken: Path) -> None:
    code, lines = run("device-configs/line-1.yaml", str(broken))
    assert code == 1
    assert lines[0].startswith("OK device-configs/line-1.yaml (")
    assert lines[1] == f"FAIL {broken} (2 problems)"
    assert lines[-1] == "1 of 2 configs invalid"


def test_missing_path_and_empty_directory(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, lines = run(str(tmp_path / "nope.yaml"), str(empty))
    assert code == 1
    assert lines == [
        f"{tmp_path / 'nope.yaml'}: no such file or directory",
        f"{empty}: no .yaml or .yml files found",
        "2 of 2 configs invalid",
    ]


def test_directories_are_searched_for_yaml_and_yml(tmp_path: Path, minimal: str) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.yaml").write_text(minimal)
    (tmp_path / "sub" / "b.yml").write_text(minimal.replace("line-1", "line-2"))
    (tmp_path / "notes.txt").write_text("not a config")
    code, lines = run(str(tmp_path))
    assert code == 0
    assert [line.split(" (")[0] for line in lines] == [
        f"OK {tmp_path / 'a.yaml'}",
        f"OK {tmp_path / 'sub' / 'b.yml'}",
        "2 configs valid",
    ]


def test_unreadable_bytes(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"site:\n  name: Caf\xe9\n")
    assert run(str(path)) == (
        1,
        [
            f"FAIL {path} (1 problem)",
            f"{path}:2: not UTF-8 text: byte 0xe9 at offset 17",
            "1 of 1 config invalid",
        ],
    )


def test_console_script_exit_codes(broken: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "tracegate.cli", "config", "validate", "device-configs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert (ok.returncode, ok.stdout.splitlines()[-1]) == (0, "1 config valid")
    bad = subprocess.run(
        [sys.executable, "-m", "tracegate.cli", "config", "validate", str(broken)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert f"{broken}:29 checkpoints[0].plc.registers[1].scale: expected a number, got 'x'" in (
        bad.stdout.splitlines()
    )
