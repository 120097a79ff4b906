"""A work order's bill of materials: checked when set, stored as JSON, sent to the edges.

Assembly loads only lots of the components listed here and records, for each unit, the
quantity per unit of each loaded lot, so a wrong line puts wrong quantities (or a wrong
component) into the genealogy of every unit of the order: it is refused when it is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.domain.catalog.identifiers import di_problem
from cloud.domain.catalog.models import Material, Product
from cloud.domain.errors import InvalidFieldError
from cloud.domain.production.schemas import BomLine
from protocols import commands


def component_di_problem(di: str) -> str | None:
    """What is wrong with `di` as a component's DI (a GTIN-14 if all digits, else a HIBCC
    DI), or None.

    >>> component_di_problem("05391234000108") is None
    True
    >>> component_di_problem("05391234000109")
    "Invalid GTIN check digit for '05391234000109': Expected 8, got 9."
    >>> component_di_problem("A99912345") is None
    True
    >>> component_di_problem("9999123")
    "expected a GTIN-14 of 14 digits or a HIBCC DI (a letter first), got '9999123'"
    """
    if di.isdigit() and len(di) != 14:
        return f"expected a GTIN-14 of 14 digits or a HIBCC DI (a letter first), got {di!r}"
    return di_problem("GS1" if di.isdigit() else "HIBCC", di)


def check_bom_shape(lines: Sequence[BomLine], *, product_di: str) -> None:
    """The checks that need no catalog (pure): raises `InvalidFieldError` naming the line.

    >>> try:
    ...     check_bom_shape(
    ...         [BomLine(di="05391234000108", quantity_per_unit=0.5, unit_of_measure="m"),
    ...          BomLine(di="05391234000108", quantity_per_unit=1, unit_of_measure="m")],
    ...         product_di="09506000134352",
    ...     )
    ... except InvalidFieldError as exc:
    ...     print(exc)
    bom[1].di: component 05391234000108 is already listed as bom[0]
    """
    first_line: dict[str, int] = {}
    for index, line in enumerate(lines):
        field = f"bom[{index}].di"
        problem = component_di_problem(line.di)
        if problem is not None:
            raise InvalidFieldError(field, problem)
        if line.di == product_di:
            raise InvalidFieldError(
                field, f"expected a component, got the work order's own product {line.di}"
            )
        if line.di in first_line:
            raise InvalidFieldError(
                field, f"component {line.di} is already listed as bom[{first_line[line.di]}]"
            )
        first_line[line.di] = index


async def check_bom(session: AsyncSession, lines: Sequence[BomLine], *, product_di: str) -> None:
    """`check_bom_shape`, then: once the catalog has materials, each component is a
    material's or a product's DI, and a material's line is in the material's unit."""
    check_bom_shape(lines, product_di=product_di)
    if not lines or await session.scalar(select(Material.id).limit(1)) is None:
        return
    dis = {line.di for line in lines}
    units: dict[str, set[str]] = {}
    for di, uom in await session.execute(
        select(Material.di, Material.uom).where(Material.di.in_(dis))
    ):
        if di is not None:
            units.setdefault(di, set()).add(uom)
    products = set((await session.scalars(select(Product.di).where(Product.di.in_(dis)))).all())
    for index, line in enumerate(lines):
        if line.di in units:
            if line.unit_of_measure not in units[line.di]:
                raise InvalidFieldError(
                    f"bom[{index}].unit_of_measure",
                    f"expected {' or '.join(sorted(units[line.di]))} (the unit of material"
                    f" {line.di}), got {line.unit_of_measure!r}",
                )
        elif line.di not in products:
            raise InvalidFieldError(
                f"bom[{index}].di", f"no material or product with di {line.di!r} in the catalog"
            )


def stored(lines: Sequence[BomLine]) -> list[dict[str, Any]]:
    """The JSON kept in `work_orders.bom`."""
    return [
        {"di": x.di, "quantity_per_unit": x.quantity_per_unit, "unit_of_measure": x.unit_of_measure}
        for x in lines
    ]


def from_stored(rows: Sequence[dict[str, Any]]) -> list[BomLine]:
    return [
        BomLine(
            di=row["di"],
            quantity_per_unit=float(row["quantity_per_unit"]),
            unit_of_measure=row["unit_of_measure"],
        )
        for row in rows
    ]


def on_the_wire(rows: Sequence[dict[str, Any]]) -> tuple[commands.BomLine, ...]:
    """The stored bill of materials as `cmd/workorder` carries it."""
    return tuple(
        commands.BomLine(
            di=row["di"],
            quantity_per_unit=float(row["quantity_per_unit"]),
            unit_of_measure=row["unit_of_measure"],
        )
        for row in rows
    )
