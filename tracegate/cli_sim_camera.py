"""`tracegate sim camera OUT`: film the simulated line into a video file or still images.

The line comes from the same YAML file `tracegate sim plc` reads (`--config`), so the video
shows the units the simulated PLC reports, at the same line times; without it, from
`--seed`, `--rate-per-s` and `--units`. Frame k of the video shows line time k / fps.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

_SIZE = re.compile(r"(\d+)x(\d+)")
_SYMBOLOGIES = ("gs1_datamatrix", "gs1_128", "gs1_qr", "hibc_datamatrix", "hibc_128")


def sim_camera_command(
    out: Annotated[
        Path,
        typer.Argument(
            help="Video file to write (.avi or .mkv, Motion JPEG), or a directory with --images."
        ),
    ],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", exists=True, dir_okay=False, help="The `sim plc` YAML file (its line)."
        ),
    ] = None,
    images: Annotated[
        bool, typer.Option("--images", help="Write one PNG per unit (at its photo-eye instant).")
    ] = False,
    seed: Annotated[int, typer.Option(help="Line seed (without --config).")] = 0,
    rate_per_s: Annotated[float, typer.Option(help="Units per second (without --config).")] = 2.0,
    units: Annotated[int, typer.Option(help="Number of units (without --config).")] = 10,
    symbology: Annotated[
        str, typer.Option(help=f"How units are marked: {', '.join(_SYMBOLOGIES)}.")
    ] = "gs1_datamatrix",
    fps: Annotated[float, typer.Option(help="Frames per second of the video.")] = 30.0,
    size: Annotated[str, typer.Option(help="Frame size WIDTHxHEIGHT.")] = "1280x720",
    module_px: Annotated[float, typer.Option(help="Pixels per module of the codes.")] = 4.0,
    angle_deg: Annotated[float, typer.Option(help="Label rotation.")] = 0.0,
    angle_jitter_deg: Annotated[float, typer.Option(help="Random extra rotation +-.")] = 0.0,
    noise_sigma: Annotated[float, typer.Option(help="Sensor noise, grey levels.")] = 3.0,
    blur_sigma_px: Annotated[float, typer.Option(help="Defocus blur, pixels.")] = 0.0,
    duration_s: Annotated[
        float | None, typer.Option(help="Video length (default: until the last unit passed).")
    ] = None,
) -> None:
    """Write what a camera at the photo-eye sees of the simulated line."""
    import dataclasses
    import random

    from edge.sim.camera import CameraLook, SimCamera, unit_times_s, write_images, write_video
    from edge.sim.units import Product, SimLine, Symbology

    match = _SIZE.fullmatch(size)
    if match is None:
        raise typer.BadParameter(f"expected WIDTHxHEIGHT such as 1280x720, got {size!r}")
    if symbology not in _SYMBOLOGIES:
        raise typer.BadParameter(f"expected one of {', '.join(_SYMBOLOGIES)}, got {symbology!r}")
    if config is not None:
        from edge.sim.plc_config import SimConfigError, load_sim_plc_config

        try:
            line = load_sim_plc_config(config).line
        except SimConfigError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
    else:
        marking = Symbology(symbology)
        rng = random.Random(f"tracegate-cli-product:{seed}")
        product = Product.random(rng, issuer="hibcc" if marking.value.startswith("hibc") else "gs1")
        product = dataclasses.replace(product, symbology=marking)
        line = SimLine(seed=seed, rate_per_s=rate_per_s, unit_count=units, product=product)
    if line.unit_count is None and duration_s is None and not images:
        raise typer.BadParameter("the line never ends: give --duration-s", param_hint="--config")
    look = CameraLook(
        width_px=int(match.group(1)),
        height_px=int(match.group(2)),
        module_px=module_px,
        angle_deg=angle_deg,
        angle_jitter_deg=angle_jitter_deg,
        noise_sigma=noise_sigma,
        blur_sigma_px=blur_sigma_px,
    )
    camera = SimCamera(line, look=look, fps=fps, seed=line.seed)
    try:
        if images:
            paths = write_images(camera, out, times_s=unit_times_s(line))
            typer.echo(f"wrote {len(paths)} images to {out}")
        else:
            frames = write_video(camera, out, duration_s=duration_s)
            typer.echo(f"wrote {frames} frames ({frames / fps:.1f} s at {fps:g} fps) to {out}")
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
