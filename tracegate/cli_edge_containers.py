"""`tracegate edge unpack | close-case | close-pallet | shipment | return-authorisation`:
what the people at packing, the dock and the returns bench tell their checkpoint.

`unpack`, `close-case` and `close-pallet` are done by the running packing agent (records
first) and answered here; `shipment` writes the shipment into the shipping checkpoint's
local state, or with `--broker` publishes it as the cloud does; `return-authorisation`
sets the RMA or recall that returns scanned at the returns bench are received under.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tracegate.cli_edge import BrokerOpt, CheckpointOpt, ConfigArg, _deliver, _fail, _load

if TYPE_CHECKING:
    from edge.checkpoint.roles.packing_store import AnyRequest

WaitOpt = Annotated[
    float,
    typer.Option("--wait-s", help="How long to wait for the running agent's answer."),
]


def add_container_commands(app: typer.Typer) -> None:
    app.command("unpack")(unpack)
    app.command("close-case")(close_case)
    app.command("close-pallet")(close_pallet)
    app.command("shipment")(shipment)
    app.command("return-authorisation")(return_authorisation)


def unpack(
    config: ConfigArg,
    checkpoint: CheckpointOpt,
    unit: Annotated[
        str | None, typer.Option("--unit", help="DI:SERIAL of the unit taken out of its case.")
    ] = None,
    lot: Annotated[
        str | None, typer.Option("--lot", help="DI:LOT of a lot-tracked unit taken out.")
    ] = None,
    container: Annotated[
        str | None, typer.Option("--container", help="SSCC of a case taken off its pallet.")
    ] = None,
    reason: Annotated[
        str, typer.Option("--reason", help="Reason code recorded (rework, damaged, sample).")
    ] = "rework",
    note: Annotated[str, typer.Option("--note", help="Why, in words, for the record.")] = "",
    wait_s: WaitOpt = 5.0,
) -> None:
    """Take a unit out of its case (or a case off its pallet): unit.unpacked is recorded,
    and the unit may pass packing again."""
    from edge.checkpoint.roles.packing_store import UnpackContainer, UnpackUnit

    given = [o for o, v in (("--unit", unit), ("--lot", lot), ("--container", container)) if v]
    if len(given) != 1:
        _fail(f"expected exactly one of --unit, --lot, --container, got {len(given)}")
    request: UnpackUnit | UnpackContainer
    if container:
        request = UnpackContainer(sscc=container, reason=reason, note=note)
    else:
        option, value = given[0], unit or lot or ""
        di, sep, rest = value.partition(":")
        if not sep or not di or not rest:
            _fail(f"{option}: expected DI:VALUE such as 09506000134352:SN1, got {value!r}")
        request = (
            UnpackUnit(di=di, serial=rest, reason=reason, note=note)
            if unit
            else UnpackUnit(di=di, lot=rest, reason=reason, note=note)
        )
    _ask(config, checkpoint, request, wait_s)


def close_case(config: ConfigArg, checkpoint: CheckpointOpt, wait_s: WaitOpt = 5.0) -> None:
    """Close the open case before it is full (end of a run): unit.packed is recorded."""
    from edge.checkpoint.roles.packing_store import CloseCase

    _ask(config, checkpoint, CloseCase(), wait_s)


def close_pallet(config: ConfigArg, checkpoint: CheckpointOpt, wait_s: WaitOpt = 5.0) -> None:
    """Close the open pallet before it is full: unit.packed of its cases is recorded."""
    from edge.checkpoint.roles.packing_store import ClosePallet

    _ask(config, checkpoint, ClosePallet(), wait_s)


def shipment(
    config: ConfigArg,
    checkpoint: CheckpointOpt,
    shipment_id: Annotated[str, typer.Option("--shipment-id", help="The delivery number.")],
    order: Annotated[str, typer.Option("--order", help="The customer order it fulfils.")],
    recipient: Annotated[str, typer.Option("--recipient", help="Who the goods go to.")],
    country: Annotated[str, typer.Option("--country", help="ISO 3166 code, such as IE.")],
    address_line: Annotated[
        list[str] | None, typer.Option("--address-line", help="A line of the address; repeat.")
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="State or county.")] = None,
    gln: Annotated[str | None, typer.Option("--gln", help="The recipient's GLN.")] = None,
    expect: Annotated[
        list[str] | None,
        typer.Option("--expect", help="SSCC of a container on the shipment; repeat (none: any)."),
    ] = None,
    broker: BrokerOpt = False,
) -> None:
    """Make a shipment the active one at a shipping checkpoint: containers scanned there
    are shipped on it (only those named by --expect, if any)."""
    from edge.checkpoint.cli_commands import CommandInputError, shipment_command

    plant = _load(config, checkpoint)
    try:
        command = shipment_command(
            shipment_id=shipment_id,
            order=order,
            recipient=recipient,
            country=country,
            address_lines=address_line,
            region=region,
            gln=gln,
            expected=expect,
        )
    except CommandInputError as exc:
        _fail(str(exc))
    _deliver(plant, checkpoint, command, broker=broker)


def return_authorisation(
    config: ConfigArg,
    checkpoint: CheckpointOpt,
    rma: Annotated[str | None, typer.Option("--rma", help="The RMA number.")] = None,
    recall: Annotated[
        str | None, typer.Option("--recall", help="The recall the goods come back under.")
    ] = None,
    returned_by: Annotated[
        str | None, typer.Option("--from", help="Who sends the goods back.")
    ] = None,
    country: Annotated[str | None, typer.Option("--country", help="Their ISO 3166 code.")] = None,
    address_line: Annotated[
        list[str] | None, typer.Option("--address-line", help="A line of their address.")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why the goods come back.")] = "",
    unit: Annotated[
        list[str] | None,
        typer.Option("--unit", help="DI:SERIAL of a unit expected back; repeat (optional)."),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="End the active authorisation.")] = False,
) -> None:
    """Set the RMA or recall that returns scanned at the checkpoint are received under
    (every return is held whatever the authorisation)."""
    import asyncio

    from edge.checkpoint.roles.returns_store import (
        ReturnAuthorisationError,
        authorisation,
        set_authorisation,
    )

    plant = _load(config, checkpoint)
    cp = plant.checkpoint(checkpoint)
    if cp.role != "returns":
        _fail(f"--checkpoint: {cp.id} is a {cp.role} checkpoint, not returns")
    try:
        chosen = None
        if not clear:
            chosen = authorisation(
                rma=rma,
                recall=recall,
                returned_by=returned_by,
                country=country,
                address_lines=address_line or [],
                reason=reason,
                units=unit or [],
            )
        typer.echo(asyncio.run(set_authorisation(cp, chosen)))
    except ReturnAuthorisationError as exc:
        _fail(str(exc))


def _ask(config: Path, checkpoint: str, request: AnyRequest, wait_s: float) -> None:
    import asyncio

    from edge.checkpoint.roles.packing_requests import PackingRequestError, ask_packing

    cp = _load(config, checkpoint).checkpoint(checkpoint)
    try:
        result = asyncio.run(ask_packing(cp, request, wait_s=wait_s))
    except PackingRequestError as exc:
        _fail(str(exc))
    if not result.done:
        typer.echo(
            f"request {result.n} queued: the agent of {cp.id} did not answer within"
            f" {wait_s:g} s (it does it when it runs)"
        )
        raise typer.Exit(code=3)
    typer.echo(result.result)
    if not result.ok:
        raise typer.Exit(code=1)
