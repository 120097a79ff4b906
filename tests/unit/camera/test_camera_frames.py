"""Frame preparation (region of interest, downscale, grayscale), the bounded queue, the ring."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import numpy as np
import pytest

from edge.adapters.camera_frames import (
    Frame,
    FrameQueue,
    FrameRing,
    RegionOfInterest,
    prepare_frame,
)
from edge.adapters.decoders import ZxingDecoder
from edge.sim.camera_render import Placement, render_scene, to_bgr
from edge.sim.units import GS, Symbology

GS1_TEXT = f"0109506000134352112506021728060110LABC123{GS}21AB0000001"
OTHER_TEXT = f"0109506000134352112506021728060110LABC123{GS}21AB0000002"


def frame(index: int, *, at_s: float | None = None) -> Frame:
    image = np.zeros((4, 4), dtype=np.uint8)
    return Frame(image, float(index) if at_s is None else at_s, datetime.now(UTC), index)


def two_codes_bgr() -> np.ndarray:
    gray = render_scene(
        [
            Placement(symbology=Symbology.GS1_DATAMATRIX, text=GS1_TEXT, center_px=(300, 360)),
            Placement(symbology=Symbology.GS1_DATAMATRIX, text=OTHER_TEXT, center_px=(980, 360)),
        ],
        seed=3,
        noise_sigma=2,
    )
    return to_bgr(gray)


def test_prepare_converts_bgr_to_gray_in_a_new_array() -> None:
    image = two_codes_bgr()

    prepared = prepare_frame(image)

    assert prepared.shape == (720, 1280)
    assert prepared.dtype == np.uint8
    assert prepared.base is None or prepared.base is not image


def test_region_of_interest_decodes_only_the_code_inside_it() -> None:
    roi = RegionOfInterest(x_px=640, y_px=180, width_px=640, height_px=360)

    prepared = prepare_frame(two_codes_bgr(), roi=roi)

    assert prepared.shape == (360, 640)
    assert [d.text for d in ZxingDecoder().decode(prepared)] == [OTHER_TEXT]


def test_crop_of_a_gray_frame_does_not_keep_the_full_frame_alive() -> None:
    gray = np.zeros((720, 1280), dtype=np.uint8)

    prepared = prepare_frame(gray, roi=RegionOfInterest(x_px=0, y_px=0, width_px=8, height_px=8))

    assert prepared.base is None
    assert prepared.nbytes == 64


def test_region_reaching_past_the_frame_is_clipped() -> None:
    roi = RegionOfInterest(x_px=1200, y_px=700, width_px=400, height_px=400)

    assert prepare_frame(two_codes_bgr(), roi=roi).shape == (20, 80)


def test_region_outside_the_frame_is_an_error_naming_both() -> None:
    roi = RegionOfInterest(x_px=1280, y_px=0, width_px=10, height_px=10)

    with pytest.raises(ValueError) as caught:
        prepare_frame(two_codes_bgr(), roi=roi)

    assert str(caught.value) == "region of interest at (1280, 0) lies outside the 1280x720 frame"


def test_region_of_interest_needs_a_positive_size() -> None:
    with pytest.raises(ValueError) as caught:
        RegionOfInterest(x_px=0, y_px=0, width_px=0, height_px=10)

    assert str(caught.value) == (
        "region of interest: expected width_px and height_px > 0, got 0x10"
    )


def test_downscale_halves_the_frame_and_a_large_code_still_reads() -> None:
    prepared = prepare_frame(two_codes_bgr(), downscale_factor=0.5)

    assert prepared.shape == (360, 640)
    assert sorted(d.text for d in ZxingDecoder().decode(prepared)) == [GS1_TEXT, OTHER_TEXT]


def test_queue_drops_the_oldest_and_never_exceeds_its_bound() -> None:
    queue = FrameQueue(max_frames=3)

    lengths = []
    for i in range(100):
        queue.put(frame(i))
        lengths.append(len(queue))

    assert max(lengths) == 3
    assert queue.dropped == 97
    assert [queue.get(timeout_s=0).index for _ in range(3)] == [97, 98, 99]  # type: ignore[union-attr]
    assert queue.get(timeout_s=0.01) is None


def test_queue_get_returns_none_at_once_when_closed() -> None:
    queue = FrameQueue(max_frames=2)
    queue.put(frame(0))
    queue.close()

    assert queue.get(timeout_s=5).index == 0  # type: ignore[union-attr]
    started = time.monotonic()
    assert queue.get(timeout_s=5) is None
    assert time.monotonic() - started < 1


def test_blocking_queue_waits_for_room_instead_of_dropping() -> None:
    queue = FrameQueue(max_frames=1, block_when_full=True)
    queue.put(frame(0))
    done = threading.Event()

    def put_second() -> None:
        queue.put(frame(1))
        done.set()

    thread = threading.Thread(target=put_second)
    thread.start()
    assert not done.wait(0.1)
    assert queue.get(timeout_s=1).index == 0  # type: ignore[union-attr]
    assert done.wait(1)
    thread.join()
    assert queue.get(timeout_s=1).index == 1  # type: ignore[union-attr]
    assert queue.dropped == 0


def test_queue_bound_must_be_positive() -> None:
    with pytest.raises(ValueError) as caught:
        FrameQueue(max_frames=0)

    assert str(caught.value) == "max_frames: expected >= 1, got 0"


def test_ring_keeps_the_last_frames_and_selects_by_time() -> None:
    ring = FrameRing(max_frames=5)
    for i in range(20):
        ring.push(frame(i, at_s=i * 0.1))

    assert len(ring) == 5
    assert [f.index for f in ring.between(1.6, 1.8)] == [16, 17, 18]
    assert ring.between(0.0, 1.0) == []


def test_ring_wait_for_a_later_frame() -> None:
    ring = FrameRing(max_frames=2)
    ring.push(frame(0, at_s=1.0))

    assert ring.wait_for_frame_after(0.5, timeout_s=0)
    assert not ring.wait_for_frame_after(1.0, timeout_s=0.01)
