"""What people tell an assembly station from the CLI: a lot's incoming-inspection verdict
(`tracegate edge lot accept|reject`), the bill of materials of a work order
(`tracegate edge workorder ... --bom DI:QTY[:UOM]`), and what is loaded (`lot show`)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import TypeVar

import msgspec

from edge.checkpoint.cli_commands import CommandInputError, operator
from edge.checkpoint.roles.assembly_store import AssemblyStore, LoadedLot, assembly_store_path
from protocols.commands import BomLine, LotInspection, WorkOrder
from protocols.config import Checkpoint, PlantConfig
from protocols.ids import uuid7

T = TypeVar("T", BomLine, LotInspection)


def bom_lines(values: list[str] | None) -> tuple[BomLine, ...]:
    """`--bom DI:QTY[:UOM]` options as BOM lines.

    >>> bom_lines(["05391234000108:0.5:m", "05391234000207:2"])[1]
    BomLine(di='05391234000207', quantity_per_unit=2.0, unit_of_measure='EA')
    """
    lines = []
    for value in values or ():
        parts = value.split(":")
        try:
            if len(parts) not in (2, 3):
                raise ValueError
            quantity = float(parts[1])
        except ValueError:
            raise CommandInputError(
                f"--bom: expected DI:QUANTITY[:UNIT] such as 05391234000108:0.5:m, got {value!r}"
            ) from None
        line = BomLine(
            di=parts[0],
            quantity_per_unit=quantity,
            unit_of_measure=parts[2] if len(parts) == 3 else "EA",
        )
        lines.append(_checked(line))
    return tuple(lines)


def with_bom(order: WorkOrder, values: list[str] | None) -> WorkOrder:
    """`order` with the bill of materials of the `--bom` options (none: unchanged)."""
    lines = bom_lines(values)
    return msgspec.structs.replace(order, bom=lines) if lines else order


def lot_inspection_command(
    *,
    di: str,
    lot: str,
    accepted: bool,
    signed_by: str,
    reason: str | None = None,
    issued_by: str | None = None,
) -> LotInspection:
    return _checked(
        LotInspection(
            command_id=uuid7(),
            issued_at=dt.datetime.now(dt.UTC),
            issued_by=issued_by or operator(),
            di=di,
            lot=lot,
            state="accepted" if accepted else "rejected",
            signed_by=signed_by,
            reason=reason,
        )
    )


def assembly_checkpoint(plant: PlantConfig, checkpoint: str) -> Checkpoint:
    cp = plant.checkpoint(checkpoint)
    if cp.role != "assembly":
        raise CommandInputError(
            f"--checkpoint: '{checkpoint}' has role '{cp.role}'; lot verdicts go to an assembly"
            " checkpoint"
        )
    return cp


def store_path_of(checkpoint: Checkpoint) -> Path:
    config = checkpoint.assembly
    path = config.store_path if config is not None else None
    return path or assembly_store_path(checkpoint.state_path)


def deliver_inspection(
    plant: PlantConfig, checkpoint: str, command: LotInspection, *, broker: bool
) -> str:
    """Write the verdict into the assembly store, or publish it with `broker`; say what was
    done, in words."""
    cp = assembly_checkpoint(plant, checkpoint)
    if broker:
        from edge.checkpoint.command_publish import publish_command

        topic = publish_command(
            plant.mqtt_for(cp.id), command, site=plant.site.id, line=plant.line.id, checkpoint=cp.id
        )
        return f"lot {command.di}/{command.lot} {command.state}: published on {topic}"

    async def apply() -> bool:
        store = await AssemblyStore.open(store_path_of(cp))
        try:
            return await store.apply_inspection(command)
        finally:
            await store.close()

    if not asyncio.run(apply()):
        return f"lot inspection {command.command_id} was already applied"
    return f"lot {command.di}/{command.lot} {command.state}: written to {store_path_of(cp)}"


def loaded_lots(plant: PlantConfig, checkpoint: str) -> list[LoadedLot]:
    """What the station's feeders hold, by component DI."""
    cp = assembly_checkpoint(plant, checkpoint)

    async def read() -> list[LoadedLot]:
        store = await AssemblyStore.open(store_path_of(cp))
        try:
            loaded = await store.loaded()
        finally:
            await store.close()
        return [loaded[di] for di in sorted(loaded)]

    return asyncio.run(read())


def _checked(value: T) -> T:
    """msgspec checks field constraints (a DI's digits, a lot's length) when decoding only:
    the value goes through JSON once."""
    try:
        msgspec.json.decode(msgspec.json.encode(value), type=type(value))
    except msgspec.ValidationError as exc:
        problem, _, where = str(exc).partition(" - at `$.")
        option = "--bom" if isinstance(value, BomLine) else "--" + where.rstrip("`").split("[")[0]
        raise CommandInputError(f"{option.replace('_', '-')}: {problem}") from None
    return value
