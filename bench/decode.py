"""Camera decoding: read rate and time per frame, zxing-cpp against pyzbar and pylibdmtx.

A corpus of frames is generated for each size (1280x720 and 640x480) with the simulated
camera's renderer: most frames hold a DataMatrix (GS1, or HIBC on every fourth frame), a
GS1-128 and a GS1 QR code at random positions, module sizes (2D codes at any angle, 1D codes
within +-4 degrees or upside down), sensor noise and defocus; one frame in ten is empty, for
false positives. On 640x480 the GS1-128 carries (01)(17)(10) only, as a split label would: a
full UDI needs about 450 modules, more than such a frame has pixels for at a readable size.

Every backend decodes the same grayscale frames in the same run:
- zxing-cpp (`edge.adapters.decoders.ZxingDecoder`, the camera's decoder),
- pyzbar (`ZbarDecoder`; zbar reads no DataMatrix, so its total counts them as missed),
- pylibdmtx (DataMatrix only, `max_count=1` since a frame holds one, and a per-frame
  timeout); it needs the Debian package libdmtx0b and `pip install pylibdmtx`, and is
  reported as skipped when they are missing.

A read counts as correct only when its text equals the encoded text exactly, GS separators
included; "GS lost" counts reads equal to the text with its GS removed, "wrong" any other
read of a non-empty frame (one example is printed), "false+" any read of an empty frame.
Per-symbology columns are the share of those codes read correctly. Module sizes: 2D codes
2-5 px per module on 1280x720, 2-3.5 on 640x480; GS1-128 1.6-2.6 and 1.3-2.1 px; noise
sigma 0-14 grey levels; a third of the frames defocused (sigma 0.3-1.2 px).

Run: `.venv/bin/python bench/decode.py [--frames 300] [--seed 1] [--dmtx-timeout-ms 1000]
[--backends zxing,pyzbar,pylibdmtx]`.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

from edge.adapters.decoders import ZbarDecoder, ZxingDecoder
from edge.sim.camera_render import Gray, Placement, background, render_scene
from edge.sim.units import GS, Product, Symbology, make_udi

SIZES = ((1280, 720), (640, 480))
KINDS = ("DataMatrix", "GS1-128", "QR")


@dataclass(frozen=True, slots=True)
class Code:
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Sample:
    image: Gray
    codes: tuple[Code, ...]


@dataclass(slots=True)
class Score:
    expected: Counter[str] = field(default_factory=Counter)
    correct: Counter[str] = field(default_factory=Counter)
    gs_lost: int = 0
    wrong: int = 0
    wrong_example: tuple[str, str] | None = None
    false_positive: int = 0
    empty_frames: int = 0
    times_ms: list[float] = field(default_factory=list)


Decode = Callable[[Gray], list[str]]


def _unit_texts(rng: random.Random, index: int) -> tuple[str, str]:
    """A GS1 element string and a HIBC string for one realistic unit."""
    product = Product.random(rng)
    lot = "L" + "".join(rng.choices("0123456789ABCDEFGHJKLMNPRSTUVWXYZ", k=6))
    production = date(2025, 1, 1) + (date(2025, 6, 1) - date(2025, 1, 1)) * rng.random()
    gs1 = make_udi(product, lot=lot, serial=f"SN{index:07d}", production_date=production)
    hibc_product = Product.random(rng, issuer="hibcc")
    hibc = make_udi(hibc_product, lot=lot, serial=f"{index:07d}", production_date=production)
    return gs1.text, hibc.text


def _short_gs1_128(full: str) -> str:
    """(01)(17)(10) of a `make_udi` element string, (01)(11)(17)(10)<GS>(21): the primary
    half of a split GS1-128 label."""
    return full[:16] + full[24:32] + full[32 : full.index(GS)]


def _place(
    rng: random.Random, placements: list[Placement], candidate: Placement, size: tuple[int, int]
) -> bool:
    width, height = size
    radius = candidate.radius_px()
    if candidate.symbology in (Symbology.GS1_128,):
        w, h = candidate.size_px()
        half_w, half_h = w / 2 + 4, h / 2 + 0.08 * w
    else:
        half_w = half_h = radius
    if 2 * half_w >= width or 2 * half_h >= height:
        return False
    for _ in range(60):
        x = rng.uniform(half_w, width - half_w)
        y = rng.uniform(half_h, height - half_h)
        moved = Placement(
            symbology=candidate.symbology,
            text=candidate.text,
            center_px=(x, y),
            module_px=candidate.module_px,
            angle_deg=candidate.angle_deg,
        )
        if all(_apart(moved, other) for other in placements):
            placements.append(moved)
            return True
    return False


def _apart(a: Placement, b: Placement) -> bool:
    (ax, ay), (bx, by) = a.center_px, b.center_px
    if Symbology.GS1_128 in (a.symbology, b.symbology):
        (aw, ah), (bw, bh) = a.size_px(), b.size_px()
        return abs(ax - bx) > (aw + bw) / 2 + 8 or abs(ay - by) > (ah + bh) / 2 + 0.08 * max(aw, bw)
    return math.hypot(ax - bx, ay - by) > a.radius_px() + b.radius_px() + 8


def corpus(*, size: tuple[int, int], frames: int, seed: int) -> list[Sample]:
    rng = random.Random(f"bench-decode:{seed}:{size}")
    width, height = size
    large = width >= 1280
    samples: list[Sample] = []
    for index in range(frames):
        noise = rng.uniform(0, 14)
        blur = rng.choice([0.0, 0.0, rng.uniform(0.3, 1.2)])
        base = background(width_px=width, height_px=height, seed=rng.randrange(1 << 30))
        if index % 10 == 9:
            image = render_scene([], base=base, seed=index, noise_sigma=noise, blur_sigma_px=blur)
            samples.append(Sample(image, ()))
            continue
        gs1, hibc = _unit_texts(rng, index)
        dm_symbology, dm_text = (
            (Symbology.HIBC_DATAMATRIX, hibc) if index % 4 == 3 else (Symbology.GS1_DATAMATRIX, gs1)
        )
        linear_text = gs1 if large else _short_gs1_128(gs1)
        module_2d = rng.uniform(2.0, 5.0) if large else rng.uniform(2.0, 3.5)
        module_1d = rng.uniform(1.6, 2.6) if large else rng.uniform(1.3, 2.1)
        wanted = [
            (
                Code("DataMatrix", dm_text),
                Placement(
                    symbology=dm_symbology,
                    text=dm_text,
                    center_px=(0, 0),
                    module_px=module_2d,
                    angle_deg=rng.uniform(0, 360),
                ),
            ),
            (
                Code("QR", gs1),
                Placement(
                    symbology=Symbology.GS1_QR,
                    text=gs1,
                    center_px=(0, 0),
                    module_px=module_2d * rng.uniform(0.9, 1.2),
                    angle_deg=rng.uniform(0, 360),
                ),
            ),
            (
                Code("GS1-128", linear_text),
                Placement(
                    symbology=Symbology.GS1_128,
                    text=linear_text,
                    center_px=(0, 0),
                    module_px=module_1d,
                    angle_deg=rng.uniform(-4, 4) + rng.choice([0, 0, 0, 180]),
                ),
            ),
        ]
        placements: list[Placement] = []
        codes: list[Code] = []
        for code, candidate in sorted(wanted, key=lambda w: -w[1].radius_px()):
            if _place(rng, placements, candidate, size):
                codes.append(code)
        image = render_scene(
            placements, base=base, seed=index, noise_sigma=noise, blur_sigma_px=blur
        )
        samples.append(Sample(image, tuple(codes)))
    return samples


def score(decode: Decode, samples: Sequence[Sample]) -> Score:
    result = Score()
    for sample in samples:
        started = time.perf_counter()
        texts = decode(sample.image)
        result.times_ms.append((time.perf_counter() - started) * 1000)
        if not sample.codes:
            result.empty_frames += 1
            result.false_positive += len(texts)
            continue
        remaining = list(sample.codes)
        for code in sample.codes:
            result.expected[code.kind] += 1
        for text in texts:
            match = next((c for c in remaining if c.text == text), None)
            if match is not None:
                remaining.remove(match)
                result.correct[match.kind] += 1
            elif any(c.text.replace(GS, "") == text for c in remaining):
                result.gs_lost += 1
            else:
                result.wrong += 1
                if result.wrong_example is None:
                    closest = max(
                        remaining or sample.codes, key=lambda c: _common_prefix(c.text, text)
                    )
                    result.wrong_example = (text, closest.text)
    return result


def _common_prefix(a: str, b: str) -> int:
    return next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )


def zxing_decode() -> Decode:
    decoder = ZxingDecoder(formats=("datamatrix", "code128", "qr"))
    return lambda image: [d.text for d in decoder.decode(image)]


def pyzbar_decode() -> Decode:
    decoder = ZbarDecoder(formats=("code128", "qr"))
    return lambda image: [d.text for d in decoder.decode(image)]


def pylibdmtx_decode(timeout_ms: int) -> Decode:
    from pylibdmtx import pylibdmtx  # type: ignore[import-untyped]  # ships no type hints

    def decode(image: npt.NDArray[np.uint8]) -> list[str]:
        found = pylibdmtx.decode(image, timeout=timeout_ms, max_count=1)
        return [r.data.decode("utf-8", "replace") for r in found]

    return decode


def _row(size: tuple[int, int], name: str, s: Score) -> str:
    total = sum(s.expected.values())
    correct = sum(s.correct.values())
    per_kind = "  ".join(
        f"{s.correct[k] / s.expected[k]:6.1%}" if s.expected[k] else "     -" for k in KINDS
    )
    times = sorted(s.times_ms)
    p95 = times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)]
    return (
        f"{size[0]}x{size[1]:<5} {name:<10} {correct / total:6.1%} ({correct:>3}/{total:<3})  "
        f"{per_kind}  {s.gs_lost:>7} {s.wrong:>5} {s.false_positive:>3}/{s.empty_frames:<3} "
        f"{statistics.median(times):9.1f} {p95:7.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="frames per size (>= 300)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dmtx-timeout-ms", type=int, default=1000)
    parser.add_argument("--backends", default="zxing,pyzbar,pylibdmtx")
    args = parser.parse_args()
    wanted = args.backends.split(",")

    backends: list[tuple[str, Decode]] = []
    if "zxing" in wanted:
        backends.append(("zxing-cpp", zxing_decode()))
    if "pyzbar" in wanted:
        backends.append(("pyzbar", pyzbar_decode()))
    skipped: list[str] = []
    if "pylibdmtx" in wanted:
        try:
            backends.append(("pylibdmtx", pylibdmtx_decode(args.dmtx_timeout_ms)))
        except ImportError as exc:
            skipped.append(
                "pylibdmtx: SKIPPED, cannot import it (needs the Debian package libdmtx0b and "
                f"`pip install pylibdmtx`): {exc}"
            )

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"decode bench: {args.frames} frames per size (one in ten empty), seed {args.seed}, "
        f"{os.cpu_count()} cores, load average {load}; pylibdmtx timeout "
        f"{args.dmtx_timeout_ms} ms per frame"
    )
    for line in skipped:
        print(line)
    header = (
        f"{'size':<10} {'backend':<10} {'read rate':<16} "
        f"{'  DM':>6}  {' 128':>6}  {'  QR':>6}  {'GS lost':>7} {'wrong':>5} {'false+':>7} "
        f"{'median ms':>9} {'p95 ms':>7}"
    )
    print(header)
    for size in SIZES:
        started = time.perf_counter()
        samples = corpus(size=size, frames=args.frames, seed=args.seed)
        built_s = time.perf_counter() - started
        for name, decode in backends:
            result = score(decode, samples)
            print(_row(size, name, result), flush=True)
            if result.wrong_example is not None:
                got, expected = result.wrong_example
                print(f"{'':<10} {name} wrong read, e.g. {got!r} for {expected!r}")
        codes = Counter(code.kind for sample in samples for code in sample.codes)
        print(
            f"{'':<10} corpus: {len(samples)} frames, codes {dict(codes)}, "
            f"generated in {built_s:.1f} s"
        )


if __name__ == "__main__":
    main()
