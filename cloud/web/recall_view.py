"""What the recall cockpit shows besides `RecallService.get`: the frozen recipients (without
each one's UDI list, which the CSV export carries), containers and regions counted from the
frozen lists in two grouped statements, so a recall of 100,000 units stays one page."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.di import NamedDependency
from sqlalchemy import func, select

from cloud.db.database import Database
from cloud.domain.recall.models import RecallRecipient, RecallUnit
from cloud.domain.recall.schemas import ContainerImpact, RecallOut, RecipientOut, RegionCount
from cloud.domain.recall.services import RecallService, recipient_out
from cloud.domain.shipments.models import Shipment

MAX_CONTAINERS = 200


@dataclass(frozen=True, slots=True)
class Cockpit:
    recall: RecallOut
    recipients: list[RecipientOut]
    containers: list[ContainerImpact]
    container_count: int
    by_region: list[RegionCount]


def regions_of(recipients: list[RecipientOut]) -> list[RegionCount]:
    counts: dict[tuple[str, str], list[int]] = {}
    for r in recipients:
        entry = counts.setdefault((r.country, r.region), [0, 0])
        entry[0] += 1
        entry[1] += r.quantity
    return [
        RegionCount(country=c, region=g, recipients=n, units=u)
        for (c, g), (n, u) in sorted(counts.items())
    ]


class RecallCockpit:
    def __init__(self, db: Database, recalls: RecallService) -> None:
        self.db = db
        self.recalls = recalls

    async def view(self, number: str) -> Cockpit:
        recall = await self.recalls.get(number)
        recall_id = int(number.removeprefix("R"))
        async with self.db.sessions() as session:
            rows = (
                await session.scalars(
                    select(RecallRecipient)
                    .where(RecallRecipient.recall_id == recall_id)
                    .order_by(RecallRecipient.id)
                )
            ).all()
            boxes = (
                await session.execute(
                    select(
                        RecallUnit.container,
                        RecallUnit.outer_container,
                        Shipment.number,
                        func.count(),
                    )
                    .outerjoin(Shipment, Shipment.id == RecallUnit.shipment_id)
                    .where(RecallUnit.recall_id == recall_id, RecallUnit.container.is_not(None))
                    .group_by(RecallUnit.container, RecallUnit.outer_container, Shipment.number)
                    .order_by(func.count().desc(), RecallUnit.container)
                )
            ).all()
        recipients = [recipient_out(r) for r in rows]
        containers = [
            ContainerImpact(sscc=c or "", outer_container=o, units=int(n), shipment=s)
            for c, o, s, n in boxes
        ]
        return Cockpit(
            recall=recall,
            recipients=recipients,
            containers=containers[:MAX_CONTAINERS],
            container_count=len({c.sscc for c in containers}),
            by_region=regions_of(recipients),
        )


def cockpit_for(recall_service: NamedDependency[RecallService]) -> RecallCockpit:
    """The cockpit over the app's own recall service (a dependency of the request)."""
    return RecallCockpit(recall_service.db, recall_service)
