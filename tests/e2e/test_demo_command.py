"""`tracegate demo` itself, on its embedded defaults (its own Mosquitto, SQLite in its working
directory), as a newcomer runs it, small and with `--exit`: it says the cloud knows every
unit, exits 0, leaves no process behind and writes nothing outside its working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_helpers import children_in

pytestmark = [pytest.mark.timeout(300)]

DEMO = [sys.executable, "-m", "tracegate.cli", "demo"]


def test_the_demo_command_runs_a_small_plant_and_cleans_up(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {**os.environ, "COLUMNS": "160"}
    env.pop("TRACEGATE_CONFIG", None)
    env.pop("TRACEGATE_DATABASE_URL", None)
    done = subprocess.run(
        [*DEMO, "--units", "20", "--exit", "--no-live", "--workdir", str(workdir)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "units produced: 19 distinct UDIs (20 units on the line)" in output
    assert "units the cloud knows: 19   equal" in output
    assert "demo OK" in output
    assert "audit trail:" in output and "intact" in output
    # Stopped cleanly: no agent, broker or service left, nothing written beside it.
    assert children_in(workdir) == []
    assert list(cwd.iterdir()) == []
    assert (workdir / "cloud" / "tracegate.sqlite3").is_file()
    assert (workdir / "broker" / "mosquitto.conf").is_file()


def test_a_rate_too_high_for_the_deadlines_is_refused(tmp_path: Path) -> None:
    work = tmp_path / "work"
    done = subprocess.run(
        [*DEMO, "--units", "20", "--exit", "--no-live", "--rate", "5", "--workdir", str(work)],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "--rate 5: units 200 ms apart, but assembly may decide up to 250 ms" in done.stdout
    assert children_in(work) == []
