"""`tracegate edge workorder|hold|release|status` against a checkpoint's files, the agent not
running."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracegate.cli import app

CONFIG = """\
site: {{id: plant-t, name: Test plant, timezone: UTC}}
line: {{id: line-t, name: Test line}}
mqtt: {{broker_url: "mqtt://127.0.0.1:1883", topic_prefix: "tgtest/cli"}}
checkpoints:
  - id: packing
    name: Packer
    role: inspection
    device_id: edge-t-packing
    scanners: [{{name: unit, port: "socket://127.0.0.1:1"}}]
    outbox: {{path: "{tmp}/outbox.sqlite3"}}
    state_path: "{tmp}/state.sqlite3"
"""
GTIN = "09506000134352"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "plant.yaml"
    path.write_text(CONFIG.format(tmp=tmp_path), encoding="utf-8")
    return path


def edge(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["edge", *args])
    return result.exit_code, result.output


def test_work_order_holds_and_release_land_in_the_state_file(config: Path) -> None:
    code, out = edge(
        "workorder", str(config), "-c", "packing", "--work-order", "WO-7",
        "--product", GTIN, "--quantity", "500", "--lot", "L42", "--expiry", "2028-12-31",
    )  # fmt: skip
    assert code == 0, out
    assert out.startswith("workorder ") and out.endswith(
        f" written to {config.parent}/state.sqlite3\n"
    )
    code, out = edge(
        "hold", str(config), "-c", "packing", "--hold-id", "H-1", "--reason", "supplier notice",
        "--lot", f"{GTIN}:L42", "--unit", f"{GTIN}:SN7",
    )  # fmt: skip
    assert code == 0, out
    code, out = edge("status", str(config), "-c", "packing")
    assert code == 0, out
    assert out.splitlines() == [
        "checkpoint packing (device edge-t-packing)",
        "agent: not running (no status file)",
        f"work order: WO-7 ({GTIN}, lot L42, 500 units)",
        "holds: H-1 (supplier notice)",
        f"problem: no outbox file at {config.parent}/outbox.sqlite3",
    ]
    code, out = edge(
        "release", str(config), "-c", "packing", "--hold-id", "H-1", "--signed-by", "qa.lead",
        "--reason", "supplier cleared the lot",
    )  # fmt: skip
    assert code == 0, out
    code, out = edge("status", str(config), "-c", "packing", "--json")
    report = json.loads(out)
    assert report["holds"] == [] and report["work_order"]["work_order"] == "WO-7"
    assert report["running"] is False and report["agent"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["hold", "--hold-id", "H-2", "--reason", "x"],
            "Error: hold scope: expected at least one --unit DI:SERIAL, --lot DI:LOT or --di DI,"
            " got none\n",
        ),
        (
            ["hold", "--hold-id", "H-2", "--reason", "x", "--unit", GTIN],
            f"Error: --unit: expected DI:VALUE such as 09506000134352:SN1, got '{GTIN}'\n",
        ),
        (
            [
                "workorder",
                "--work-order",
                "W",
                "--product",
                GTIN,
                "--quantity",
                "5",
                "--expiry",
                "31.12.2028",
            ],
            "Error: --expiry: expected a date YYYY-MM-DD, got '31.12.2028'\n",
        ),
        (
            ["workorder", "--work-order", "W", "--product", "gtin-1", "--quantity", "5"],
            "Error: --product: expected str matching regex '^[0-9A-Z]+\\\\Z', got 'gtin-1'\n",
        ),
        (
            ["hold", "--hold-id", "H-2", "--reason", "x", "--lot", f"{GTIN}:{'L' * 21}"],
            f"Error: --lot: expected str of length <= 20, got '{'L' * 21}'\n",
        ),
        (
            ["workorder", "--work-order", "W", "--product", GTIN, "--quantity", "0"],
            "Error: --quantity: expected int >= 1, got 0\n",
        ),
    ],
)
def test_bad_options_are_refused_naming_the_option(
    config: Path, args: list[str], message: str
) -> None:
    code, out = edge(args[0], str(config), "-c", "packing", *args[1:])
    assert code == 2
    assert out.startswith(message)
    assert not (config.parent / "state.sqlite3").exists()


def test_an_unknown_checkpoint_is_named(config: Path) -> None:
    code, out = edge("status", str(config), "-c", "sealing")
    assert (code, out) == (
        2,
        "Error: --checkpoint: no checkpoint 'sealing' in line 'line-t' (checkpoints: packing)\n",
    )


def test_an_agent_that_cannot_open_its_outbox_says_so(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "plant.yaml"
    text = CONFIG.format(tmp=tmp_path).replace(
        f'"{tmp_path}/outbox.sqlite3"', '"/proc/no-such-dir/outbox.sqlite3"'
    )
    config.write_text(text, encoding="utf-8")
    tracegate = str(Path(sys.executable).parent / "tracegate")
    result = subprocess.run(
        [tracegate, "edge", "run", str(config), "-c", "packing"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "Error: the agent of packing cannot start: Outbox /proc/no-such-dir/outbox.sqlite3"
        " unavailable: SQLite error while opening (SQLITE_CANTOPEN: unable to open database"
        " file)"
    )


def test_tracegate_edge_run_becomes_an_agent_process_without_the_cli(config: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from edge.checkpoint.status_file import read_status, status_path

    tracegate = str(Path(sys.executable).parent / "tracegate")
    agent = subprocess.Popen(
        [tracegate, "edge", "run", str(config), "-c", "packing", "--log-format", "logfmt"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status_file = status_path(config.parent / "state.sqlite3")
        deadline_s = time.monotonic() + 30
        while (status := read_status(status_file)) is None or not status.running:
            assert agent.poll() is None, agent.stderr.read() if agent.stderr else ""
            assert time.monotonic() < deadline_s, "no status file from the agent"
            time.sleep(0.05)
        # The same process, now the agent's module rather than the CLI.
        assert status.pid == agent.pid
        cmdline = Path(f"/proc/{agent.pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[1:4] == [b"-m", b"edge.checkpoint.run_agent", str(config).encode()]
        agent.send_signal(signal.SIGTERM)
        _, stderr = agent.communicate(timeout=30)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
    assert agent.returncode == 0, stderr
    assert "agent of packing stopped" in stderr
