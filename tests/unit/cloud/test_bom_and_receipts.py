"""Pure rules of a work order's bill of materials and of a lot received in several cases."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta

import pytest

from cloud.domain.errors import InvalidFieldError
from cloud.domain.genealogy import things
from cloud.domain.genealogy.things import Sightings, receipt_state
from cloud.domain.production import bom
from cloud.domain.production.bom import check_bom_shape
from cloud.domain.production.schemas import BomLine

PRODUCT = "09506000134352"
TUBING = BomLine(di="05391234000108", quantity_per_unit=0.5, unit_of_measure="m")
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_doctests() -> None:
    assert doctest.testmod(bom).failed == 0
    assert doctest.testmod(things).failed == 0


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            [TUBING, BomLine(di="05391234000109", quantity_per_unit=1)],
            "bom[1].di: Invalid GTIN check digit for '05391234000109': Expected 8, got 9.",
        ),
        (
            [BomLine(di=PRODUCT, quantity_per_unit=1)],
            f"bom[0].di: expected a component, got the work order's own product {PRODUCT}",
        ),
        (
            [TUBING, TUBING],
            f"bom[1].di: component {TUBING.di} is already listed as bom[0]",
        ),
    ],
)
def test_a_bad_line_is_named(lines: list[BomLine], message: str) -> None:
    with pytest.raises(InvalidFieldError) as caught:
        check_bom_shape(lines, product_di=PRODUCT)
    assert str(caught.value) == message
    assert caught.value.field == message.split(":")[0]


def test_a_good_bom_passes_and_survives_storage_and_the_wire() -> None:
    lines = [TUBING, BomLine(di="A99912345", quantity_per_unit=2)]
    check_bom_shape(lines, product_di=PRODUCT)
    assert bom.from_stored(bom.stored(lines)) == lines
    wire = bom.on_the_wire(bom.stored(lines))
    assert [(w.di, w.quantity_per_unit, w.unit_of_measure) for w in wire] == [
        (TUBING.di, 0.5, "m"),
        ("A99912345", 2.0, "EA"),
    ]


@pytest.mark.parametrize(
    ("known", "received", "after"),
    [
        (None, "quarantined", "quarantined"),
        ("", "accepted", "accepted"),
        ("accepted", "quarantined", "accepted"),
        ("quarantined", "accepted", "quarantined"),
        ("rejected", "accepted", "rejected"),
        ("accepted", "rejected", "rejected"),
    ],
)
def test_a_receipt_changes_a_known_state_only_to_rejected(
    known: str | None, received: str, after: str
) -> None:
    assert receipt_state(known, received) == after


def _case(s: Sightings, minutes: int, quantity: float, state: str) -> None:
    s.receipt(
        "05391234000108",
        "TUB-1",
        T0 + timedelta(minutes=minutes),
        quantity=quantity,
        uom="m",
        supplier="Tubecorp",
        inspection_state=state,
        expiry=None,
    )


def test_cases_of_one_batch_add_up_keeping_first_and_last_times() -> None:
    s = Sightings()
    s.lot("05391234000108", "TUB-1", T0 - timedelta(minutes=1))  # seen at assembly first
    _case(s, 5, 100, "quarantined")
    _case(s, 1, 50, "accepted")
    _case(s, 9, 25, "quarantined")
    row = s.lots[("05391234000108", "TUB-1")]
    assert (row["quantity"], row["received_at"], row["last_received_at"]) == (
        175,
        T0 + timedelta(minutes=1),
        T0 + timedelta(minutes=9),
    )
    assert row["inspection_state"] == "quarantined"
    assert row["first_seen_at"] == T0 - timedelta(minutes=1)
    _case(s, 12, 10, "rejected")
    assert (s.lots[("05391234000108", "TUB-1")]["inspection_state"], row["quantity"]) == (
        "rejected",
        185,
    )
