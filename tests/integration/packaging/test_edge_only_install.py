"""A Raspberry Pi installs `.[edge]` only: the CLI and every edge command must work there.

The venv is built once per pyproject.toml content (stamped) in `.venv-edge/`,
from the same source tree, and must not contain the cloud stack.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
VENV = ROOT / ".venv-edge"
CLOUD_ONLY = ("litestar", "sqlalchemy", "asyncpg", "aiosqlite", "alembic", "uvicorn")


@pytest.fixture(scope="module")
def edge_venv() -> Path:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{digest}"
    if not stamp.exists():
        if not (VENV / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", "-e", f"{ROOT}[edge]"],
            check=True,
            timeout=900,
        )
        for old in VENV.glob(".installed-*"):
            old.unlink()
        stamp.touch()
    return VENV


def _run(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "tracegate"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.timeout(900)
def test_edge_venv_lacks_the_cloud_stack(edge_venv: Path) -> None:
    code = (
        "import importlib.util, sys\n"
        f"print(','.join(m for m in {CLOUD_ONLY!r} if importlib.util.find_spec(m)))\n"
    )
    out = subprocess.run(
        [str(edge_venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


@pytest.mark.timeout(900)
def test_help_and_edge_commands_work_without_the_cloud_stack(edge_venv: Path) -> None:
    top = _run(edge_venv, "--help")
    assert top.returncode == 0, top.stderr
    assert "udi" in top.stdout
    assert "config" in top.stdout

    parsed = _run(edge_venv, "udi", "parse", "--json", "(01)09506000134352(17)261231(10)A1")
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    assert '"valid": true' in parsed.stdout

    validated = _run(edge_venv, "config", "validate", "device-configs")
    assert validated.returncode == 0, validated.stdout + validated.stderr
