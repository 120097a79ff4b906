"""Work orders, holds and releases typed at the line: built from CLI options, then written to
the agent's local state file or sent through the broker like the cloud's."""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from edge.checkpoint.state import LocalState
from protocols.codec import WireError, encode_command
from protocols.commands import Command, Hold, HoldScope, LotRef, Release, Shipment, WorkOrder
from protocols.config import PlantConfig
from protocols.events import Party, UnitRef
from protocols.ids import uuid7

C = TypeVar("C", WorkOrder, Hold, Release, Shipment)


class CommandInputError(ValueError):
    """A CLI option that does not make a valid command."""


def operator() -> str:
    """Who issues a command typed at the line: `cli:<login>`."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def work_order_command(
    *,
    work_order: str,
    products: list[str],
    quantity: int,
    lot: str | None = None,
    expiry: dt.date | None = None,
    production_date: dt.date | None = None,
    route: list[str] | None = None,
    issued_by: str | None = None,
) -> WorkOrder:
    if not products:
        raise CommandInputError("--product: expected at least one device identifier, got none")
    return _checked(
        lambda: WorkOrder(
            command_id=uuid7(),
            issued_at=dt.datetime.now(dt.UTC),
            issued_by=issued_by or operator(),
            work_order=work_order,
            products=tuple(products),
            lot=lot,
            expiry=expiry,
            production_date=production_date,
            quantity=quantity,
            route=tuple(route or ()),
        )
    )


def hold_command(
    *,
    hold_id: str,
    reason: str,
    units: list[str] | None = None,
    lots: list[str] | None = None,
    dis: list[str] | None = None,
    issued_by: str | None = None,
) -> Hold:
    unit_refs = tuple(UnitRef(di=di, serial=serial) for di, serial in _pairs("--unit", units))
    lot_refs = tuple(LotRef(di=di, lot=lot) for di, lot in _pairs("--lot", lots))
    if not (unit_refs or lot_refs or dis):
        raise CommandInputError(
            "hold scope: expected at least one --unit DI:SERIAL, --lot DI:LOT or --di DI, got none"
        )
    return _checked(
        lambda: Hold(
            command_id=uuid7(),
            issued_at=dt.datetime.now(dt.UTC),
            issued_by=issued_by or operator(),
            hold_id=hold_id,
            scope=HoldScope(units=unit_refs, lots=lot_refs, dis=tuple(dis or ())),
            reason=reason,
        )
    )


def release_command(
    *, hold_id: str, signed_by: str, reason: str, issued_by: str | None = None
) -> Release:
    return _checked(
        lambda: Release(
            command_id=uuid7(),
            issued_at=dt.datetime.now(dt.UTC),
            issued_by=issued_by or operator(),
            hold_id=hold_id,
            signed_by=signed_by,
            reason=reason,
        )
    )


def shipment_command(
    *,
    shipment_id: str,
    order: str,
    recipient: str,
    country: str,
    address_lines: list[str] | None = None,
    region: str | None = None,
    gln: str | None = None,
    expected: list[str] | None = None,
    issued_by: str | None = None,
) -> Shipment:
    """The shipment the shipping checkpoint loads against (as the cloud's `cmd/shipment`)."""
    return _checked(
        lambda: Shipment(
            command_id=uuid7(),
            issued_at=dt.datetime.now(dt.UTC),
            issued_by=issued_by or operator(),
            shipment_id=shipment_id,
            order=order,
            recipient=Party(
                name=recipient,
                address_lines=tuple(address_lines or ()),
                country_code=country,
                region=region,
                gln=gln,
            ),
            expected_containers=tuple(expected or ()),
        )
    )


async def apply_locally(state_path: Path, command: Command) -> bool:
    """Write `command` into the agent's state file (a running agent picks a work order up
    within its refresh period, holds at once); False if it was applied before."""
    state = await LocalState.open(state_path)
    try:
        return await state.apply(command)
    finally:
        await state.close()


def deliver(plant: PlantConfig, checkpoint: str, command: Command, *, broker: bool) -> str:
    """Apply `command` to the checkpoint's state file, or publish it with `broker`; return
    what was done, in words."""
    cp = plant.checkpoint(checkpoint)
    if broker:
        from edge.checkpoint.command_publish import publish_command

        topic = publish_command(
            plant.mqtt_for(checkpoint),
            command,
            site=plant.site.id,
            line=plant.line.id,
            checkpoint=cp.id,
        )
        return f"{command.kind} {command.command_id} published on {topic}"
    applied = asyncio.run(apply_locally(cp.state_path, command))
    if not applied:
        return f"{command.kind} {command.command_id} was already applied"
    return f"{command.kind} {command.command_id} written to {cp.state_path}"


def _pairs(option: str, values: list[str] | None) -> list[tuple[str, str]]:
    pairs = []
    for value in values or ():
        di, sep, rest = value.partition(":")
        if not sep or not di or not rest:
            raise CommandInputError(
                f"{option}: expected DI:VALUE such as 09506000134352:SN1, got {value!r}"
            )
        pairs.append((di, rest))
    return pairs


def _checked(build: Callable[[], C]) -> C:
    """Build a command and encode it once: msgspec checks field constraints (a DI's digits,
    a lot's length) only then."""
    try:
        command = build()
        encode_command(command)
    except WireError as exc:
        raise CommandInputError(f"{_option(exc.path)}: {exc.problem}") from None
    except ValueError as exc:
        raise CommandInputError(str(exc)) from None
    return command


_OPTIONS = {
    "products": "--product",
    "units": "--unit",
    "lots": "--lot",
    "dis": "--di",
    "expected_containers": "--expect",
    "recipient": "--recipient",
}
_RECIPIENT_OPTIONS = {"country_code": "--country", "address_lines": "--address-line"}


def _option(path: str | None) -> str:
    """The CLI option a field of the command came from: `$.products[0]` is `--product`."""
    if not path:
        return "command"
    steps = [s for s in re.split(r"[.\[\]]", path.removeprefix("$.")) if s and not s.isdigit()]
    if steps[:1] == ["scope"] and len(steps) > 1:
        return _OPTIONS.get(steps[1], "--" + steps[1])
    if steps[:1] == ["recipient"] and len(steps) > 1:
        return _RECIPIENT_OPTIONS.get(steps[1], "--recipient")
    field = steps[0] if steps else "command"
    return _OPTIONS.get(field, "--" + field.replace("_", "-"))
