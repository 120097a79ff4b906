"""The component lots of the demo: what goods receipt books in and assembly loads.

Two materials of the example plant go into every kit (its bill of materials): PVC tubing,
0.5 m a kit, and Luer connectors, 2 a kit. The tubing comes in two lots, so the run can
change reels mid-way and a recall of the first lot covers exactly the kits built before
the change.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.sim.materials import SimMaterials, SupplierLot
from protocols.commands import BomLine

TUBING = "05391234000108"
CONNECTOR = "05391234000207"


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoMaterials:
    tubing_first: SupplierLot
    tubing_second: SupplierLot
    connector: SupplierLot

    @classmethod
    def make(cls, *, seed: int) -> DemoMaterials:
        materials = SimMaterials(seed=seed)
        return cls(
            tubing_first=materials.lot(TUBING, quantity=500),
            tubing_second=materials.lot(TUBING, quantity=500),
            connector=materials.lot(CONNECTOR, quantity=2000),
        )

    @property
    def received(self) -> tuple[SupplierLot, ...]:
        """In the order goods receipt books them in."""
        return (self.tubing_first, self.tubing_second, self.connector)

    @property
    def first_loads(self) -> tuple[SupplierLot, ...]:
        """What the feeders hold when the line starts."""
        return (self.tubing_first, self.connector)

    @staticmethod
    def catalog() -> tuple[dict[str, str], ...]:
        """The two materials as the cloud's catalog holds them (`POST /api/materials`)."""
        return (
            {"code": "TUBE-PVC-3", "name": "PVC tubing 3 mm", "di": TUBING, "uom": "m"},
            {"code": "LUER-M", "name": "Luer connector", "di": CONNECTOR, "uom": "EA"},
        )

    @staticmethod
    def bom() -> tuple[BomLine, ...]:
        return (
            BomLine(di=TUBING, quantity_per_unit=0.5, unit_of_measure="m"),
            BomLine(di=CONNECTOR, quantity_per_unit=2, unit_of_measure="EA"),
        )
