"""Frames between the capture thread and the decoder: preparation, a bounded queue, a ring.

Memory stays flat however long a camera runs: the queue keeps at most `max_frames` and
drops the oldest when full (a slow decoder loses old frames, never the newest), and the
ring of recent frames kept for trigger decoding has a fixed length. Frames are cropped,
downscaled and turned to grayscale in the capture thread, so what is kept is as small as
the decoder allows (a 1280x720 gray frame is 0.9 MB; the BGR original 2.8 MB).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime

import cv2
import numpy as np

from edge.adapters.decoders import Image


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionOfInterest:
    """The part of the frame to decode, in pixels of the captured frame."""

    x_px: int
    y_px: int
    width_px: int
    height_px: int

    def __post_init__(self) -> None:
        if self.x_px < 0 or self.y_px < 0:
            raise ValueError(
                f"region of interest: expected x_px and y_px >= 0, got ({self.x_px}, {self.y_px})"
            )
        if self.width_px <= 0 or self.height_px <= 0:
            raise ValueError(
                "region of interest: expected width_px and height_px > 0, "
                f"got {self.width_px}x{self.height_px}"
            )


@dataclass(frozen=True, slots=True)
class Frame:
    """A prepared frame and when it was captured."""

    image: Image
    monotonic_s: float
    captured_at: datetime
    index: int
    """Capture order from 0 since the camera started (gaps mean frames were dropped)."""


def prepare_frame(
    image: Image, *, roi: RegionOfInterest | None = None, downscale_factor: float = 1.0
) -> Image:
    """Crop to `roi`, scale by `downscale_factor` (0 < f <= 1) and convert to grayscale.

    Always returns a new contiguous array, never a view that would keep the full-size
    original alive. A region reaching past the frame is clipped; one wholly outside it is an
    error naming both sizes.
    """
    if roi is not None:
        height, width = image.shape[:2]
        if roi.x_px >= width or roi.y_px >= height:
            raise ValueError(
                f"region of interest at ({roi.x_px}, {roi.y_px}) lies outside the "
                f"{width}x{height} frame"
            )
        image = image[roi.y_px : roi.y_px + roi.height_px, roi.x_px : roi.x_px + roi.width_px]
    if image.ndim == 3:
        channels = image.shape[2]
        code = cv2.COLOR_BGRA2GRAY if channels == 4 else cv2.COLOR_BGR2GRAY
        image = np.asarray(cv2.cvtColor(image, code), dtype=np.uint8)
    if downscale_factor != 1.0:
        height, width = image.shape[:2]
        size = (max(1, round(width * downscale_factor)), max(1, round(height * downscale_factor)))
        # INTER_AREA averages source pixels: thin bars survive a downscale better than with
        # nearest-neighbour sampling.
        image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return np.ascontiguousarray(image) if image.base is None else image.copy()


class FrameQueue:
    """A thread-safe FIFO of at most `max_frames` frames that drops the oldest when full.

    `put` never blocks unless `block_when_full` is set (used to replay a video file frame
    by frame). `close` wakes every waiter; `get` then returns the remaining frames and None.
    """

    def __init__(self, *, max_frames: int, block_when_full: bool = False) -> None:
        if max_frames < 1:
            raise ValueError(f"max_frames: expected >= 1, got {max_frames}")
        self.max_frames = max_frames
        self._block_when_full = block_when_full
        self._frames: deque[Frame] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0
        """Frames discarded unread: the queue was full, or already closed."""

    def __len__(self) -> int:
        with self._cond:
            return len(self._frames)

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self._block_when_full:
                self._cond.wait_for(lambda: self._closed or len(self._frames) < self.max_frames)
            if self._closed:
                self.dropped += 1
                return
            if len(self._frames) >= self.max_frames:
                self._frames.popleft()
                self.dropped += 1
            self._frames.append(frame)
            self._cond.notify_all()

    def get(self, *, timeout_s: float) -> Frame | None:
        """The oldest frame; None after `timeout_s` without one or once closed and empty."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not self._frames:
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    return None
                self._cond.wait(remaining)
            frame = self._frames.popleft()
            self._cond.notify_all()
            return frame

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class FrameRing:
    """The last `max_frames` frames, for decoding the moments around a trigger."""

    def __init__(self, *, max_frames: int) -> None:
        if max_frames < 1:
            raise ValueError(f"max_frames: expected >= 1, got {max_frames}")
        self.max_frames = max_frames
        self._frames: deque[Frame] = deque(maxlen=max_frames)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._newest_s = float("-inf")

    def __len__(self) -> int:
        with self._lock:
            return len(self._frames)

    def push(self, frame: Frame) -> None:
        with self._cond:
            self._frames.append(frame)
            self._newest_s = frame.monotonic_s
            self._cond.notify_all()

    def between(self, start_s: float, end_s: float) -> list[Frame]:
        """Frames captured at `start_s <= t <= end_s` (monotonic seconds), oldest first."""
        with self._lock:
            return [f for f in self._frames if start_s <= f.monotonic_s <= end_s]

    def wait_for_frame_after(self, t_s: float, *, timeout_s: float) -> bool:
        """Wait until a frame captured after `t_s` is in the ring; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._newest_s > t_s, timeout=timeout_s)
