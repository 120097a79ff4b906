"""A plant's history told twice: as device events (ingested for real) and as a plain model the
tests compute their expected answers from, without the database.

Five levels: supplier lots -> a split and a merged lot -> tube sets -> catheters -> kits.
Kits are packed into cases on a pallet; one kit is unpacked and repacked into another case;
two partial shipments go to two recipients; one kit stays in stock, one in process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from cloud_helpers import Device, sscc

from protocols.events import ContainerShipped, Event, UnitInspected
from protocols.parts import ContainerRef, LotQuantity, ParameterSample, ParsedUdi, Party, UnitRef

TUBING = "09506000134369"
RESIN = "09506000134376"
CONNECTOR = "09506000134383"
FILM = "09506000134390"
TUBESET = "09506000134406"
CATHETER = "09506000134413"
KIT = "09506000134352"

Node = tuple[str, str, str]
"""("unit", di, serial) or ("lot", di, lot)."""

CASE1, CASE2, CASE3, CASE4, PALLET1 = (sscc(n) for n in (11, 12, 13, 14, 90))
HOSPITAL_A = Party(
    name="St. Elsewhere Hospital",
    address_lines=("1 Main St", "Boston MA 02118"),
    country_code="US",
    region="MA",
)
CLINIC_B = Party(
    name="Clinic B",
    address_lines=("9 Ocean Ave", "Santa Monica CA 90401"),
    country_code="US",
    region="CA",
)
SEAL_TEMPS = {"CA1": 182.0, "CA2": 186.5, "CA3": 187.0, "CA4": 181.0, "CA5": 183.0, "CA6": 184.0}
PRODUCTION_DATES = {
    "KIT1": dt.date(2026, 3, 1),
    "KIT2": dt.date(2026, 3, 1),
    "KIT3": dt.date(2026, 3, 2),
    "KIT4": dt.date(2026, 3, 2),
    "KIT5": dt.date(2026, 3, 2),
}


def lot(di: str, number: str) -> Node:
    return ("lot", di, number)


def unit(di: str, serial: str) -> Node:
    return ("unit", di, serial)


UNIT_LOTS = {TUBESET: "T1", CATHETER: "C1", KIT: "K1"}


def ref(node: Node) -> UnitRef:
    return UnitRef(di=node[1], serial=node[2], lot=UNIT_LOTS[node[1]])


@dataclass
class Model:
    """What happened, in plain Python: the tests' independent answers come from here."""

    edges: set[tuple[Node, Node]] = field(default_factory=set)
    """(parent, child): child went into parent."""
    container_of: dict[Node, str] = field(default_factory=dict)
    """Unit -> innermost container it sits in now."""
    parent_container: dict[str, str] = field(default_factory=dict)
    shipped: dict[str, tuple[str, Party, str]] = field(default_factory=dict)
    """Container -> (shipment number, recipient, outermost container shipped)."""
    in_process: set[Node] = field(default_factory=set)

    def ancestors(self, node: Node) -> set[Node]:
        found: set[Node] = set()
        todo = [node]
        while todo:
            current = todo.pop()
            for parent, child in self.edges:
                if parent == current and child not in found:
                    found.add(child)
                    todo.append(child)
        return found

    def descendants(self, node: Node) -> set[Node]:
        found: set[Node] = set()
        todo = [node]
        while todo:
            current = todo.pop()
            for parent, child in self.edges:
                if child == current and parent not in found:
                    found.add(parent)
                    todo.append(parent)
        return found

    def depths(self, node: Node) -> dict[Node, int]:
        """Levels below `node` of everything that went into it (shortest path)."""
        depth = {node: 0}
        frontier = [node]
        while frontier:
            following = []
            for current in frontier:
                for parent, child in sorted(self.edges):
                    if parent == current and child not in depth:
                        depth[child] = depth[current] + 1
                        following.append(child)
            frontier = following
        del depth[node]
        return depth

    def lots(self) -> set[Node]:
        return {n for edge in self.edges for n in edge if n[0] == "lot"}

    def units(self) -> set[Node]:
        return {n for edge in self.edges for n in edge if n[0] == "unit"}

    def consumed(self, node: Node) -> bool:
        return any(child == node for _, child in self.edges)

    def placement(self, node: Node) -> tuple[str | None, str | None, str | None]:
        """(container, outer container, shipment) of a unit now."""
        container = self.container_of.get(node)
        if container is None:
            return None, None, None
        outer = self.parent_container.get(container)
        shipment = self.shipped.get(outer or container) or self.shipped.get(container)
        return container, outer, shipment[0] if shipment else None

    def stage(self, node: Node) -> str:
        if self.consumed(node):
            return "consumed"
        if node in self.in_process or node[1] != KIT:
            return "in_process"
        return "shipped" if self.placement(node)[2] else "in_stock"

    def end_units(self, seeds: Iterable[Node]) -> set[Node]:
        """Seeds and everything made from them that did not go into another unit."""
        hit: set[Node] = set()
        for seed in seeds:
            hit |= {seed} | self.descendants(seed)
        return {n for n in hit if n[0] == "unit" and not self.consumed(n)}


@dataclass
class Story:
    """The events to ingest, per device, in the order they happened."""

    model: Model = field(default_factory=Model)
    events: list[tuple[Device, bytes, Event]] = field(default_factory=list)

    def add(self, device: Device, sealed: tuple[Event, bytes]) -> Event:
        event, data = sealed
        self.events.append((device, data, event))
        return event


def tell(plant: dict[str, Device]) -> Story:
    story = Story()
    m = story.model
    receiving, assembly = plant["receiving"], plant["assembly"]
    sealing, packing, shipping = plant["sealing"], plant["packing"], plant["shipping"]

    for di, number in (
        (TUBING, "TUBE-A"),
        (RESIN, "RESIN-1"),
        (RESIN, "RESIN-2"),
        (CONNECTOR, "CONN-1"),
        (FILM, "FILM-1"),
    ):
        story.add(receiving, receiving.lot_received(number, di=di))

    def qty(di: str, number: str, amount: float) -> LotQuantity:
        return LotQuantity(di=di, lot=number, quantity=amount, unit_of_measure="EA")

    story.add(
        receiving,
        receiving.transformed(
            (qty(TUBING, "TUBE-A", 1000),),
            (qty(TUBING, "TUBE-A1", 600), qty(TUBING, "TUBE-A2", 400)),
        ),
    )
    m.edges |= {
        (lot(TUBING, "TUBE-A1"), lot(TUBING, "TUBE-A")),
        (lot(TUBING, "TUBE-A2"), lot(TUBING, "TUBE-A")),
    }
    story.add(
        receiving,
        receiving.transformed(
            (qty(RESIN, "RESIN-1", 50), qty(RESIN, "RESIN-2", 50)), (qty(RESIN, "RESIN-M", 100),)
        ),
    )
    m.edges |= {
        (lot(RESIN, "RESIN-M"), lot(RESIN, "RESIN-1")),
        (lot(RESIN, "RESIN-M"), lot(RESIN, "RESIN-2")),
    }

    def assemble(parent: Node, parts: list[Node]) -> None:
        components: list[UnitRef | LotQuantity] = [
            ref(p) if p[0] == "unit" else qty(p[1], p[2], 1) for p in parts
        ]
        story.add(assembly, assembly.assembled(ref(parent), tuple(components)))
        m.edges |= {(parent, p) for p in parts}

    tube_a1, tube_a2 = lot(TUBING, "TUBE-A1"), lot(TUBING, "TUBE-A2")
    resin_m, conn, film = lot(RESIN, "RESIN-M"), lot(CONNECTOR, "CONN-1"), lot(FILM, "FILM-1")
    ts = {n: unit(TUBESET, f"TS{n}") for n in range(1, 7)}
    ca = {n: unit(CATHETER, f"CA{n}") for n in range(1, 7)}
    kit = {n: unit(KIT, f"KIT{n}") for n in range(1, 6)}
    for n, parts in {
        1: [tube_a1, resin_m],
        2: [tube_a1, resin_m],
        3: [tube_a2, resin_m],
        4: [tube_a2],
        5: [tube_a1],
        6: [tube_a2],
    }.items():
        assemble(ts[n], parts)
    for n, parts in {
        1: [ts[1], conn],
        2: [ts[2], conn],
        3: [ts[3]],
        4: [ts[4], conn],
        5: [ts[5]],
        6: [ts[6], conn],
    }.items():
        assemble(ca[n], parts)
    for n in range(1, 7):
        story.add(
            sealing,
            sealing.inspected(f"CA{n}", seal_temp=SEAL_TEMPS[f"CA{n}"], lot="C1", di=CATHETER),
        )
    for n, parts in {
        1: [ca[1], film],
        2: [ca[2], ca[3]],
        3: [ca[4], film],
        4: [ca[5], film],
        5: [ca[6]],
    }.items():
        assemble(kit[n], parts)
    for n in range(1, 6):
        story.add(packing, final_inspection(packing, f"KIT{n}"))
    m.in_process.add(kit[5])

    def pack(container: str, units: list[Node]) -> None:
        story.add(packing, packing.packed(container, tuple(ref(u) for u in units)))
        m.container_of.update({u: container for u in units})

    pack(CASE1, [kit[1], kit[2]])
    pack(CASE2, [kit[3]])
    story.add(
        packing,
        packing.packed(PALLET1, (ContainerRef(sscc=CASE1), ContainerRef(sscc=CASE2))),
    )
    m.parent_container.update({CASE1: PALLET1, CASE2: PALLET1})
    pack(CASE4, [kit[4]])
    story.add(packing, packing.unpacked(CASE1, (ref(kit[2]),)))
    pack(CASE3, [kit[2]])

    def ship(number: str, recipient: Party, containers: tuple[str, ...]) -> None:
        story.add(
            shipping,
            shipping.seal(
                ContainerShipped,
                shipment_id=number,
                order=f"SO-{number}",
                recipient=recipient,
                containers=containers,
            ),
        )
        for container in containers:
            m.shipped[container] = (number, recipient, container)

    ship("SHP-1", HOSPITAL_A, (PALLET1,))
    ship("SHP-2", CLINIC_B, (CASE4,))
    return story


def final_inspection(device: Device, serial: str) -> tuple[Event, bytes]:
    """A kit's last inspection, which states its production date."""
    return device.seal(
        UnitInspected,
        udi=ParsedUdi(
            issuer="GS1",
            di=KIT,
            lot="K1",
            serial=serial,
            production_date=PRODUCTION_DATES[serial],
        ),
        parameters=(
            ParameterSample(
                name="leak_rate", value=0.1, unit="ml/min", hi=0.5, age_ms=5, in_limits=True
            ),
        ),
        decision="pass",
        work_order="WO-K1",
        ruleset_version="r1",
    )
