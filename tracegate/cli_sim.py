"""`tracegate sim ...`: run the simulated plant peers (PLC, scanner, camera).

Each command imports its simulator inside its body, so `tracegate --help` stays light.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tracegate.cli_sim_camera import sim_camera_command
from tracegate.cli_sim_scanner import sim_scanner_command

sim_app = typer.Typer(
    help="Run simulated plant peers (PLC, scanner, camera) for tests and the demo.",
    no_args_is_help=True,
)
sim_app.command("camera")(sim_camera_command)
sim_app.command("scanner")(sim_scanner_command)


@sim_app.command("plc")
def sim_plc(
    config: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="Sim YAML (edge/sim/plc_config.py): the line, optionally a plant checkpoint.",
        ),
    ],
    port: Annotated[
        int | None, typer.Option("--port", help="Override the config's TCP port.")
    ] = None,
) -> None:
    """Serve a simulated PLC (Modbus TCP) running a conveyor model until interrupted."""
    from edge.sim.plc import run_sim_plc
    from edge.sim.plc_config import SimConfigError

    try:
        run_sim_plc(config, port=port)
    except SimConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
