"""A simulated line camera looking at the units of a `SimLine`.

The camera looks at the photo-eye: a unit's label is centred in the frame at the instant the
unit reaches the photo-eye (`unit.arrival_s`) and crosses the field of view at conveyor
speed, so the simulated PLC's trigger, the scanner and the
camera agree about which unit is where. The label shows `unit.reader_text` (a misread unit
carries its corrupted code), a no-read unit shows a damaged mark, and a unit that skips the
checkpoint is not in view at all.

Use it live, as the camera adapter's `FrameGrabber` (frames follow a `LineClock`, shared
with the simulated PLC in one process so a line stop freezes the picture too), or write a
video file or still images with `write_video` / `write_images` (frame k shows line time
k / fps).
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.adapters.camera_capture import CameraLinkError
from edge.sim.camera_render import (
    Gray,
    Placement,
    background,
    degrade,
    draw_symbol,
    to_bgr,
)
from edge.sim.units import Fault, LineClock, SimLine, SimUnit

__all__ = ["CameraLook", "SimCamera", "write_images", "write_video"]

VIDEO_CODEC = "MJPG"
"""Motion JPEG in an .avi: written and read back by opencv-python-headless's bundled FFmpeg
here, and by any player."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraLook:
    """What the simulated camera sees, and how well."""

    width_px: int = 1280
    height_px: int = 720
    module_px: float = 4.0
    """Size of one module of the label's code in frame pixels."""
    angle_deg: float = 0.0
    """Label rotation (counter-clockwise)."""
    angle_jitter_deg: float = 0.0
    """Each unit's label is turned by a further random angle within +- this."""
    noise_sigma: float = 3.0
    """Sensor noise, standard deviation in grey levels."""
    blur_sigma_px: float = 0.0
    """Defocus, Gaussian sigma in pixels."""
    lane_y_fraction: float = 0.5
    """Vertical position of the labels' path across the frame, 0 (top) to 1 (bottom)."""
    frame_width_pitches: float = 0.8
    """The frame's width in unit pitches: below 1, units are spaced wider than the view and
    frames between two units show no label."""

    def __post_init__(self) -> None:
        if self.width_px < 16 or self.height_px < 16:
            raise ValueError(
                f"camera look: expected a frame of at least 16x16 px, "
                f"got {self.width_px}x{self.height_px}"
            )
        if self.module_px <= 0:
            raise ValueError(f"camera look: module_px expected > 0, got {self.module_px}")
        if self.frame_width_pitches <= 0:
            raise ValueError(
                f"camera look: frame_width_pitches expected > 0, got {self.frame_width_pitches}"
            )


class SimCamera:
    """Frames of the simulated line at any line time; a `FrameGrabber` for the adapter."""

    def __init__(
        self,
        line: SimLine,
        *,
        look: CameraLook | None = None,
        fps: float = 30.0,
        seed: int = 0,
        name: str = "sim-camera",
        clock: LineClock | None = None,
    ) -> None:
        if fps <= 0:
            raise ValueError(f"fps: expected > 0, got {fps}")
        self.line = line
        self.look = look or CameraLook()
        self.fps = fps
        self.seed = seed
        self.name = name
        self.clock = clock
        """Line time of live frames; the first `open()` starts one when None."""
        self._base = background(
            width_px=self.look.width_px, height_px=self.look.height_px, seed=seed
        )
        self._plugged = threading.Event()
        self._plugged.set()
        self._open = False
        self.frames_served = 0

    # --- the scene ------------------------------------------------------------------

    @property
    def speed_px_per_s(self) -> float:
        """Conveyor speed in the image: `frame_width_pitches` unit pitches per frame width."""
        return self.look.width_px / (self.line.pitch_s * self.look.frame_width_pitches)

    def units_in_view(self, t_s: float) -> list[SimUnit]:
        """Units on the conveyor whose label centre is within a frame width of the centre."""
        reach_s = self.line.pitch_s * self.look.frame_width_pitches
        span = math.ceil(self.look.frame_width_pitches) + 1
        nearest = round((t_s - self.line.first_arrival_s) / self.line.pitch_s)
        units: list[SimUnit] = []
        for index in range(max(0, nearest - span), max(0, nearest + span + 1)):
            try:
                unit = self.line.unit(index)
            except IndexError:
                break
            if unit.seen and abs(t_s - unit.arrival_s) < reach_s:
                units.append(unit)
        return units

    def placement(self, unit: SimUnit, t_s: float) -> Placement:
        """Where and how `unit`'s label appears at line time `t_s`."""
        look = self.look
        rng = random.Random(f"tracegate-camera-unit:{self.seed}:{unit.index}")
        angle = look.angle_deg + rng.uniform(-1, 1) * look.angle_jitter_deg
        x = look.width_px / 2 + (t_s - unit.arrival_s) * self.speed_px_per_s
        damaged = Fault.NO_READ in unit.faults or unit.reader_text is None
        return Placement(
            symbology=unit.symbology,
            text=unit.reader_text or unit.udi.text,
            center_px=(x, look.height_px * look.lane_y_fraction),
            module_px=look.module_px,
            angle_deg=angle,
            damaged=damaged,
        )

    def frame_at(self, t_s: float) -> Gray:
        """The grayscale frame at line time `t_s` (seconds since line start)."""
        canvas = np.array(self._base, copy=True)
        for unit in self.units_in_view(t_s):
            placement = self.placement(unit, t_s)
            width, height = placement.size_px()
            margin = 0.6 * max(width, height)
            x, y = placement.center_px
            # The unit's body behind the label, so a label never floats on the belt.
            cv2.rectangle(
                canvas,
                (round(x - margin), round(y - margin)),
                (round(x + margin), round(y + margin)),
                180,
                thickness=-1,
            )
            draw_symbol(canvas, placement)
        noise_seed = (self.seed * 1_000_003 + round(t_s * 1000)) & 0xFFFFFFFF
        return degrade(
            canvas,
            seed=noise_seed,
            noise_sigma=self.look.noise_sigma,
            blur_sigma_px=self.look.blur_sigma_px,
        )

    # --- FrameGrabber ---------------------------------------------------------------

    @property
    def frame_interval_s(self) -> float | None:
        return 1.0 / self.fps

    def open(self) -> None:
        if not self._plugged.is_set():
            raise CameraLinkError(self.name, "simulated camera", "unplugged")
        if self.clock is None:
            self.clock = LineClock()
        self._open = True

    def grab(self) -> Gray | None:
        if not self._open or not self._plugged.is_set():
            raise CameraLinkError(self.name, "simulated camera", "unplugged")
        if self.clock is None:
            raise CameraLinkError(self.name, "simulated camera", "grab before open")
        t_s = self.clock.now_s()
        unit_count = self.line.unit_count
        if unit_count is not None and unit_count > 0:
            last = self.line.unit(unit_count - 1)
            if t_s > last.arrival_s + self.line.pitch_s:
                return None
        self.frames_served += 1
        return to_bgr(self.frame_at(t_s))

    def close(self) -> None:
        self._open = False

    def unplug(self) -> None:
        """Simulate a pulled cable: grabs and opens fail until `plug()`."""
        self._plugged.clear()

    def plug(self) -> None:
        self._plugged.set()


def _line_end_s(camera: SimCamera) -> float:
    count = camera.line.unit_count
    if count is None:
        raise ValueError("the line has no unit_count: give duration_s")
    return camera.line.unit(count - 1).arrival_s + camera.line.pitch_s / 2


def write_video(
    camera: SimCamera,
    path: Path,
    *,
    duration_s: float | None = None,
    start_s: float = 0.0,
    codec: str = VIDEO_CODEC,
) -> int:
    """Write the frames from line time `start_s` for `duration_s` (default: until the last
    unit has passed) at the camera's fps; returns the number of frames written."""
    end_s = start_s + duration_s if duration_s is not None else _line_end_s(camera)
    look = camera.look
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter.fourcc(*codec), camera.fps, (look.width_px, look.height_px)
    )
    if not writer.isOpened():
        raise OSError(f"cv2.VideoWriter cannot write {str(path)!r} with codec {codec!r}")
    count = 0
    try:
        while (t_s := start_s + count / camera.fps) < end_s:
            writer.write(to_bgr(camera.frame_at(t_s)))
            count += 1
    finally:
        writer.release()
    return count


def write_images(camera: SimCamera, directory: Path, *, times_s: Iterable[float]) -> list[Path]:
    """Write one PNG per line time in `times_s` (named by time in ms); returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for t_s in times_s:
        path = directory / f"frame-{round(t_s * 1000):08d}ms.png"
        if not cv2.imwrite(str(path), camera.frame_at(t_s)):
            raise OSError(f"cv2.imwrite could not write {str(path)!r}")
        paths.append(path)
    return paths


def unit_times_s(line: SimLine) -> list[float]:
    """The instants each seen unit of a finite line is centred in the camera (its photo-eye
    arrival)."""
    if line.unit_count is None:
        raise ValueError("the line has no unit_count: its units never end")
    return [unit.arrival_s for unit in line.seen_units()]
