"""Camera adapter: frames from OpenCV (or a simulated camera) decoded into `CodeRead`s.

Capture runs in its own thread and never waits for the decoder: prepared frames go into a
bounded queue that drops the oldest, and into a fixed ring of recent frames. Decoding runs
in the adapter's single worker thread, never on the event loop.

Two trigger modes:

- `continuous`: `reads()` decodes queued frames and yields each code once while it stays
  in view (`ConsecutiveDedupe`), and once more after each `note_trigger()`, so a code is
  reported once per trigger even when two units in a row carry it.
- `on_trigger`: nothing is decoded until the checkpoint asks;
  `await camera.decode_around(trigger_monotonic_s, window_ms)` decodes the ring's frames
  within `window_ms` centred on the trigger and returns each code once.

A capture error marks the link down and reconnects with capped exponential backoff and
jitter; the first frame after a reconnect marks it up.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self

from edge.adapters.backoff import ReconnectBackoff
from edge.adapters.camera_capture import (
    CameraError,
    CameraLinkError,
    CameraSource,
    FrameGrabber,
    OpenCvGrabber,
)
from edge.adapters.camera_dedupe import ConsecutiveDedupe
from edge.adapters.camera_frames import (
    Frame,
    FrameQueue,
    FrameRing,
    RegionOfInterest,
    prepare_frame,
)
from edge.adapters.decoders import (
    DEFAULT_FORMATS,
    Backend,
    Decoded,
    Decoder,
    Image,
    check_formats,
    create_decoder,
)
from edge.links import LinkState
from edge.reads import CodeRead

if TYPE_CHECKING:
    from protocols.config import CameraConfig

TriggerMode = Literal["continuous", "on_trigger"]
Playback = Literal["realtime", "all_frames"]

__all__ = [
    "Camera",
    "CameraError",
    "CameraLinkError",
    "CameraSettings",
    "CameraStats",
    "Playback",
    "RegionOfInterest",
    "TriggerMode",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraSettings:
    """One camera of a checkpoint, as the device config describes it."""

    name: str
    source: str | int
    """Device index, `/dev/videoN`, stream URL (`rtsp://...`) or video file path."""
    formats: tuple[str, ...] = DEFAULT_FORMATS
    """Device-config format names (`datamatrix`, `gs1_128`, `qr`, ...)."""
    backend: Backend = "zxing"
    trigger: TriggerMode = "continuous"
    roi: RegionOfInterest | None = None
    downscale_factor: float = 1.0
    """Scale applied after the crop, 0 < f <= 1 (0.5 halves width and height)."""
    max_fps: float | None = None
    """Most frames per second taken from the source (others are read and discarded); None
    takes every frame. Ignored when a file is replayed with `all_frames`."""
    queue_max_frames: int = 4
    """Frames waiting for the decoder; the oldest is dropped when full."""
    ring_max_frames: int = 16
    """Recent frames kept for `decode_around` (about half a second at 30 fps)."""
    trigger_max_frames: int = 8
    """Most frames decoded per trigger, those nearest the trigger first."""
    forget_after_frames: int = 5
    """Continuous mode: decoded frames in a row without a code before it may be reported
    again (a few, so one blurred frame does not repeat a read)."""
    playback: Playback = "realtime"
    """Video files and simulated sources: `realtime` paces them like a camera (old frames
    dropped if decoding lags); `all_frames` hands every frame to the decoder, capture waiting
    for it (tests, offline analysis). Live cameras always run `realtime`."""
    loop_file: bool = False
    reconnect_initial_s: float = 0.5
    reconnect_max_s: float = 10.0
    open_timeout_s: float = 5.0
    read_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        CameraSource.parse(self.source)
        check_formats(self.formats, backend=self.backend)
        if not 0 < self.downscale_factor <= 1:
            raise ValueError(
                f"camera {self.name!r}: downscale_factor expected 0 < f <= 1, "
                f"got {self.downscale_factor}"
            )
        if self.max_fps is not None and self.max_fps <= 0:
            raise ValueError(f"camera {self.name!r}: max_fps expected > 0, got {self.max_fps}")
        for name in ("queue_max_frames", "ring_max_frames", "trigger_max_frames"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"camera {self.name!r}: {name} expected >= 1, got {getattr(self, name)}"
                )
        if not 0 < self.reconnect_initial_s <= self.reconnect_max_s:
            raise ValueError(
                f"camera {self.name!r}: expected 0 < reconnect_initial_s <= reconnect_max_s, "
                f"got {self.reconnect_initial_s} and {self.reconnect_max_s}"
            )

    @classmethod
    def from_config(cls, config: CameraConfig, **overrides: Any) -> CameraSettings:
        """Settings for a checkpoint's `camera:` section; `overrides` set the adapter's own
        knobs (ring_max_frames, playback, ...)."""
        roi = config.roi
        settings = cls(
            name=config.name,
            source=config.source,
            formats=tuple(config.formats),
            backend=config.decoder,
            trigger=config.trigger,
            roi=(
                RegionOfInterest(x_px=roi.x, y_px=roi.y, width_px=roi.width, height_px=roi.height)
                if roi is not None
                else None
            ),
            downscale_factor=config.downscale,
            max_fps=config.fps,
            queue_max_frames=config.frame_queue,
        )
        return dataclasses.replace(settings, **overrides) if overrides else settings


@dataclass(slots=True)
class CameraStats:
    """Counters for heartbeats and benchmarks."""

    frames_captured: int = 0
    frames_dropped: int = 0
    frames_decoded: int = 0
    reads: int = 0
    connects: int = 0
    queue_len: int = 0
    ring_len: int = 0
    ended: bool = False
    """A finite source (video file) reached its end."""


@dataclass(slots=True)
class _Capture:
    """State shared with the capture thread."""

    stop: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)
    frames: int = 0
    connects: int = 0


class Camera:
    """A camera of a checkpoint. Use as `async with Camera(settings) as camera:`."""

    def __init__(
        self,
        settings: CameraSettings,
        *,
        grabber: FrameGrabber | None = None,
        decoder: Decoder | None = None,
    ) -> None:
        self.settings = settings
        self.link = LinkState(name=settings.name, kind="camera")
        self._grabber: FrameGrabber = grabber or OpenCvGrabber(
            CameraSource.parse(settings.source),
            camera=settings.name,
            loop_file=settings.loop_file,
            open_timeout_s=settings.open_timeout_s,
            read_timeout_s=settings.read_timeout_s,
        )
        self._decoder = decoder or create_decoder(settings.backend, formats=settings.formats)
        is_file = CameraSource.parse(settings.source).kind == "file" and grabber is None
        self._paced = not (settings.playback == "all_frames" and (is_file or grabber is not None))
        self.queue = FrameQueue(
            max_frames=settings.queue_max_frames, block_when_full=not self._paced
        )
        self.ring = FrameRing(max_frames=settings.ring_max_frames)
        self._capture = _Capture()
        self._thread: threading.Thread | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="camera-decode")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._decoded_frames = 0
        self._reads = 0
        self._closed = False
        self._triggers: deque[float] = deque(maxlen=64)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Start capturing in a background thread (idempotent)."""
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(
            target=self._capture_loop, name=f"camera-{self.settings.name}", daemon=True
        )
        self._thread.start()

    async def close(self) -> None:
        """Stop capturing, wait for the thread and release the source."""
        self._closed = True
        self._capture.stop.set()
        self.queue.close()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, self.settings.read_timeout_s + 1)
        # Waiting is short: a queued get() returns once the queue is closed, a decode in
        # flight finishes within tens of milliseconds.
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)

    def stats(self) -> CameraStats:
        return CameraStats(
            frames_captured=self._capture.frames,
            frames_dropped=self.queue.dropped,
            frames_decoded=self._decoded_frames,
            reads=self._reads,
            connects=self._capture.connects,
            queue_len=len(self.queue),
            ring_len=len(self.ring),
            ended=self._capture.ended.is_set(),
        )

    # --- decoding -------------------------------------------------------------------

    async def reads(self) -> AsyncIterator[CodeRead]:
        """Continuous mode: each code once while it stays in view. Ends when a finite source
        has ended and its queued frames are decoded, or after `close()`."""
        if self.settings.trigger != "continuous":
            raise CameraError(
                f"Camera {self.settings.name!r}: reads() needs trigger 'continuous', "
                f"the camera is configured for {self.settings.trigger!r}; use decode_around()"
            )
        loop = asyncio.get_running_loop()
        dedupe: ConsecutiveDedupe[tuple[str, str]] = ConsecutiveDedupe(
            forget_after_frames=self.settings.forget_after_frames
        )
        while not self._closed:
            if self.queue.closed and len(self.queue) == 0:
                return
            got = await loop.run_in_executor(self._executor, self._next_decoded)
            if got is None:
                continue
            frame, decoded = got
            while self._triggers and self._triggers[0] <= frame.monotonic_s:
                self._triggers.popleft()
                dedupe.reset()
            by_key = {(d.code_format, d.text): d for d in decoded}
            for key in dedupe.first_seen(by_key):
                yield self._read(by_key[key], frame)

    def note_trigger(self, trigger_monotonic_s: float) -> None:
        """Continuous mode: a unit reached the checkpoint at `trigger_monotonic_s`; codes in
        frames captured from then on are reported again even if they never left the view."""
        self._triggers.append(trigger_monotonic_s)

    def _next_decoded(self) -> tuple[Frame, list[Decoded]] | None:
        frame = self.queue.get(timeout_s=0.2)
        if frame is None:
            return None
        return frame, self._decode(frame)

    def _decode(self, frame: Frame) -> list[Decoded]:
        self._decoded_frames += 1
        return self._decoder.decode(frame.image)

    async def decode_around(self, trigger_monotonic_s: float, window_ms: float) -> list[CodeRead]:
        """Decode the frames captured within `window_ms` centred on the trigger and return
        each code once (from the frame nearest the trigger). Waits until the window has
        passed; returns [] when no frame was captured in it (link down: the unit is held)."""
        # Below a millisecond no camera has two frames: a window that short is a window in
        # seconds passed as milliseconds, and would silently hold every unit as unread.
        if not window_ms >= 1:
            raise ValueError(f"window_ms: expected milliseconds, at least 1, got {window_ms}")
        half_s = window_ms / 2000
        return await self.decode_between(
            trigger_monotonic_s - half_s,
            trigger_monotonic_s + half_s,
            nearest_monotonic_s=trigger_monotonic_s,
        )

    async def decode_between(
        self, start_monotonic_s: float, end_monotonic_s: float, *, nearest_monotonic_s: float
    ) -> list[CodeRead]:
        """Decode the frames captured from `start_monotonic_s` to `end_monotonic_s` (at most
        `trigger_max_frames`, those nearest `nearest_monotonic_s` first) and return each code
        once. Waits until the end has passed."""
        if not start_monotonic_s <= nearest_monotonic_s <= end_monotonic_s:
            raise ValueError(
                f"decode_between: expected start <= nearest <= end, got {start_monotonic_s}, "
                f"{nearest_monotonic_s}, {end_monotonic_s}"
            )
        if self._closed:
            raise CameraError(f"Camera {self.settings.name!r} is closed")
        wait_s = end_monotonic_s - time.monotonic()
        if wait_s > 0:
            await asyncio.sleep(wait_s)
        if not self._capture.ended.is_set():
            # One frame interval of grace for the frame that closes the window.
            await asyncio.to_thread(self.ring.wait_for_frame_after, end_monotonic_s, timeout_s=0.1)
        frames = self.ring.between(start_monotonic_s, end_monotonic_s)
        frames.sort(key=lambda f: abs(f.monotonic_s - nearest_monotonic_s))
        frames = frames[: self.settings.trigger_max_frames]
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(self._executor, self._decode_each, frames)
        seen: dict[tuple[str, str], CodeRead] = {}
        for frame, decoded in found:
            for d in decoded:
                seen.setdefault((d.code_format, d.text), self._read(d, frame))
        return list(seen.values())

    def _decode_each(self, frames: Sequence[Frame]) -> list[tuple[Frame, list[Decoded]]]:
        return [(frame, self._decode(frame)) for frame in frames]

    def _read(self, decoded: Decoded, frame: Frame) -> CodeRead:
        self._reads += 1
        # The read is timed at the frame's capture: that is when the code was in view, which
        # is what a read window compares with the trigger.
        return CodeRead(
            text=decoded.text,
            symbology_id=decoded.symbology_id,
            source_kind="camera",
            source_name=self.settings.name,
            read_at=frame.captured_at,
            monotonic_s=frame.monotonic_s,
            code_format=decoded.code_format,
            gs1=decoded.gs1,
        )

    # --- capture thread -----------------------------------------------------------------

    def _set_link(self, error: str | None) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        update = self.link.mark_up if error is None else lambda: self.link.mark_down(error)
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(update)

    def _capture_loop(self) -> None:
        cap = self._capture
        backoff = ReconnectBackoff(
            min_s=self.settings.reconnect_initial_s, max_s=self.settings.reconnect_max_s
        )
        try:
            while not cap.stop.is_set():
                frames_before = cap.frames
                try:
                    self._grabber.open()
                    cap.connects += 1
                    self._pump_frames()
                    return
                except CameraLinkError as exc:
                    self._set_link(str(exc))
                except Exception as exc:  # cv2.error, a region outside the frame, ...
                    self._set_link(f"Camera {self.settings.name!r}: {type(exc).__name__}: {exc}")
                finally:
                    self._grabber.close()
                if cap.frames > frames_before:
                    backoff.reset()
                cap.stop.wait(backoff.next_delay_s())
        finally:
            self.queue.close()

    def _pump_frames(self) -> None:
        """Read frames until stopped or the source ends; raises when the source fails."""
        cap, settings = self._capture, self.settings
        interval_s = self._grabber.frame_interval_s if self._paced else None
        min_gap_s = 1 / settings.max_fps if settings.max_fps and self._paced else 0.0
        next_due_s = time.monotonic()
        last_kept_s = float("-inf")
        first = True
        while not cap.stop.is_set():
            image = self._grabber.grab()
            if image is None:
                cap.ended.set()
                self._set_link(f"Camera {settings.name!r} ({settings.source}): end of video")
                return
            now_s, now = time.monotonic(), datetime.now(UTC)
            if first:
                self._set_link(None)
                first = False
            # 10 % slack so a source at exactly max_fps is not halved by timing jitter.
            if now_s - last_kept_s >= min_gap_s * 0.9:
                last_kept_s = now_s
                self._keep(image, now_s, now)
            if interval_s is not None:
                # Keep the source's cadence, without a burst to catch up after a stall.
                next_due_s = max(next_due_s + interval_s, time.monotonic())
                cap.stop.wait(next_due_s - time.monotonic())

    def _keep(self, image: Image, monotonic_s: float, captured_at: datetime) -> None:
        settings, cap = self.settings, self._capture
        prepared = prepare_frame(
            image, roi=settings.roi, downscale_factor=settings.downscale_factor
        )
        frame = Frame(prepared, monotonic_s, captured_at, cap.frames)
        cap.frames += 1
        self.ring.push(frame)
        if settings.trigger == "continuous":
            self.queue.put(frame)
