"""Video files of the simulated line, read back through the adapter with OpenCV capture."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest

from edge.adapters.camera import Camera, CameraSettings
from edge.sim.camera import CameraLook
from edge.sim.units import Fault, Symbology

from .conftest import collect, make_line, make_video

LOOKS = {
    "gs1-datamatrix-small-straight-clean": (
        Symbology.GS1_DATAMATRIX,
        CameraLook(width_px=640, height_px=480, module_px=2.5, noise_sigma=1),
        ("DataMatrix", "]d2", True),
    ),
    "gs1-datamatrix-turned-noisy-blurred": (
        Symbology.GS1_DATAMATRIX,
        CameraLook(
            width_px=640,
            height_px=480,
            module_px=4,
            angle_deg=35,
            angle_jitter_deg=30,
            noise_sigma=10,
            blur_sigma_px=0.8,
        ),
        ("DataMatrix", "]d2", True),
    ),
    "gs1-qr-upside-down-noisy": (
        Symbology.GS1_QR,
        CameraLook(width_px=640, height_px=480, module_px=5, angle_deg=180, noise_sigma=8),
        ("QRCode", "]Q3", True),
    ),
    "gs1-128-slightly-tilted-720p": (
        Symbology.GS1_128,
        CameraLook(module_px=2, angle_jitter_deg=3, noise_sigma=4, blur_sigma_px=0.5),
        ("Code128", "]C1", True),
    ),
    "hibc-datamatrix-large-sideways": (
        Symbology.HIBC_DATAMATRIX,
        CameraLook(width_px=640, height_px=480, module_px=7, angle_deg=90, noise_sigma=5),
        ("DataMatrix", "]d1", False),
    ),
}


@pytest.mark.parametrize("name", list(LOOKS))
async def test_every_unit_read_once_at_each_size_angle_and_noise(tmp_path: Path, name: str) -> None:
    symbology, look, (code_format, symbology_id, gs1) = LOOKS[name]
    line = make_line(symbology)
    video, _ = make_video(tmp_path, line, look)
    settings = CameraSettings(name="cam", source=str(video), playback="all_frames")

    async with Camera(settings) as camera:
        reads = await collect(camera)

    assert [(r.code_format, r.symbology_id, r.gs1, r.text) for r in reads] == [
        (code_format, symbology_id, gs1, unit.udi.text) for unit in line.units()
    ]
    assert {(r.source_kind, r.source_name) for r in reads} == {("camera", "cam")}
    assert all(r.read_at.tzinfo is UTC for r in reads)
    assert [r.monotonic_s for r in reads] == sorted(r.monotonic_s for r in reads)


async def test_faulty_units_read_as_the_line_planned(tmp_path: Path) -> None:
    faults = {
        1: {Fault.NO_READ},
        2: {Fault.MISREAD},
        3: {Fault.SKIPS_CHECKPOINT},
        5: {Fault.DUPLICATE_SERIAL},
    }
    line = make_line(Symbology.GS1_DATAMATRIX, units=7, faults=faults, rate_per_s=1.0)
    # Half a pitch per frame width: frames between units show no label, so the camera sees
    # unit 5 arrive after unit 4 has gone even without triggers.
    look = CameraLook(
        width_px=640, height_px=480, module_px=3, noise_sigma=3, frame_width_pitches=0.5
    )
    video, _ = make_video(tmp_path, line, look, fps=15)
    settings = CameraSettings(name="cam", source=str(video), playback="all_frames")

    async with Camera(settings) as camera:
        reads = await collect(camera)

    units = [line.unit(i) for i in range(7)]
    assert units[2].reader_text != units[2].udi.text
    assert units[5].udi.text == units[4].udi.text
    # The duplicated serial shows twice: the gap between units ends the first sighting.
    assert [r.text for r in reads] == [
        units[0].udi.text,
        units[2].reader_text,
        units[4].udi.text,
        units[5].udi.text,
        units[6].udi.text,
    ]


async def test_downscaled_720p_video_still_reads_every_unit(tmp_path: Path) -> None:
    line = make_line(Symbology.GS1_DATAMATRIX, units=3)
    video, _ = make_video(tmp_path, line, CameraLook(module_px=6, noise_sigma=4))
    settings = CameraSettings(
        name="cam", source=str(video), playback="all_frames", downscale_factor=0.5
    )

    async with Camera(settings) as camera:
        reads = await collect(camera)
        stats = camera.stats()

    assert [r.text for r in reads] == [u.udi.text for u in line.units()]
    assert stats.ended
    assert stats.frames_dropped == 0
    assert stats.frames_decoded == stats.frames_captured


async def test_format_filter_ignores_codes_of_other_formats(tmp_path: Path) -> None:
    line = make_line(Symbology.GS1_QR, units=2)
    video, _ = make_video(tmp_path, line, CameraLook(width_px=640, height_px=480, module_px=4))
    settings = CameraSettings(
        name="cam", source=str(video), playback="all_frames", formats=("datamatrix",)
    )

    async with Camera(settings) as camera:
        reads = await collect(camera)
        stats = camera.stats()

    assert reads == []
    assert stats.frames_decoded == stats.frames_captured > 0


async def test_realtime_playback_reads_every_unit(tmp_path: Path) -> None:
    line = make_line(Symbology.GS1_DATAMATRIX, units=3, rate_per_s=4.0)
    look = CameraLook(width_px=640, height_px=480, module_px=3, noise_sigma=2)
    video, frames = make_video(tmp_path, line, look, fps=60)
    settings = CameraSettings(name="cam", source=str(video), queue_max_frames=2)

    async with Camera(settings) as camera:
        reads = await collect(camera)
        stats = camera.stats()

    assert [r.text for r in reads] == [u.udi.text for u in line.units()]
    assert stats.frames_captured == frames
    assert stats.frames_decoded + stats.frames_dropped == frames
