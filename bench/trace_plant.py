"""The synthetic plant `bench/trace.py` seeds: a five-level genealogy, rows made on the fly.

Every row is a pure function of the scale and a few indexes, so each table is streamed
into PostgreSQL by its own generator (COPY) without holding the plant in memory, and the
rows of different tables agree (an assembly event's id is the same wherever it appears).

Levels: 20 tubing supplier lots, each split into 10 component lots; 20 resin supplier
lots merged pairwise into 10 lots; tube sets (a tubing component lot + a merged resin
lot); catheters (a tube set + connector lot CONN-A or CONN-B); kits (two catheters + a
film lot). Kits: 10 to a case, 40 cases to a pallet; 70 % of the pallets shipped whole,
the next 10 % partly (two cases each); 0.5 % of the packed kits unpacked and repacked
into a rework case; the last 5 % of the kits not packed yet.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from protocols.sscc import sscc_check_digit

SITE, LINE = "plant-b", "line-1"
KIT_DI, CATHETER_DI, TUBESET_DI = "09506000134352", "09506000134413", "09506000134406"
TUBING_DI, RESIN_DI, CONNECTOR_DI, FILM_DI = (
    "09506000134369",
    "09506000134376",
    "09506000134383",
    "09506000134390",
)
START = dt.datetime(2026, 1, 5, 6, 0, tzinfo=dt.UTC)
KITS_PER_CASE, CASES_PER_PALLET = 10, 40
INSPECTION_GAP = dt.timedelta(seconds=1)
EXCURSION_DAY = 30
"""Catheters sealed on this day of their window are sometimes too hot (the excursion)."""

LEVEL_CHECKPOINTS = {
    "tubeset": ("extrusion", "cutting", "tube-check"),
    "catheter": ("cath-assembly", "sealing", "leak-test", "cath-final"),
    "kit": ("kit-assembly", "sterile-check", "kit-final"),
}
ASSEMBLY = {"tubeset": "tube-assembly", "catheter": "cath-build", "kit": "kit-build"}
LOGISTICS = ("packing", "shipping")
REGIONS = ("MA", "NY", "CA", "TX", "IL", "FL", "WA", "OH", "PA", "GA")


def checkpoint_codes() -> list[str]:
    codes = [c for level in LEVEL_CHECKPOINTS.values() for c in level]
    return codes + list(ASSEMBLY.values()) + list(LOGISTICS)


_GOLDEN = 0x9E3779B97F4A7C15_F39CC0605CEDC835  # odd: a bijection mod 2**74
_RAND_MASK = (1 << 74) - 1


def event_uuid(at: dt.datetime, number: int) -> uuid.UUID:
    """A UUIDv7 for time `at`, its 74 random bits a bijective scramble of the event's number
    (unique, cheap, and the same wherever the row refers to it)."""
    ms = int(at.timestamp() * 1000)
    rand = (number * _GOLDEN) & _RAND_MASK
    value = (ms << 80) | (7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return uuid.UUID(int=value)


def sscc(serial: int) -> str:
    body = f"0539123{serial:010d}"
    return body + str(sscc_check_digit(body))


LotRow = tuple[str, str, str, float, tuple[str, ...]]
"""(code, di, supplier, quantity, inputs): inputs are the lots it was made from."""


@functools.cache
def lot_rows() -> tuple[LotRow, ...]:
    """The lots in id order (the same at every scale)."""
    rows: list[LotRow] = []
    for s in range(20):
        rows.append((f"TUBE-S{s:02d}", TUBING_DI, "Tubing Ltd", 10_000.0, ()))
    for s in range(20):
        for c in range(10):
            rows.append((f"TUBE-S{s:02d}-{c}", TUBING_DI, "", 1_000.0, (f"TUBE-S{s:02d}",)))
    for s in range(20):
        rows.append((f"RESIN-S{s:02d}", RESIN_DI, "Polymer AG", 500.0, ()))
    for m in range(10):
        inputs = (f"RESIN-S{2 * m:02d}", f"RESIN-S{2 * m + 1:02d}")
        rows.append((f"RESIN-M{m:02d}", RESIN_DI, "", 1_000.0, inputs))
    for name in ("CONN-A", "CONN-B"):
        rows.append((name, CONNECTOR_DI, "Connect Inc", 1e6, ()))
    for f in range(20):
        rows.append((f"FILM-{f:02d}", FILM_DI, "Film GmbH", 50_000.0, ()))
    return tuple(rows)


@functools.cache
def lot_ancestors(code: str) -> tuple[str, ...]:
    inputs = {row[0]: row[4] for row in lot_rows()}
    found: list[str] = []
    todo = [code]
    while todo:
        for parent in inputs[todo.pop()]:
            found.append(parent)
            todo.append(parent)
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class Plant:
    kits: int
    events: int
    lots: dict[str, tuple[int, str, str]] = field(default_factory=dict, compare=False)
    """lot code -> (lot id, DI, supplier)."""

    @property
    def catheters(self) -> int:
        return 2 * self.kits

    @property
    def tubesets(self) -> int:
        return self.catheters

    @property
    def units(self) -> int:
        return self.kits + self.catheters + self.tubesets

    @property
    def cases(self) -> int:
        return -(-self.packed_kits // KITS_PER_CASE)

    @property
    def pallets(self) -> int:
        return -(-self.cases // CASES_PER_PALLET)

    @property
    def packed_kits(self) -> int:
        return self.kits * 95 // 100

    @property
    def inspections(self) -> int:
        """Inspections per unit, so that the events add up to `events`."""
        return max(1, (self.events - self.units) // self.units)

    # --- ids -------------------------------------------------------------------------
    def unit_id(self, level: str, index: int) -> int:
        base = {"kit": 0, "catheter": self.kits, "tubeset": self.kits + self.catheters}[level]
        return base + index + 1

    def level_size(self, level: str) -> int:
        return {"kit": self.kits, "catheter": self.catheters, "tubeset": self.tubesets}[level]

    def serial(self, level: str, index: int) -> str:
        return f"{level[0].upper()}{index:08d}"

    def unit_lot(self, level: str, index: int) -> str:
        return f"{level[0].upper()}L{index // 1000:05d}"

    def di(self, level: str) -> str:
        return {"kit": KIT_DI, "catheter": CATHETER_DI, "tubeset": TUBESET_DI}[level]

    # --- time ------------------------------------------------------------------------
    def spacing(self, level: str) -> dt.timedelta:
        """Units of a level come at least `inspections + 1` seconds apart, over >= 60 days."""
        size = self.level_size(level)
        span = max(dt.timedelta(days=60), INSPECTION_GAP * (self.inspections + 2) * size)
        return span / size

    def made_at(self, level: str, index: int) -> dt.datetime:
        offset = {"tubeset": dt.timedelta(0), "catheter": dt.timedelta(days=1)}.get(
            level, dt.timedelta(days=2)
        )
        if level == "kit":
            return self.made_at("catheter", 2 * index + 1) + dt.timedelta(days=1)
        return START + offset + self.spacing(level) * index

    def event_number(self, unit_id: int, slot: int) -> int:
        return unit_id * (self.inspections + 1) + slot

    def logistics_number(self, n: int) -> int:
        return (self.units + 1) * (self.inspections + 1) + n

    # --- genealogy -------------------------------------------------------------------
    def tubing_lot(self, tubeset: int) -> str:
        component = tubeset * 200 // self.tubesets
        return f"TUBE-S{component // 10:02d}-{component % 10}"

    def resin_lot(self, tubeset: int) -> str:
        return f"RESIN-M{tubeset * 10 // self.tubesets:02d}"

    def connector_lot(self, catheter: int) -> str:
        return "CONN-A" if catheter < self.catheters // 2 else "CONN-B"

    def film_lot(self, kit: int) -> str:
        return f"FILM-{kit * 20 // self.kits:02d}"

    def lot_rows(self) -> tuple[LotRow, ...]:
        return lot_rows()

    def parts(self, level: str, index: int) -> tuple[list[tuple[str, int]], list[str]]:
        """(component units as (level, index), component lots) of a unit."""
        if level == "tubeset":
            return [], [self.tubing_lot(index), self.resin_lot(index)]
        if level == "catheter":
            return [("tubeset", index)], [self.connector_lot(index)]
        return [("catheter", 2 * index), ("catheter", 2 * index + 1)], [self.film_lot(index)]

    def lot_ancestors(self, code: str) -> tuple[str, ...]:
        return lot_ancestors(code)

    def ancestors(self, level: str, index: int) -> tuple[set[int], set[str]]:
        """(ancestor unit ids, ancestor lot codes) of a unit, at every depth."""
        units: set[int] = set()
        lots: set[str] = set()
        todo = [(level, index)]
        while todo:
            current = todo.pop()
            child_units, child_lots = self.parts(*current)
            for child in child_units:
                units.add(self.unit_id(*child))
                todo.append(child)
            for code in child_lots:
                lots.add(code)
                lots.update(self.lot_ancestors(code))
        return units, lots

    # --- logistics -------------------------------------------------------------------
    def case_of(self, kit: int) -> int | None:
        return kit // KITS_PER_CASE if kit < self.packed_kits else None

    def pallet_of(self, case: int) -> int:
        return case // CASES_PER_PALLET

    def repacked(self, kit: int) -> bool:
        """0.5 % of the packed kits were unpacked and put into a rework case."""
        return kit < self.packed_kits and kit % 200 == 7

    def pallet_shipped(self, pallet: int) -> bool:
        return pallet < self.pallets * 7 // 10

    def case_shipped_alone(self, case: int) -> bool:
        pallet = self.pallet_of(case)
        partial = self.pallets * 7 // 10 <= pallet < self.pallets * 8 // 10
        return partial and case % CASES_PER_PALLET < 2

    def kit_status(self, kit: int) -> str:
        case = self.case_of(kit)
        if case is None:
            return "in_process"
        if self.repacked(kit):
            return "in_stock"
        if self.pallet_shipped(self.pallet_of(case)) or self.case_shipped_alone(case):
            return "shipped"
        return "in_stock"

    def excursion(self, catheter: int) -> bool:
        day = (self.made_at("catheter", catheter) - self.made_at("catheter", 0)).days
        return day == EXCURSION_DAY and catheter % 97 == 3


def rows_counted(rows: Iterator[tuple[Any, ...]], counter: list[int]) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        counter[0] += 1
        yield row
