"""Camera adapter against real frames: video files written with cv2.VideoWriter and the
simulated camera as a live frame source."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge.adapters.camera import Camera
from edge.reads import CodeRead
from edge.sim.camera import CameraLook, SimCamera, write_video
from edge.sim.units import Fault, Product, SimLine, Symbology

FAST_RECONNECT = {"reconnect_initial_s": 0.05, "reconnect_max_s": 0.1}


def camera_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("camera-")]


@pytest.fixture(autouse=True)
def no_camera_thread_left() -> Iterator[None]:
    yield
    assert camera_threads() == []


def make_line(
    symbology: Symbology,
    *,
    units: int | None = 4,
    rate_per_s: float = 2.0,
    seed: int = 11,
    faults: dict[int, set[Fault]] | None = None,
) -> SimLine:
    product = Product(
        issuer="hibcc" if symbology.value.startswith("hibc") else "gs1",
        gtin="09506000134352",
        hibcc_labeler="A999",
        hibcc_product="TG1234",
        symbology=symbology,
    )
    return SimLine(
        seed=seed,
        rate_per_s=rate_per_s,
        unit_count=units,
        product=product,
        faults=faults,
    )


def make_video(
    tmp_path: Path, line: SimLine, look: CameraLook, *, fps: float = 30.0, name: str = "line.avi"
) -> tuple[Path, int]:
    """The line filmed into a Motion JPEG .avi; returns its path and frame count."""
    path = tmp_path / name
    frames = write_video(SimCamera(line, look=look, fps=fps, seed=line.seed), path)
    return path, frames


async def collect(camera: Camera, *, timeout_s: float = 20.0) -> list[CodeRead]:
    async def run() -> list[CodeRead]:
        return [read async for read in camera.reads()]

    return await asyncio.wait_for(run(), timeout_s)


async def wait_until(predicate: Callable[[], bool], *, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.01)
