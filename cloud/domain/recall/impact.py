"""A recall's impact from the affected-units rows: by stage, by container, by recipient, by
region. Pure aggregation over the rows `scope.affected_units` returns (one query)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cloud.domain.recall.schemas import ContainerImpact, Recipient, RegionCount
from cloud.domain.trace.labels import udi_text
from cloud.domain.trace.services import stage_of


@dataclass(frozen=True, slots=True)
class AffectedUnit:
    unit_id: int
    di: str
    serial: str | None
    lot: str | None
    status: str
    stage: str
    container: str | None
    outer_container: str | None
    shipment_id: int | None
    shipment: str | None
    recipient_name: str | None
    recipient_address: str | None
    ship_date: Any

    @property
    def udi(self) -> str:
        return udi_text(self.di, serial=self.serial, lot=self.lot)

    @property
    def in_house(self) -> bool:
        return self.stage in ("in_process", "in_stock")


def affected(rows: Sequence[Any]) -> list[AffectedUnit]:
    """One entry per unit (a unit with two open containments would come twice)."""
    seen: dict[int, AffectedUnit] = {}
    for r in rows:
        if r.id in seen:
            continue
        # An end unit is never consumed; its stage comes from its status (shipped, in stock...).
        seen[r.id] = AffectedUnit(
            unit_id=r.id,
            di=r.di,
            serial=r.serial,
            lot=r.lot,
            status=r.status,
            stage=stage_of(r.status),
            container=r.container,
            outer_container=r.outer_container,
            shipment_id=r.shipment_id,
            shipment=r.shipment,
            recipient_name=r.recipient_name,
            recipient_address=r.recipient_address,
            ship_date=r.ship_date,
        )
    return list(seen.values())


def by_stage(units: Sequence[AffectedUnit]) -> dict[str, int]:
    return dict(sorted(Counter(u.stage for u in units).items()))


def containers(units: Sequence[AffectedUnit]) -> list[ContainerImpact]:
    counts: Counter[tuple[str, str | None, str | None]] = Counter(
        (u.container, u.outer_container, u.shipment) for u in units if u.container is not None
    )
    return [
        ContainerImpact(sscc=sscc, outer_container=outer, units=n, shipment=shipment)
        for (sscc, outer, shipment), n in sorted(counts.items(), key=lambda item: item[0][0])
    ]


def recipients(
    units: Sequence[AffectedUnit], places: Mapping[int, tuple[str, str]]
) -> list[Recipient]:
    """One recipient per shipment that carried affected units (shipped, or since returned)."""
    grouped: dict[int, list[AffectedUnit]] = {}
    for u in units:
        if u.shipment_id is not None:
            grouped.setdefault(u.shipment_id, []).append(u)
    out = []
    for shipment_id, carried in sorted(grouped.items()):
        first = carried[0]
        country, region = places.get(shipment_id, ("", ""))
        out.append(
            Recipient(
                shipment=first.shipment or "",
                name=first.recipient_name or "",
                address=first.recipient_address or "",
                country=country,
                region=region,
                ship_date=first.ship_date,
                quantity=len(carried),
                udis=sorted(u.udi for u in carried),
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
