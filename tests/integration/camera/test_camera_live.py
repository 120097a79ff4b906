"""The adapter on live frames: the simulated camera on a running line clock, triggers, the
bounded queue, and capture errors with reconnection."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from edge.adapters.camera import Camera, CameraError, CameraSettings
from edge.sim.camera import CameraLook, SimCamera
from edge.sim.units import Fault, LineClock, Symbology

from .conftest import FAST_RECONNECT, collect, make_line, make_video, wait_until

SMALL = CameraLook(width_px=640, height_px=480, module_px=3, noise_sigma=3)


async def test_decode_around_each_trigger_returns_that_units_code_once() -> None:
    line = make_line(Symbology.GS1_DATAMATRIX, units=3, rate_per_s=4.0)
    clock = LineClock()
    sim = SimCamera(line, look=SMALL, fps=30, clock=clock, name="cam")
    settings = CameraSettings(name="cam", source="sim", trigger="on_trigger")

    async with Camera(settings, grabber=sim) as camera:
        found = []
        for unit in line.units():
            trigger_s = clock.to_monotonic(unit.arrival_s)
            reads = await camera.decode_around(trigger_s, 120)
            found.append([(r.symbology_id, r.text) for r in reads])
            assert all(abs(r.monotonic_s - trigger_s) <= 0.06 for r in reads)
        stats = camera.stats()

    assert found == [[("]d2", unit.udi.text)] for unit in line.units()]
    # on_trigger decodes only the frames around triggers, not the whole stream.
    assert stats.frames_decoded < stats.frames_captured
    assert stats.queue_len == 0


async def test_a_trigger_with_nothing_in_view_gives_no_read() -> None:
    line = make_line(Symbology.GS1_QR, units=2, rate_per_s=4.0, faults={0: {Fault.NO_READ}})
    clock = LineClock()
    sim = SimCamera(line, look=SMALL, fps=30, clock=clock)
    settings = CameraSettings(name="cam", source="sim", trigger="on_trigger")

    async with Camera(settings, grabber=sim) as camera:
        damaged = await camera.decode_around(clock.to_monotonic(line.unit(0).arrival_s), 100)
        fine = await camera.decode_around(clock.to_monotonic(line.unit(1).arrival_s), 100)

    assert damaged == []
    assert [r.text for r in fine] == [line.unit(1).udi.text]


async def test_continuous_reads_report_a_duplicated_code_once_per_trigger() -> None:
    # Two units in a row carry the same UDI and the view never empties between them; only
    # the PLC's trigger tells the camera a new unit has come.
    line = make_line(
        Symbology.GS1_DATAMATRIX, units=2, rate_per_s=4.0, faults={1: {Fault.DUPLICATE_SERIAL}}
    )
    clock = LineClock()
    look = CameraLook(width_px=640, height_px=480, module_px=3, frame_width_pitches=1.6)
    sim = SimCamera(line, look=look, fps=30, clock=clock)
    # all_frames: capture waits for the decoder, so a loaded machine skips no frame.
    settings = CameraSettings(name="cam", source="sim", playback="all_frames")
    triggers = [clock.to_monotonic(unit.arrival_s) for unit in line.units()]

    async with Camera(settings, grabber=sim) as camera:
        for trigger_s in triggers:
            camera.note_trigger(trigger_s)
        reads = await collect(camera)  # the simulated line ends after its last unit

    assert line.unit(0).udi.text == line.unit(1).udi.text
    per_trigger = [
        [r.text for r in reads if start <= r.monotonic_s < end]
        for start, end in [(triggers[0], triggers[1]), (triggers[1], float("inf"))]
    ]
    assert per_trigger == [[line.unit(0).udi.text], [line.unit(1).udi.text]]
    # Before the first trigger the code was seen entering the view: at most one read.
    assert len([r for r in reads if r.monotonic_s < triggers[0]]) <= 1


async def test_queue_stays_bounded_while_nobody_decodes() -> None:
    line = make_line(Symbology.GS1_DATAMATRIX, units=None, rate_per_s=2.0)
    sim = SimCamera(line, look=CameraLook(width_px=320, height_px=240, module_px=2), fps=500)
    settings = CameraSettings(name="cam", source="sim", queue_max_frames=3, ring_max_frames=8)

    async with Camera(settings, grabber=sim) as camera:
        lengths = []
        for _ in range(50):
            await asyncio.sleep(0.01)
            lengths.append((len(camera.queue), len(camera.ring)))
    stats = camera.stats()

    assert stats.frames_captured > 20
    assert max(q for q, _ in lengths) == 3
    assert max(r for _, r in lengths) == 8
    assert stats.frames_dropped == stats.frames_captured - stats.queue_len


async def test_missing_video_file_is_link_down_until_it_appears(tmp_path: Path) -> None:
    line = make_line(Symbology.GS1_DATAMATRIX, units=2, rate_per_s=4.0)
    target = tmp_path / "late.avi"
    settings = CameraSettings(
        name="cam", source=str(target), playback="all_frames", **FAST_RECONNECT
    )

    async with Camera(settings) as camera:
        await wait_until(lambda: camera.link.status == "down")
        assert camera.link.last_error == f"Camera 'cam' ({target}): no such video file"
        await asyncio.sleep(0.3)  # several failed attempts, none fatal
        assert camera.stats().connects == 0

        written, _ = make_video(tmp_path, line, SMALL, name="writing.avi")
        written.replace(target)
        reads = await collect(camera)
        assert camera.stats().connects == 1

    assert [r.text for r in reads] == [u.udi.text for u in line.units()]


async def test_unplugged_camera_goes_down_and_comes_back() -> None:
    line = make_line(Symbology.GS1_DATAMATRIX, units=None, rate_per_s=2.0)
    sim = SimCamera(line, look=SMALL, fps=30, name="cam")
    settings = CameraSettings(name="cam", source="sim", **FAST_RECONNECT)

    async with Camera(settings, grabber=sim) as camera:
        await wait_until(lambda: camera.link.is_up)
        sim.unplug()
        await wait_until(lambda: camera.link.status == "down")
        assert camera.link.last_error == "Camera 'cam' (simulated camera): unplugged"
        frames_while_down = camera.stats().frames_captured
        await asyncio.sleep(0.3)
        assert camera.stats().frames_captured == frames_while_down

        sim.plug()
        await wait_until(lambda: camera.link.is_up)
        await wait_until(lambda: camera.stats().frames_captured > frames_while_down)
        assert camera.stats().connects == 2


async def test_decode_between_covers_an_asymmetric_read_window() -> None:
    line = make_line(Symbology.GS1_QR, units=1, rate_per_s=4.0)
    clock = LineClock()
    sim = SimCamera(line, look=SMALL, fps=30, clock=clock)
    settings = CameraSettings(name="cam", source="sim", trigger="on_trigger")
    trigger_s = clock.to_monotonic(line.unit(0).arrival_s)

    async with Camera(settings, grabber=sim) as camera:
        reads = await camera.decode_between(
            trigger_s - 0.02, trigger_s + 0.15, nearest_monotonic_s=trigger_s
        )

    assert [r.text for r in reads] == [line.unit(0).udi.text]
    assert all(trigger_s - 0.02 <= r.monotonic_s <= trigger_s + 0.15 for r in reads)


async def test_a_window_in_seconds_instead_of_milliseconds_is_refused() -> None:
    line = make_line(Symbology.GS1_QR, units=1)
    settings = CameraSettings(name="cam", source="sim", trigger="on_trigger")

    async with Camera(settings, grabber=SimCamera(line, look=SMALL)) as camera:
        with pytest.raises(ValueError) as caught:
            await camera.decode_around(time.monotonic(), 0.15)

    assert str(caught.value) == "window_ms: expected milliseconds, at least 1, got 0.15"


async def test_decoding_after_close_is_an_error() -> None:
    line = make_line(Symbology.GS1_QR, units=1)
    settings = CameraSettings(name="cam", source="sim", trigger="on_trigger")
    camera = Camera(settings, grabber=SimCamera(line, look=SMALL))
    await camera.start()
    await camera.close()

    with pytest.raises(CameraError) as caught:
        await camera.decode_around(time.monotonic(), 100)

    assert str(caught.value) == "Camera 'cam' is closed"
