"""The packing plan's refill (pure): a case recorded with a unit that was then diverted gets
the packer's next unit, and the records say so."""

from __future__ import annotations

from edge.checkpoint.record import Station
from edge.checkpoint.roles.factory import role_names
from edge.checkpoint.roles.packing_plan import Packer, Plan
from edge.checkpoint.roles.packing_store import Container, PackingSnapshot
from protocols.config.roles import ROLES, PackingConfig
from protocols.events import UnitPacked, UnitUnpacked
from protocols.parts import ContainerRef, UnitRef

STATION = Station(device_id="edge-t", site="plant-t", line="line-t", checkpoint="packing")
DI = "09506000134352"
CASE_1, CASE_2, CASE_3, PALLET = (
    "353912340000000017",
    "353912340000000024",
    "353912340000000031",
    "353912340000000048",
)


def unit(n: int) -> UnitRef:
    return UnitRef(di=DI, serial=f"S{n}")


def packer(*, pallets: bool = False, open_case: Container | None = None) -> Packer:
    config = PackingConfig(
        case_size=2, sscc_source="generated", cases_per_pallet=4 if pallets else None
    )
    snapshot = PackingSnapshot(
        open_case=open_case, open_pallet=None, repack=frozenset(), sscc_counter=10
    )
    return Packer(config, station=STATION, company_prefix="5391234", snapshot=snapshot)


def closed(sscc: str, *serials: int, short: bool = False) -> Container:
    members: list[UnitRef | ContainerRef] = [unit(n) for n in serials]
    return Container(
        sscc=sscc,
        level="case",
        parent=PALLET,
        members=members,
        state="closed",
        recorded=len(members),
        short=short,
    )


def diverted(p: Packer, plan: Plan, case: Container, n: int) -> None:
    removal = p.take_out(plan, case, f"{DI}/S/S{n}")
    assert removal is not None and removal.recorded


def records(plan: Plan) -> list[tuple[str, str, list[str | None]]]:
    found: list[tuple[str, str, list[str | None]]] = []
    for event in plan.events:
        assert isinstance(event, UnitPacked | UnitUnpacked)
        children = [c.serial for c in event.children if isinstance(c, UnitRef)]
        found.append((event.kind, event.container, children))
    return found


def test_a_case_with_nothing_after_it_is_open_again() -> None:
    p = packer(pallets=True)
    plan = p.plan()
    case = closed(CASE_1, 1, 2)
    diverted(p, plan, case, 2)
    assert p.refill(plan, [case], gap="") == []
    assert plan.case is case and case.state == "open" and case.recorded == 1
    assert plan.events == []
    # The next unit fills it: only that unit is recorded, and not onto the pallet again.
    p.add_unit(plan, unit(3))
    assert records(plan) == [("unit.packed", CASE_1, ["S3"])]
    packed = plan.events[0]
    assert isinstance(packed, UnitPacked) and packed.parent_container is None
    assert plan.pallet is None and plan.case is None
    assert (case.state, case.recorded, case.members) == ("closed", 2, [unit(1), unit(3)])


def test_the_open_case_gives_its_first_unit() -> None:
    open_case = Container(sscc=CASE_2, level="case", members=[unit(3)])
    p = packer(open_case=open_case)
    plan = p.plan()
    case = closed(CASE_1, 1, 2)
    diverted(p, plan, case, 2)
    assert plan.case is not None
    p.refill(plan, [case, plan.case], gap="")
    # Unit 3 was in no record yet: it is recorded into case 1, nothing out of case 2.
    assert records(plan) == [("unit.packed", CASE_1, ["S3"])]
    assert plan.case is not None and plan.case.sscc == CASE_2 and plan.case.members == []
    assert plan.removed == [f"{DI}/S/S2"]


def test_recorded_cases_after_it_each_move_a_unit_up() -> None:
    p = packer()
    plan = p.plan()
    case_1, case_2, case_3 = closed(CASE_1, 1, 2), closed(CASE_2, 3, 4), closed(CASE_3, 5, 6)
    diverted(p, plan, case_1, 1)
    p.refill(plan, [case_1, case_2, case_3], gap="")
    assert records(plan) == [
        ("unit.unpacked", CASE_2, ["S3"]),
        ("unit.packed", CASE_1, ["S3"]),
        ("unit.unpacked", CASE_3, ["S5"]),
        ("unit.packed", CASE_2, ["S5"]),
    ]
    reasons = [e.reason.code for e in plan.events if isinstance(e, UnitUnpacked) and e.reason]
    assert reasons == ["case_refilled", "case_refilled"]
    assert plan.case is case_3 and case_3.members == [unit(6)]
    assert [c.members for c in (case_1, case_2)] == [[unit(2), unit(3)], [unit(4), unit(5)]]


def test_a_short_case_keeps_its_gap() -> None:
    p = packer()
    plan = p.plan()
    case_1, case_2 = closed(CASE_1, 1, short=True), closed(CASE_2, 3, 4)
    diverted(p, plan, case_1, 1)
    p.refill(plan, [case_1, case_2], gap="")
    assert plan.events == [] and plan.case is None
    assert case_1.state == "closed" and case_2.members == [unit(3), unit(4)]


def test_an_empty_open_case_behind_is_given_up() -> None:
    open_case = Container(sscc=CASE_2, level="case")
    p = packer(open_case=open_case)
    plan = p.plan()
    case = closed(CASE_1, 1, 2)
    diverted(p, plan, case, 1)
    assert plan.case is not None
    assert p.refill(plan, [case, plan.case], gap="") == [CASE_2]
    assert plan.case is case and plan.dropped == [CASE_2]
    assert CASE_2 not in [c.sscc for c in plan.step().containers]


def test_every_configured_role_is_built_by_the_agent() -> None:
    assert role_names() == frozenset(ROLES)
