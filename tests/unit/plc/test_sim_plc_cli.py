"""`tracegate sim plc` refuses a bad config with the file and key, and no traceback."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tracegate.cli import app


def test_sim_plc_bad_config_names_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "sim.yaml"
    config.write_text("port: 0\nwatchdog: 3\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["sim", "plc", str(config)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {config} watchdog: unknown key (expected one of ")
