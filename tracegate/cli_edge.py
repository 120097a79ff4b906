"""`tracegate edge ...`: run a checkpoint's agent, show its status, set its work order and
holds.

`workorder`, `hold` and `release` write into the checkpoint's local state file (the agent
need not run; a running agent applies holds at once and a work order within half a
second), or with `--broker` publish the command on the checkpoint's command topic as the
cloud does.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn

import typer

if TYPE_CHECKING:
    from protocols.commands import Command
    from protocols.config import PlantConfig

edge_app = typer.Typer(
    help="Run a checkpoint's edge agent, show its status, set its work order and holds.",
    no_args_is_help=True,
)

ConfigArg = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, help="The line's plant config (YAML).")
]
CheckpointOpt = Annotated[
    str, typer.Option("--checkpoint", "-c", help="The checkpoint's id in the config.")
]
BrokerOpt = Annotated[
    bool,
    typer.Option(
        "--broker",
        help="Publish the command on the checkpoint's command topic instead of writing the"
        " local state file.",
    ),
]


@edge_app.command("run")
def run(
    config: ConfigArg,
    checkpoint: CheckpointOpt,
    log_format: Annotated[
        str, typer.Option("--log-format", help="'json' (one object a line) or 'logfmt'.")
    ] = "json",
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning.")] = "info",
) -> None:
    """Run the agent of one checkpoint until SIGTERM or SIGINT."""
    from tracegate import __version__

    if log_format not in ("json", "logfmt"):
        _fail(f"--log-format: expected 'json' or 'logfmt', got {log_format!r}")
    fmt: Literal["json", "logfmt"] = "json" if log_format == "json" else "logfmt"
    _load(config, checkpoint)
    if Path(sys.argv[0]).name in ("tracegate", "cli.py"):
        # The CLI is a process of its own (the console script, `python -m tracegate.cli`),
        # not called by a test: it becomes the agent.
        _exec_agent(config, checkpoint, version=__version__, log_format=fmt, log_level=log_level)
    from edge.checkpoint.run_agent import AgentStartError, run_agent

    try:
        run_agent(
            config, checkpoint, software_version=__version__, log_format=fmt, log_level=log_level
        )
    except AgentStartError as exc:
        _fail(str(exc), code=1)


def _exec_agent(
    config: Path, checkpoint: str, *, version: str, log_format: str, log_level: str
) -> NoReturn:
    """Replace this process with one that runs the agent (`python -m
    edge.checkpoint.run_agent`) and has not loaded typer, click and rich: about 3.5 MB of
    the agent's 60 MB budget (DESIGN.md; bench/checkpoint_rss.py). The PID (systemd's
    MainPID), the environment (NOTIFY_SOCKET, WATCHDOG_USEC) and stdout/stderr stay."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(
        sys.executable,
        [
            sys.executable,
            "-m",
            "edge.checkpoint.run_agent",
            str(config),
            "--checkpoint",
            checkpoint,
            "--log-format",
            log_format,
            "--log-level",
            log_level,
            "--software-version",
            version,
        ],
    )


@edge_app.command("status")
def status(
    config: ConfigArg,
    checkpoint: CheckpointOpt,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Show links, work order, holds, counters, last decisions and outbox depth; works
    whether the agent runs or not."""
    import asyncio

    from edge.checkpoint.status_report import gather_status, render_status, status_json

    plant = _load(config, checkpoint)
    report = asyncio.run(gather_status(plant.checkpoint(checkpoint)))
    if as_json:
        typer.echo(status_json(report).decode())
        return
    for line in render_status(report):
        typer.echo(line)


@edge_app.command("workorder")
def workorder(
    config: ConfigArg,
    checkpoint: CheckpointOpt,
    work_order: Annotated[str, typer.Option("--work-order", help="The work order number.")],
    product: Annotated[
        list[str], typer.Option("--product", help="A device identifier the order makes; repeat.")
    ],
    quantity: Annotated[int, typer.Option("--quantity", help="Units to make.")],
    lot: Annotated[str | None, typer.Option("--lot", help="The lot the units carry.")] = None,
    expiry: Annotated[
        str | None, typer.Option("--expiry", help="Expiry date on the labels, YYYY-MM-DD.")
    ] = None,
    production_date: Annotated[
        str | None,
        typer.Option("--production-date", help="Production date on the labels, YYYY-MM-DD."),
    ] = None,
    bom: Annotated[
        list[str] | None,
        typer.Option(
            "--bom", help="DI:QUANTITY[:UNIT] of a component in each unit (assembly); repeat."
        ),
    ] = None,
    broker: BrokerOpt = False,
) -> None:
    """Start (or replace) the checkpoint's work order."""
    from edge.checkpoint.cli_commands import CommandInputError, work_order_command
    from edge.checkpoint.roles.assembly_commands import with_bom

    plant = _load(config, checkpoint)
    try:
        command = work_order_command(
            work_order=work_order,
            products=product,
            quantity=quantity,
            lot=lot,
            expiry=_date("--expiry", expiry),
            production_date=_date("--production-date", production_date),
        )
        command = with_bom(command, bom)
    except CommandInputError as exc:
        _fail(str(exc))
    _deliver(plant, checkpoint, command, broker=broker)


@edge_app.command("hold")
def hold(
    config: ConfigArg,
    checkpoint: CheckpointOpt,
    hold_id: Annotated[str, typer.Option("--hold-id", help="The hold's number.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the operators.")],
    unit: Annotated[
        list[str] | None, typer.Option("--unit", help="DI:SERIAL of a unit to hold; repeat.")
    ] = None,
    lot: Annotated[
        list[str] | None, typer.Option("--lot", help="DI:LOT of a lot to hold; repeat.")
    ] = None,
    di: Annotated[
        list[str] | None, typer.Option("--di", help="A device identifier to hold; repeat.")
    ] = None,
    broker: BrokerOpt = False,
) -> None:
    """Hold units, lots or device identifiers at the checkpoint until released."""
    from edge.checkpoint.cli_commands import CommandInputError, hold_command

    plant = _load(config, checkpoint)
    try:
        command = hold_command(hold_id=hold_id, reason=reason, units=unit, lots=lot, dis=di)
    except CommandInputError as exc:
        _fail(str(exc))
    _deliver(plant, checkpoint, command, broker=broker)


@edge_app.command("release")
def release(
    config: ConfigArg,
    checkpoint: CheckpointOpt,
    hold_id: Annotated[str, typer.Option("--hold-id", help="The hold to lift.")],
    signed_by: Annotated[
        str, typer.Option("--signed-by", help="The person who authorises the release.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why the hold may be lifted.")],
    broker: BrokerOpt = False,
) -> None:
    """Lift a hold."""
    from edge.checkpoint.cli_commands import CommandInputError, release_command

    plant = _load(config, checkpoint)
    try:
        command = release_command(hold_id=hold_id, signed_by=signed_by, reason=reason)
    except CommandInputError as exc:
        _fail(str(exc))
    _deliver(plant, checkpoint, command, broker=broker)


def _load(config: Path, checkpoint: str) -> PlantConfig:
    from protocols.config import ConfigError, load_plant_file

    try:
        plant = load_plant_file(config)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(code=2) from None
    try:
        plant.checkpoint(checkpoint)
    except KeyError as exc:
        _fail(f"--checkpoint: {exc.args[0]}")
    return plant


def _deliver(plant: PlantConfig, checkpoint: str, command: Command, *, broker: bool) -> None:
    from edge.checkpoint.cli_commands import deliver
    from edge.checkpoint.command_publish import CommandPublishError

    try:
        typer.echo(deliver(plant, checkpoint, command, broker=broker))
    except CommandPublishError as exc:
        _fail(str(exc), code=1)


def _date(option: str, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"{option}: expected a date YYYY-MM-DD, got {value!r}")


def _fail(message: str, *, code: int = 2) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code=code)


# The packing, shipping and returns commands (after the helpers they use are defined).
from tracegate.cli_edge_containers import add_container_commands  # noqa: E402

add_container_commands(edge_app)

# `tracegate edge lot accept | reject | show` (assembly's supplier lots).
from tracegate.cli_edge_lots import add_lot_commands  # noqa: E402

add_lot_commands(edge_app)
