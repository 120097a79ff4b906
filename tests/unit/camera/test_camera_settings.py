"""Camera sources and settings: parsing, validation messages, mapping from the device config."""

from __future__ import annotations

import pytest

from edge.adapters.camera import CameraSettings, RegionOfInterest
from edge.adapters.camera_capture import CameraSource
from edge.adapters.decoders import DecoderConfigError
from protocols.config import CameraConfig


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, CameraSource("device", 0)),
        ("3", CameraSource("device", 3)),
        ("/dev/video2", CameraSource("device", "/dev/video2")),
        ("rtsp://10.20.1.41/stream1", CameraSource("stream", "rtsp://10.20.1.41/stream1")),
        ("http://cam.local/mjpg", CameraSource("stream", "http://cam.local/mjpg")),
        (
            "/var/lib/tracegate/sim/line.avi",
            CameraSource("file", "/var/lib/tracegate/sim/line.avi"),
        ),
        ("recording.mkv", CameraSource("file", "recording.mkv")),
    ],
)
def test_source_kinds(value: str | int, expected: CameraSource) -> None:
    assert CameraSource.parse(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "camera source -1: expected a device index >= 0"),
        ("  ", "camera source '': expected a device index, path or URL"),
        (
            "ftp://host/x.avi",
            "camera source 'ftp://host/x.avi': unknown URL scheme 'ftp', expected one of "
            "rtsp, rtsps, rtmp, http, https, udp, tcp, srt",
        ),
    ],
)
def test_bad_sources_are_named(value: str | int, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        CameraSource.parse(value)

    assert str(caught.value) == message


def test_settings_refuse_a_downscale_above_one() -> None:
    with pytest.raises(ValueError) as caught:
        CameraSettings(name="cam", source=0, downscale_factor=1.5)

    assert str(caught.value) == "camera 'cam': downscale_factor expected 0 < f <= 1, got 1.5"


def test_settings_refuse_an_empty_queue() -> None:
    with pytest.raises(ValueError) as caught:
        CameraSettings(name="cam", source=0, queue_max_frames=0)

    assert str(caught.value) == "camera 'cam': queue_max_frames expected >= 1, got 0"


def test_settings_refuse_datamatrix_for_pyzbar() -> None:
    with pytest.raises(DecoderConfigError) as caught:
        CameraSettings(name="cam", source=0, backend="pyzbar", formats=("datamatrix",))

    assert str(caught.value).startswith("The pyzbar backend cannot read 'datamatrix'")


def test_settings_from_the_device_config() -> None:
    config = CameraConfig.model_validate(
        {
            "name": "final_cam",
            "source": "rtsp://10.20.1.41/stream1",
            "roi": {"x": 320, "y": 180, "width": 640, "height": 360},
            "downscale": 0.5,
            "formats": ["datamatrix", "gs1_128"],
            "decoder": "zxing",
            "trigger": "on_trigger",
            "fps": 15,
            "frame_queue": 6,
        }
    )

    settings = CameraSettings.from_config(config, ring_max_frames=10)

    assert settings == CameraSettings(
        name="final_cam",
        source="rtsp://10.20.1.41/stream1",
        formats=("datamatrix", "gs1_128"),
        backend="zxing",
        trigger="on_trigger",
        roi=RegionOfInterest(x_px=320, y_px=180, width_px=640, height_px=360),
        downscale_factor=0.5,
        max_fps=15.0,
        queue_max_frames=6,
        ring_max_frames=10,
    )
