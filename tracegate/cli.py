"""The `tracegate` console script.

Each command group lives in its own module and imports its side (edge or
cloud) inside the command body, never at module import.
"""

from __future__ import annotations

import typer

from tracegate import __version__
from tracegate.cli_cloud import cloud_app
from tracegate.cli_cloud_access import add_cloud_access_commands
from tracegate.cli_config import config_app
from tracegate.cli_decode import decode_command
from tracegate.cli_demo import demo_command
from tracegate.cli_deploy import deploy_app
from tracegate.cli_edge import edge_app
from tracegate.cli_sim import sim_app
from tracegate.cli_trace import trace_command
from tracegate.cli_udi import udi_app

app = typer.Typer(
    name="tracegate",
    help="Unit-level traceability for medical-device lines: edge agents, genealogy, recall.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(udi_app, name="udi")
app.add_typer(config_app, name="config")
app.add_typer(sim_app, name="sim")
app.add_typer(edge_app, name="edge")
app.add_typer(cloud_app, name="cloud")
add_cloud_access_commands(cloud_app)
app.add_typer(deploy_app, name="deploy")
app.command("decode")(decode_command)
app.command("trace")(trace_command)
app.command("demo")(demo_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tracegate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Tracegate: trace every unit from raw material to customer."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
