"""Where a camera's frames come from: OpenCV capture, or any object with the same three calls.

A source is a device index (`0`), a V4L2 device (`/dev/video0`), a network stream
(`rtsp://...`, `http://...`) or a video file. The simulated camera (`edge.sim.camera`)
implements `FrameGrabber` too, so the adapter runs unchanged against it.

>>> CameraSource.parse("2")
CameraSource(kind='device', target=2)
>>> CameraSource.parse("rtsp://10.0.0.7/stream1").kind
'stream'
>>> CameraSource.parse("/dev/video0").kind
'device'
>>> CameraSource.parse("recordings/line-1.avi").kind
'file'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import cv2
import numpy as np

from edge.adapters.decoders import Image

SourceKind = Literal["device", "stream", "file"]

_STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")


class CameraError(Exception):
    """Base of the camera adapter's errors."""


class CameraLinkError(CameraError):
    """A camera source could not be opened or stopped delivering frames."""

    def __init__(self, camera: str, source: str, detail: str) -> None:
        super().__init__(f"Camera {camera!r} ({source}): {detail}")
        self.camera = camera
        self.source = source
        self.detail = detail


@dataclass(frozen=True, slots=True)
class CameraSource:
    """A parsed camera source."""

    kind: SourceKind
    target: int | str
    """Device index (int), or the device path, stream URL or file path."""

    @classmethod
    def parse(cls, value: str | int) -> CameraSource:
        if isinstance(value, int):
            if value < 0:
                raise ValueError(f"camera source {value}: expected a device index >= 0")
            return cls("device", value)
        text = value.strip()
        if not text:
            raise ValueError("camera source '': expected a device index, path or URL")
        if text.isdigit():
            return cls("device", int(text))
        if re.fullmatch(r"/dev/video\d+", text):
            return cls("device", text)
        scheme = text.split("://", 1)[0].lower() if "://" in text else ""
        if scheme in _STREAM_SCHEMES:
            return cls("stream", text)
        if scheme:
            raise ValueError(
                f"camera source {text!r}: unknown URL scheme {scheme!r}, "
                f"expected one of {', '.join(_STREAM_SCHEMES)}"
            )
        return cls("file", text)

    def __str__(self) -> str:
        return str(self.target)


class FrameGrabber(Protocol):
    """Blocking frame source, driven from the adapter's capture thread."""

    @property
    def frame_interval_s(self) -> float | None:
        """Seconds between frames when the adapter must pace reading (a file replayed in real
        time, a simulated camera); None when `grab` itself waits for the next frame."""
        ...

    def open(self) -> None:
        """Connect; raises CameraLinkError if the source cannot be opened."""
        ...

    def grab(self) -> Image | None:
        """The next frame; None at the end of a finite source; CameraLinkError on failure."""
        ...

    def close(self) -> None: ...


class OpenCvGrabber:
    """Frames from `cv2.VideoCapture`."""

    def __init__(
        self,
        source: CameraSource,
        *,
        camera: str,
        loop_file: bool = False,
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 5.0,
    ) -> None:
        self.source = source
        self.camera = camera
        self.loop_file = loop_file
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self._capture: cv2.VideoCapture | None = None
        self._fps = 0.0

    @property
    def frame_interval_s(self) -> float | None:
        if self.source.kind != "file":
            return None
        return 1.0 / self._fps if self._fps > 0 else 1.0 / 30

    def _error(self, detail: str) -> CameraLinkError:
        return CameraLinkError(self.camera, str(self.source), detail)

    def open(self) -> None:
        self.close()
        target = self.source.target
        if self.source.kind == "file" and not Path(str(target)).is_file():
            raise self._error("no such video file")
        # Without these an unreachable RTSP camera blocks open/read for about 30 s (FFmpeg).
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            round(self.open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            round(self.read_timeout_s * 1000),
        ]
        capture = cv2.VideoCapture(target, cv2.CAP_ANY, params)
        if not capture.isOpened():
            capture.release()
            raise self._error("OpenCV could not open the source")
        self._capture = capture
        self._fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)

    def grab(self) -> Image | None:
        if self._capture is None:
            raise self._error("grab before open")
        ok, image = self._capture.read()
        if not ok and self.source.kind == "file" and self.loop_file:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._capture.read()
        if ok and image is not None:
            return np.asarray(image, dtype=np.uint8)
        if self.source.kind == "file":
            return None
        raise self._error("reading a frame failed")

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
