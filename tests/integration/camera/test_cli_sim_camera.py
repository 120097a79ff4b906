"""`tracegate sim camera` writes what the adapter and `tracegate decode` then read."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from edge.adapters.camera import Camera, CameraSettings
from edge.sim.plc_config import load_sim_plc_config
from tracegate.cli import app

from .conftest import collect

SIM_CONFIG = """\
line:
  seed: 5
  rate_per_s: 4.0
  unit_count: 3
  faults: {1: [no_read]}
"""


async def test_video_of_the_sim_plc_line_reads_back_through_the_adapter(tmp_path: Path) -> None:
    config = tmp_path / "sim.yaml"
    config.write_text(SIM_CONFIG, encoding="utf-8")
    video = tmp_path / "line.avi"

    options = ["--config", str(config), "--size", "640x480", "--module-px", "3", "--fps", "15"]
    result = CliRunner().invoke(app, ["sim", "camera", str(video), *options])

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("wrote ") and result.stdout.endswith(f"to {video}\n")
    line = load_sim_plc_config(config).line
    settings = CameraSettings(name="cam", source=str(video), playback="all_frames")
    async with Camera(settings) as camera:
        reads = await collect(camera)
    assert [r.text for r in reads] == [line.unit(0).udi.text, line.unit(2).udi.text]


def test_images_per_unit_decode_to_the_units_udis(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "frames"

    options = ["--images", "--units", "2", "--symbology", "hibc_128", "--module-px", "2"]
    written = runner.invoke(app, ["sim", "camera", str(out), *options, "--seed", "3"])
    images = sorted(out.glob("*.png"))
    decoded = runner.invoke(app, ["decode", "--json", *map(str, images)])

    assert written.exit_code == 0, written.output
    assert written.stdout == f"wrote 2 images to {out}\n"
    assert [p.name for p in images] == ["frame-00000500ms.png", "frame-00001000ms.png"]
    lists = [json.loads(line) for line in decoded.stdout.splitlines()]
    codes = [(c["format"], c["symbology_id"], c["udi"]["issuer"]) for (c,) in lists]
    assert codes == [("Code128", "]C0", "HIBCC")] * 2
    serials = [c["udi"]["serial"] for (c,) in lists]
    assert serials[0] != serials[1]
    assert all(c["udi"]["valid"] for (c,) in lists)


def test_bad_size_is_refused() -> None:
    result = CliRunner().invoke(app, ["sim", "camera", "x.avi", "--size", "1280*720"])

    assert result.exit_code == 2
    assert "expected WIDTHxHEIGHT such as 1280x720, got '1280*720'" in result.output
