"""The pure judgements of the goods-receipt and assembly roles: supplier labels, and which
loads are refused and why (exact messages)."""

from __future__ import annotations

import datetime as dt

import pytest

from edge.checkpoint.facts import HoldMatch
from edge.checkpoint.roles.assembly import LoadFacts, load_reasons
from edge.checkpoint.roles.assembly_store import LotStatus
from edge.checkpoint.roles.goods_receipt import label_reasons
from edge.checkpoint.roles.goods_receipt_label import read_label
from protocols.commands import BomLine, WorkOrder
from protocols.config.roles import MaterialConfig
from protocols.config.rules import RulesConfig
from protocols.ids import uuid7

TUBING = "05391234000108"
TODAY = dt.date(2026, 6, 1)
LABEL = f"01{TUBING}17270101" + "10TUB-1\x1d3025"
ORDER = WorkOrder(
    command_id=uuid7(),
    issued_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
    issued_by="test",
    work_order="WO-1",
    products=("09506000134352",),
    quantity=10,
    bom=(BomLine(di=TUBING, quantity_per_unit=0.5, unit_of_measure="m"),),
)
RELEASED = LotStatus(received="quarantined", expiry=None, inspection="accepted")


def codes(facts: LoadFacts) -> list[str]:
    return [reason.code for reason in load_reasons(facts)]


def test_a_released_lot_of_the_bom_may_be_loaded() -> None:
    facts = LoadFacts(label=read_label(LABEL), order=ORDER, status=RELEASED, today=TODAY)
    assert load_reasons(facts) == ()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (LotStatus(received="quarantined", expiry=None, inspection=None), "lot_quarantined"),
        (LotStatus(received="accepted", expiry=None, inspection="rejected"), "lot_rejected"),
        (LotStatus(received=None, expiry=None, inspection=None), "lot_not_received"),
    ],
)
def test_the_verdict_wins_over_the_receipt(status: LotStatus, expected: str) -> None:
    facts = LoadFacts(label=read_label(LABEL), order=ORDER, status=status, today=TODAY)
    assert codes(facts) == [expected]


def test_every_reason_is_given_with_its_text() -> None:
    label = read_label(f"01{TUBING}17260501" + "10OLD-1")
    facts = LoadFacts(
        label=label,
        order=ORDER,
        status=LotStatus(received="quarantined", expiry=None, inspection=None),
        hold_matches=(HoldMatch(hold_id="H-7", scope="lot", reason="supplier notice"),),
        today=TODAY,
    )
    assert [(r.code, r.text) for r in load_reasons(facts)] == [
        ("lot_quarantined", f"lot {TUBING}/OLD-1 is in incoming quarantine, not released."),
        ("expired", f"lot {TUBING}/OLD-1 expired on 2026-05-01."),
        ("on_hold_list", f"lot {TUBING}/OLD-1 is on hold H-7: supplier notice"),
    ]


def test_a_component_outside_the_bom_or_without_an_order() -> None:
    other = read_label("0105391234000207" + "10CON-1")
    facts = LoadFacts(label=other, order=ORDER, status=RELEASED, today=TODAY)
    assert [(r.code, r.text) for r in load_reasons(facts)] == [
        (
            "not_in_bom",
            "GTIN 05391234000207 is not in the bill of materials of work order WO-1"
            f" (components: {TUBING}).",
        )
    ]
    no_order = LoadFacts(label=read_label(LABEL), order=None, status=RELEASED, today=TODAY)
    assert codes(no_order) == ["no_work_order"]


def test_labels_that_are_not_lots() -> None:
    serial = read_label(f"01{TUBING}10TUB-1\x1d21SN9")
    assert codes(LoadFacts(label=serial, order=ORDER, status=RELEASED, today=TODAY)) == [
        "component_without_unit"
    ]
    no_lot = read_label(f"01{TUBING}3025")
    assert codes(LoadFacts(label=no_lot, order=ORDER, status=None, today=TODAY)) == ["no_lot"]
    assert no_lot.problems == (f"No lot on the label '01{TUBING}3025': Expected GS1 AI (10).",)
    bad = read_label("0105391234000109" + "10X")
    assert bad.problems == ("Invalid GTIN check digit for '05391234000109': Expected 8, got 9.",)


def test_goods_receipt_label_reasons() -> None:
    rules = RulesConfig.model_validate({"expiry": {"min_shelf_life_days": 30}})
    tubing = MaterialConfig(di=TUBING, name="Tubing", supplier="Tubecorp", unit_of_measure="m")
    good = read_label(LABEL)
    assert label_reasons(good, tubing, rules=rules, today=TODAY, known=[TUBING]) == ()
    uncounted = read_label(f"01{TUBING}17270101" + "10TUB-2")
    assert [
        (r.code, r.text)
        for r in label_reasons(uncounted, tubing, rules=rules, today=TODAY, known=[TUBING])
    ] == [
        (
            "no_quantity",
            "The label of lot TUB-2 has no count (AI 30 or 37) and Tubing has no default_quantity.",
        )
    ]
    short = read_label(f"01{TUBING}17260615" + "10TUB-3\x1d3710")
    assert [
        r.code for r in label_reasons(short, tubing, rules=rules, today=TODAY, known=[TUBING])
    ] == ["shelf_life_short"]
    assert short.quantity == 10
    unknown = read_label("0105391234000504" + "10X\x1d301")
    assert [
        (r.code, r.text)
        for r in label_reasons(unknown, None, rules=rules, today=TODAY, known=[TUBING])
    ] == [
        (
            "unknown_material",
            f"GTIN 05391234000504 is not a material of this bench (materials: {TUBING}).",
        )
    ]
