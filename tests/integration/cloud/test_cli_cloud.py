"""`tracegate cloud migrate`: schema and plant import from device-configs, repeatable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TRACEGATE = Path(sys.executable).parent / "tracegate"


def migrate(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRACEGATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"}
    return subprocess.run(
        [str(TRACEGATE), "cloud", "migrate", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def test_migrate_imports_the_plant_once(tmp_path: Path) -> None:
    configs = ROOT / "device-configs"
    files = sorted(configs.glob("*.yaml"))
    assert files, "the example plant is missing"

    first = migrate(tmp_path, "--plant", str(configs))
    again = migrate(tmp_path, "--plant", str(configs))

    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].startswith("database at revision ")
    assert lines[1].startswith(f"imported {configs}: ")
    assert not lines[1].endswith(" 0 devices created")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[1] == (
        f"imported {configs}: 0 sites, 0 lines, 0 checkpoints, 0 devices created"
    )


def test_a_bad_setting_is_reported_not_raised(tmp_path: Path) -> None:
    env = {**os.environ, "TRACEGATE_DATABASE_URL": "mysql://x/y"}
    result = subprocess.run(
        [str(TRACEGATE), "cloud", "migrate"], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 2
    assert "$TRACEGATE_DATABASE_URL: database_url: Value error, expected a sqlite+aiosqlite://" in (
        result.stderr
    )
