"""Returns: after the shipment, the hospital sends one kit back under an RMA (a complaint
about its pouch). Scanned at the returns bench, it is received (`unit.received`) and held,
whatever it is."""

from __future__ import annotations

import asyncio

from edge.checkpoint.roles.returns_store import authorisation, set_authorisation
from edge.sim.units import GS
from protocols.events import UnitReceived
from protocols.parts import UnitRef
from tracegate.demo.api import unit_path
from tracegate.demo.errors import DemoError
from tracegate.demo.seed import CUSTOMERS
from tracegate.demo.stations.base import StationCheck, StationDriver

RMA = "RMA-DEMO-0001"
HANDHELD = "handheld"
UNIT_AIM = "]d2"


class ReturnsDriver(StationDriver):
    role = "returns"

    async def after_line(self) -> None:
        cases = self.context.facts.get("cases") or {}
        if not self.context.facts.get("shipment") or not cases:
            self.run.notes.add("nothing shipped: nothing comes back")
            return
        # The last kit of the first case comes back.
        first_case = next(iter(cases.values()))
        unit = [c for c in first_case if isinstance(c, UnitRef)][-1]
        assert unit.serial is not None
        plant = self.run.plant
        assert plant is not None
        customer = CUSTOMERS[0]
        chosen = authorisation(
            rma=RMA,
            recall=None,
            returned_by=customer["name"],
            country=customer["country"],
            address_lines=[customer["street"], f"{customer['postal_code']} {customer['city']}"],
            reason="Complaint: pouch seal open on arrival",
            units=[f"{unit.di}:{unit.serial}"],
        )
        await set_authorisation(plant.config.checkpoint(self.checkpoint), chosen)
        # The running agent picks an authorisation up within 0.2 s.
        await asyncio.sleep(0.6)
        text = self._udi_text(unit)
        await self.run.station(self.checkpoint).scanners[HANDHELD].emit(text, symbology_id=UNIT_AIM)
        self.context.facts["returned"] = (unit.di, unit.serial)
        self.run.notes.add(f"kit {unit.serial} came back under {RMA}: scanned at the returns bench")
        # Held at once, recorded after the bench's read window: wait for the record.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15.0
        while not any(
            isinstance(e, UnitReceived) for e in await self.run.cloud_events_of(self.checkpoint)
        ):
            if loop.time() > deadline:
                raise DemoError(f"the returns bench did not record kit {unit.serial}")
            await asyncio.sleep(0.2)

    def _udi_text(self, unit: UnitRef) -> str:
        """The kit's code as this bench's handheld sends it: it cannot send GS and is set to
        send its configured substitute instead."""
        plan = self.run.plan
        plant = self.run.plant
        assert plan is not None and plant is not None
        line = plan.line_for(plan.stages[0].checkpoint)
        text = next(u.udi.text for u in line.units() if u.udi.serial == unit.serial)
        scanner = next(s for s in plant.config.checkpoint(self.checkpoint).scanners)
        if scanner.gs_substitutes:
            text = text.replace(GS, scanner.gs_substitutes[0])
        return text

    async def checks(self) -> list[StationCheck]:
        returned = self.context.facts.get("returned")
        if returned is None:
            return [StationCheck(name="return", ok=False, detail="no kit was returned")]
        received = [
            e
            for e in self.run.recorded_events(self.checkpoint)
            if isinstance(e, UnitReceived)
            and any(isinstance(i, UnitRef) and (i.di, i.serial) == returned for i in e.items)
        ]
        api = self.run.api
        assert api is not None
        history = await api.get(f"/api/units/{unit_path(*returned)}")
        status = history["unit"]["status"]
        ok = len(received) == 1 and received[0].rma == RMA
        return [
            StationCheck(
                name="return",
                ok=ok,
                detail=f"kit {returned[1]} received under {RMA}"
                f" ({len(received)} unit.received); cloud status {status}",
            )
        ]
