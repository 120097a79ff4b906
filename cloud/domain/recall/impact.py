"""A recall's impact from its affected end units: by stage, by container, by recipient, by
region. Pure aggregation over what `scope.affected_units` returns."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from cloud.domain.recall.schemas import ContainerImpact, Recipient, RegionCount
from cloud.domain.trace.expand import PlacedUnit
from cloud.domain.trace.labels import udi_text
from cloud.domain.trace.services import stage_of


def stage(unit: PlacedUnit) -> str:
    """An end unit's stage comes from its status (it is never consumed)."""
    return stage_of(unit.status)


def in_house(unit: PlacedUnit) -> bool:
    return stage(unit) in ("in_process", "in_stock")


def udi(unit: PlacedUnit) -> str:
    return udi_text(unit.di, serial=unit.serial, lot=unit.lot)


def by_stage(units: Sequence[PlacedUnit]) -> dict[str, int]:
    statuses = Counter(u.status for u in units)
    stages: Counter[str] = Counter()
    for status, n in statuses.items():
        stages[stage_of(status)] += n
    return dict(sorted(stages.items()))


def containers(units: Sequence[PlacedUnit]) -> list[ContainerImpact]:
    # Counted per box first: a box is shared by ten units or more.
    per_box = Counter(u.box for u in units if u.box is not None)
    return [
        ContainerImpact(
            sscc=box.container,
            outer_container=box.outer_container,
            units=n,
            shipment=box.shipment,
        )
        for box, n in sorted(per_box.items(), key=lambda item: item[0].container)
    ]


class _UdiTexts:
    """`udi_text` with the DI's part worked out once per DI (a recall lists 100,000 UDIs)."""

    def __init__(self) -> None:
        self.prefixes: dict[str, str] = {}

    def __call__(self, u: PlacedUnit) -> str:
        if u.di not in self.prefixes:
            self.prefixes[u.di] = udi_text(u.di, serial=None, lot=None)
        if self.prefixes[u.di].startswith("(01)"):
            return (
                self.prefixes[u.di]
                + (f"(10){u.lot}" if u.lot else "")
                + (f"(21){u.serial}" if u.serial else "")
            )
        return udi_text(u.di, serial=u.serial, lot=u.lot)


def recipients(
    units: Sequence[PlacedUnit], places: Mapping[int, tuple[str, str]]
) -> list[tuple[int, Recipient]]:
    """(shipment id, recipient) per shipment that carried affected units."""
    grouped: dict[int, list[PlacedUnit]] = {}
    for u in units:
        if u.box is not None and u.box.shipment_id is not None:
            grouped.setdefault(u.box.shipment_id, []).append(u)
    out = []
    texts = _UdiTexts()
    for shipment_id, carried in sorted(grouped.items()):
        box = carried[0].box
        assert box is not None
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
                    udis=sorted(map(texts, carried)),
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
