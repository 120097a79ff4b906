"""A recall's impact from its affected end units: by stage, by container, by recipient, by
region. Pure aggregation over what `scope.affected_units` returns.

A recall may list 100,000 units: they are grouped by container once (ten or more share a
box, and a box knows its shipment), and everything else is worked out per box.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cloud.domain.recall.schemas import ContainerImpact, Recipient, RegionCount
from cloud.domain.trace.expand import Box, PlacedUnit
from cloud.domain.trace.labels import udi_text, udi_texts
from cloud.domain.trace.services import stage_of


def stage(unit: PlacedUnit) -> str:
    """An end unit's stage comes from its status (it is never consumed)."""
    return stage_of(unit.status)


def in_house(unit: PlacedUnit) -> bool:
    return stage(unit) in ("in_process", "in_stock")


def udi(unit: PlacedUnit) -> str:
    return udi_text(unit.di, serial=unit.serial, lot=unit.lot)


@dataclass(frozen=True, slots=True)
class Boxed:
    """The affected units of one container, with the container's box."""

    box: Box
    units: list[PlacedUnit]


def by_container(units: Sequence[PlacedUnit]) -> list[Boxed]:
    """The units in a container, per container, in the order the containers first come."""
    grouped: defaultdict[int | None, list[PlacedUnit]] = defaultdict(list)
    for u in units:
        grouped[u.container_id].append(u)
    grouped.pop(None, None)
    return [Boxed(members[0].box, members) for members in grouped.values() if members[0].box]


def by_stage(units: Sequence[PlacedUnit]) -> dict[str, int]:
    statuses = Counter(u.status for u in units)
    stages: Counter[str] = Counter()
    for status, n in statuses.items():
        stages[stage_of(status)] += n
    return dict(sorted(stages.items()))


def containers(boxed: Sequence[Boxed]) -> list[ContainerImpact]:
    return [
        ContainerImpact(
            sscc=b.box.container,
            outer_container=b.box.outer_container,
            units=len(b.units),
            shipment=b.box.shipment,
        )
        for b in sorted(boxed, key=lambda b: b.box.container)
    ]


def shipment_ids(boxed: Sequence[Boxed]) -> set[int]:
    return {b.box.shipment_id for b in boxed if b.box.shipment_id is not None}


def recipients(
    boxed: Sequence[Boxed], places: Mapping[int, tuple[str, str]]
) -> list[tuple[int, Recipient]]:
    """(shipment id, recipient) per shipment that carried affected units."""
    grouped: dict[int, list[Boxed]] = {}
    for b in boxed:
        if b.box.shipment_id is not None:
            grouped.setdefault(b.box.shipment_id, []).append(b)
    out = []
    for shipment_id, shipped in sorted(grouped.items()):
        box = shipped[0].box
        carried = [u for b in shipped for u in b.units]
        country, region = places.get(shipment_id, ("", ""))
        out.append(
            (
                shipment_id,
                Recipient(
                    shipment=box.shipment or "",
                    name=box.recipient_name or "",
                    address=box.recipient_address or "",
                    country=country,
                    region=region,
                    ship_date=box.ship_date,
                    quantity=len(carried),
                    udis=sorted(udi_texts(carried)),
                ),
            )
        )
    return out


def by_region(recipients_: Sequence[Recipient]) -> list[RegionCount]:
    counts: dict[tuple[str, str], list[int]] = {}
    for r in recipients_:
        entry = counts.setdefault((r.country, r.region), [0, 0])
        entry[0] += 1
        entry[1] += r.quantity
    return [
        RegionCount(country=c, region=g, recipients=n, units=q)
        for (c, g), (n, q) in sorted(counts.items())
    ]
