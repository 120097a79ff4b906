"""`tracegate edge lot accept | reject | show`: incoming inspection's verdict on a supplier
lot, told to an assembly checkpoint, and what its feeders hold.

`accept` and `reject` write the verdict into the assembly checkpoint's store (the agent
need not run; a running agent reads lot states on every load), or with `--broker` publish
it on the checkpoint's `cmd/lotinspection` topic as the cloud does.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from tracegate.cli_edge import BrokerOpt, CheckpointOpt, ConfigArg, _fail, _load

lot_app = typer.Typer(
    help="Incoming inspection's verdict on supplier lots, and the lots loaded at assembly.",
    no_args_is_help=True,
)

DiOpt = Annotated[str, typer.Option("--di", help="The lot's GTIN (the material's DI).")]
LotOpt = Annotated[str, typer.Option("--lot", help="The supplier's lot number.")]
SignedByOpt = Annotated[
    str, typer.Option("--signed-by", help="The person who decided (inspection's signer).")
]
ReasonOpt = Annotated[
    str | None, typer.Option("--reason", help="Why: an inspection report, a deviation.")
]


def add_lot_commands(app: typer.Typer) -> None:
    app.add_typer(lot_app, name="lot")


@lot_app.command("accept")
def accept(
    config: ConfigArg,
    checkpoint: CheckpointOpt,
    di: DiOpt,
    lot: LotOpt,
    signed_by: SignedByOpt,
    reason: ReasonOpt = None,
    broker: BrokerOpt = False,
) -> None:
    """Release a lot from incoming quarantine: it may be loaded at assembly."""
    _verdict(config, checkpoint, di, lot, signed_by, reason, broker=broker, accepted=True)


@lot_app.command("reject")
def reject(
    config: ConfigArg,
    checkpoint: CheckpointOpt,
    di: DiOpt,
    lot: LotOpt,
    signed_by: SignedByOpt,
    reason: ReasonOpt = None,
    broker: BrokerOpt = False,
) -> None:
    """Reject a lot: it can never be loaded at assembly."""
    _verdict(config, checkpoint, di, lot, signed_by, reason, broker=broker, accepted=False)


@lot_app.command("show")
def show(config: ConfigArg, checkpoint: CheckpointOpt) -> None:
    """The lot loaded on each component's feeder."""
    from edge.checkpoint.cli_commands import CommandInputError
    from edge.checkpoint.roles.assembly_commands import loaded_lots

    plant = _load(config, checkpoint)
    try:
        loaded = loaded_lots(plant, checkpoint)
    except CommandInputError as exc:
        _fail(str(exc))
    if not loaded:
        typer.echo("no lot loaded")
    for item in loaded:
        at = dt.datetime.fromtimestamp(item.loaded_at, dt.UTC).isoformat(timespec="seconds")
        expiry = item.expiry.isoformat() if item.expiry else "-"
        typer.echo(f"{item.component_di}  lot {item.lot}  expiry {expiry}  loaded {at}")


def _verdict(
    config: ConfigArg,
    checkpoint: str,
    di: str,
    lot: str,
    signed_by: str,
    reason: str | None,
    *,
    broker: bool,
    accepted: bool,
) -> None:
    from edge.checkpoint.cli_commands import CommandInputError
    from edge.checkpoint.command_publish import CommandPublishError
    from edge.checkpoint.roles.assembly_commands import (
        deliver_inspection,
        lot_inspection_command,
    )

    plant = _load(config, checkpoint)
    try:
        command = lot_inspection_command(
            di=di, lot=lot, accepted=accepted, signed_by=signed_by, reason=reason
        )
        typer.echo(deliver_inspection(plant, checkpoint, command, broker=broker))
    except CommandInputError as exc:
        _fail(str(exc))
    except CommandPublishError as exc:
        _fail(str(exc), code=1)
