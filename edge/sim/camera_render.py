"""Pictures of UDI barcodes as a line camera would see them, drawn with zxing-cpp's writer.

A symbol is encoded once at one pixel per module, then scaled, rotated and placed on a
background; the whole frame then gets blur and sensor noise. Everything is deterministic
for a given seed, so a test or a benchmark gets the same frames on every run.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import zxingcpp
from biip.gs1_messages import GS1Message

from edge.sim.units import Symbology

Gray = npt.NDArray[np.uint8]

_FORMATS: dict[Symbology, zxingcpp.BarcodeFormat] = {
    Symbology.GS1_DATAMATRIX: zxingcpp.BarcodeFormat.DataMatrix,
    Symbology.GS1_128: zxingcpp.BarcodeFormat.Code128,
    Symbology.GS1_QR: zxingcpp.BarcodeFormat.QRCode,
    Symbology.HIBC_DATAMATRIX: zxingcpp.BarcodeFormat.DataMatrix,
    Symbology.HIBC_128: zxingcpp.BarcodeFormat.Code128,
}
_GS1 = frozenset({Symbology.GS1_DATAMATRIX, Symbology.GS1_128, Symbology.GS1_QR})

FORMAT_NAME: dict[Symbology, str] = {s: f.name for s, f in _FORMATS.items()}
"""The decoder's format name for each symbology (`DataMatrix`, `Code128`, `QRCode`)."""


def is_gs1(symbology: Symbology) -> bool:
    return symbology in _GS1


@functools.lru_cache(maxsize=256)
def symbol_image(symbology: Symbology, text: str) -> Gray:
    """The symbol encoding `text`, one pixel per module, quiet zones included (white 255,
    black 0). GS1 `text` is an element string with GS separators; the symbol carries FNC1.

    >>> symbol_image(Symbology.GS1_DATAMATRIX, "0109506000134352").shape
    (18, 18)
    >>> symbol_image(Symbology.HIBC_DATAMATRIX, "+A99912345/$$52001510X33").shape
    (20, 20)
    """
    fmt = _FORMATS[symbology]
    options: dict[str, bool] = {}
    if fmt == zxingcpp.BarcodeFormat.DataMatrix:
        # Square, as on most device labels; left to itself the writer picks rectangular and
        # even DMRE sizes (8x96 for a long HIBC string), which zxing-cpp reports as `]d7`.
        options["force_square"] = True
    if is_gs1(symbology):
        # zxing-cpp's writer takes GS1 data only in the "(01)..." form, and rejects GS.
        options["gs1"] = True
        text = GS1Message.parse(text).as_hri()
    barcode = zxingcpp.create_barcode(text, fmt, **options)
    image = np.asarray(barcode.to_image(scale=1, add_quiet_zones=True), dtype=np.uint8)
    image.setflags(write=False)
    return image


@dataclass(frozen=True, slots=True, kw_only=True)
class Placement:
    """One code in a scene."""

    symbology: Symbology
    text: str
    center_px: tuple[float, float]
    """Where the symbol's centre lands in the frame (x, y)."""
    module_px: float = 4.0
    """Size of one module (the narrowest bar, one DataMatrix cell) in frame pixels."""
    angle_deg: float = 0.0
    """Counter-clockwise rotation."""
    damaged: bool = False
    """Cover the middle of the symbol (a scuffed or smeared mark that cannot be read)."""

    def size_px(self) -> tuple[float, float]:
        """Width and height of the placed symbol, quiet zones included, before rotation."""
        height, width = symbol_image(self.symbology, self.text).shape
        return width * self.module_px, height * self.module_px

    def radius_px(self) -> float:
        """Half the diagonal: the symbol stays within this distance of its centre at any
        angle."""
        width, height = self.size_px()
        return math.hypot(width, height) / 2


def draw_symbol(canvas: Gray, placement: Placement) -> None:
    """Draw `placement` onto the grayscale `canvas` in place."""
    symbol = symbol_image(placement.symbology, placement.text)
    height, width = symbol.shape
    cx, cy = placement.center_px
    rotation = cv2.getRotationMatrix2D((width / 2, height / 2), placement.angle_deg, 1.0)
    matrix = np.asarray(rotation, dtype=np.float64) * placement.module_px
    matrix[0, 2] += cx - width / 2 * placement.module_px
    matrix[1, 2] += cy - height / 2 * placement.module_px
    size = (canvas.shape[1], canvas.shape[0])
    # Bilinear sampling softens module edges at fractional scales, as a lens does.
    warped = cv2.warpAffine(symbol, matrix, size, flags=cv2.INTER_LINEAR, borderValue=255)
    mask = cv2.warpAffine(
        np.full_like(symbol, 255), matrix, size, flags=cv2.INTER_NEAREST, borderValue=0
    )
    np.copyto(canvas, warped, where=mask > 0)
    if placement.damaged:
        # Half of each side smeared over: more than any error correction level recovers.
        half_w = width * placement.module_px / 4
        half_h = height * placement.module_px / 4
        top_left = (round(cx - half_w), round(cy - half_h))
        bottom_right = (round(cx + half_w), round(cy + half_h))
        cv2.rectangle(canvas, top_left, bottom_right, 40, thickness=-1)


def background(*, width_px: int, height_px: int, seed: int) -> Gray:
    """A conveyor-like background: a brightness gradient and a few dim shapes."""
    rng = random.Random(f"tracegate-camera-background:{seed}")
    x = np.linspace(0, 1, width_px, dtype=np.float32)
    y = np.linspace(0, 1, height_px, dtype=np.float32)[:, None]
    base = 95 + 40 * x + 25 * y
    image: Gray = np.clip(base, 0, 255).astype(np.uint8)
    for _ in range(6):
        x0, y0 = rng.randrange(width_px), rng.randrange(height_px)
        x1 = x0 + rng.randrange(20, max(21, width_px // 4))
        y1 = y0 + rng.randrange(20, max(21, height_px // 4))
        cv2.rectangle(image, (x0, y0), (x1, y1), rng.randrange(60, 150), thickness=-1)
    for _ in range(4):
        p0 = (rng.randrange(width_px), rng.randrange(height_px))
        p1 = (rng.randrange(width_px), rng.randrange(height_px))
        cv2.line(image, p0, p1, rng.randrange(40, 120), thickness=rng.randrange(1, 4))
    return image


def degrade(
    image: Gray, *, seed: int, noise_sigma: float = 0.0, blur_sigma_px: float = 0.0
) -> Gray:
    """Defocus blur then Gaussian sensor noise, as a new array."""
    out = image
    if blur_sigma_px > 0:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), blur_sigma_px), dtype=np.uint8)
    if noise_sigma > 0:
        rng = np.random.default_rng(seed)
        noise = rng.normal(0.0, noise_sigma, size=out.shape).astype(np.float32)
        out = np.clip(out.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return np.array(out, dtype=np.uint8, copy=True)


def render_scene(
    placements: Sequence[Placement],
    *,
    width_px: int = 1280,
    height_px: int = 720,
    seed: int = 0,
    noise_sigma: float = 0.0,
    blur_sigma_px: float = 0.0,
    base: Gray | None = None,
) -> Gray:
    """A grayscale frame with every placement drawn, then blurred and noised."""
    canvas = (
        np.array(base, copy=True)
        if base is not None
        else background(width_px=width_px, height_px=height_px, seed=seed)
    )
    for placement in placements:
        draw_symbol(canvas, placement)
    return degrade(canvas, seed=seed, noise_sigma=noise_sigma, blur_sigma_px=blur_sigma_px)


def to_bgr(image: Gray) -> npt.NDArray[np.uint8]:
    """The three-channel image a colour camera (and cv2.VideoWriter) deals in."""
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
