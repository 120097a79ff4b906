"""Packing: the units that pass go ten to a case (SSCCs generated from the site's company
prefix), the cases onto a pallet. At the end of the work order the operator closes the
short last case and the pallet (`tracegate edge close-case` / `close-pallet`, asked of the
running agent through its store)."""

from __future__ import annotations

from collections.abc import Sequence

from edge.checkpoint.roles.packing_requests import ask_packing
from edge.checkpoint.roles.packing_store import CloseCase, ClosePallet
from protocols.events import Event, UnitPacked, UnitUnpacked
from protocols.parts import ContainerRef, UnitRef
from tracegate.demo.errors import DemoError
from tracegate.demo.stations.base import StationCheck, StationDriver


class PackingDriver(StationDriver):
    role = "packing"

    async def after_line(self) -> None:
        plant = self.run.plant
        assert plant is not None
        checkpoint = plant.config.checkpoint(self.checkpoint)
        for request, what in ((CloseCase(), "case"), (ClosePallet(), "pallet")):
            answer = await ask_packing(checkpoint, request, wait_s=10.0)
            if not answer.done:
                raise DemoError(f"the agent of {self.checkpoint} did not close the {what}")
            self.run.notes.add(f"end of the work order, close the {what}: {answer.result}")
        events = await self.run.cloud_events_of(self.checkpoint)
        contents = _contents(events)
        pallets = [sscc for sscc, children in contents.items() if _holds_containers(children)]
        self.context.facts["pallets"] = pallets
        self.context.facts["cases"] = {
            sscc: children for sscc, children in contents.items() if sscc not in pallets
        }

    async def checks(self) -> list[StationCheck]:
        """Every unit that passed packing is in exactly one case, every case on a pallet."""
        plan = self.run.plan
        assert plan is not None
        line = plan.line_for(self.checkpoint)
        outcomes = self.run.station(self.checkpoint).outcomes()
        passed = sorted(
            (line.unit(i).udi.di, line.unit(i).udi.serial)
            for i, outcome in outcomes.items()
            if outcome == "pass"
        )
        contents = _contents(self.run.recorded_events(self.checkpoint))
        cases = {s: c for s, c in contents.items() if not _holds_containers(c)}
        pallets = {s: c for s, c in contents.items() if _holds_containers(c)}
        packed = sorted(
            (c.di, c.serial)
            for children in cases.values()
            for c in children
            if isinstance(c, UnitRef)
        )
        on_pallets = {
            c.sscc for kids in pallets.values() for c in kids if isinstance(c, ContainerRef)
        }
        problems = []
        if packed != passed:
            problems.append(f"{len(passed)} units passed packing, {len(packed)} are in cases")
        if set(cases) - on_pallets:
            problems.append(f"cases on no pallet: {sorted(set(cases) - on_pallets)[:3]}")
        return [
            StationCheck(
                name="cases and pallets",
                ok=not problems and bool(cases),
                detail=f"{len(packed)} units in {len(cases)} cases on {len(pallets)} pallet(s)"
                + (f"; {'; '.join(problems)}" if problems else ""),
            )
        ]


def _contents(events: Sequence[Event]) -> dict[str, list[UnitRef | ContainerRef]]:
    """Each container's children as the packing records leave them."""
    found: dict[str, list[UnitRef | ContainerRef]] = {}
    for event in events:
        if isinstance(event, UnitPacked):
            found.setdefault(event.container, []).extend(event.children)
        elif isinstance(event, UnitUnpacked):
            kept = found.get(event.container, [])
            found[event.container] = [c for c in kept if c not in event.children]
    return found


def _holds_containers(children: list[UnitRef | ContainerRef]) -> bool:
    return any(isinstance(c, ContainerRef) for c in children)
