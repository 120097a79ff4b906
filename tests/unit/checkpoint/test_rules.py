"""Every pass/hold rule, without a PLC: Facts in, reasons out."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from edge.checkpoint.facts import Facts, HoldMatch, Identification, Parameter
from edge.checkpoint.identify import identify
from edge.checkpoint.rules import RULES, evaluate
from edge.reads import CodeRead
from protocols.commands import WorkOrder
from protocols.config.rules import RulesConfig
from protocols.udi import Udi

GTIN = "09506000134352"
GOOD = f"01{GTIN}17271231" + "10LOT42\x1d21SN0001"
TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def read(text: str, *, source: str = "scanner-1", problem: str | None = None) -> CodeRead:
    return CodeRead(
        text=text,
        symbology_id="]d2",
        source_kind="scanner",
        source_name=source,
        read_at=NOW,
        monotonic_s=0.0,
        problem=problem,
    )


def order(**overrides: object) -> WorkOrder:
    fields: dict[str, object] = {
        "command_id": uuid.UUID("01900000-0000-7000-8000-000000000000"),
        "issued_at": NOW,
        "issued_by": "planner",
        "work_order": "WO-1",
        "products": (GTIN,),
        "lot": "LOT42",
        "expiry": date(2027, 12, 31),
        "quantity": 100,
    }
    fields.update(overrides)
    return WorkOrder(**fields)  # type: ignore[arg-type]


def facts(*texts: str, **overrides: object) -> Facts:
    reads = tuple(read(t) for t in texts)
    fields: dict[str, object] = {
        "reads": reads,
        "identification": identify(reads),
        "work_order": order(),
        "today": TODAY,
    }
    fields.update(overrides)
    return Facts(**fields)  # type: ignore[arg-type]


def codes(f: Facts, rules: RulesConfig | None = None) -> list[str]:
    return [r.code for r in evaluate(f, rules or RulesConfig())]


def texts(f: Facts, rules: RulesConfig | None = None) -> list[str]:
    return [r.text for r in evaluate(f, rules or RulesConfig())]


def test_every_config_rule_has_a_function() -> None:
    assert list(RULES) == list(RulesConfig.model_fields)


def test_a_good_unit_passes() -> None:
    assert evaluate(facts(GOOD), RulesConfig()) == ()


def test_no_read() -> None:
    assert texts(facts()) == ["No code was read within the read window."]


def test_conflicting_reads() -> None:
    other = GOOD.replace("SN0001", "SN0002")
    f = facts(GOOD, other)
    assert codes(f) == ["conflicting_reads"]
    assert texts(f)[0].startswith("Reads of 2 different UDIs in one window: GS1:")


def test_same_unit_read_twice_is_not_a_conflict() -> None:
    assert codes(facts(GOOD, GOOD)) == []


def test_invalid_extra_read_beside_a_valid_one_does_not_hold() -> None:
    assert codes(facts(GOOD, "garbage")) == []


def test_invalid_udi_lists_the_parsers_problems() -> None:
    f = facts(f"01{GTIN[:-1]}3" + "17271231")
    assert codes(f) == ["invalid_udi"]
    assert texts(f) == ["Invalid GTIN check digit for '09506000134353': Expected 2, got 3."]


def test_undecodable_bytes_are_an_invalid_udi() -> None:
    bad = read("\ufffd\ufffd", problem="not valid UTF-8: b'\\xff\\xfe'")
    f = Facts(reads=(bad,), identification=identify((bad,)), work_order=order(), today=TODAY)
    assert texts(f) == ["scanner-1: not valid UTF-8: b'\\xff\\xfe'"]


def test_product_not_in_work_order() -> None:
    f = facts(GOOD, work_order=order(products=("09506000134369",)))
    assert codes(f) == ["not_work_order_product"]
    assert texts(f) == [
        "Device identifier 09506000134352 is not a product of work order WO-1"
        " (expected one of 09506000134369)."
    ]


def test_lot_and_expiry_must_match_the_work_order() -> None:
    f = facts(GOOD, work_order=order(lot="LOT43", expiry=date(2027, 6, 30)))
    assert texts(f) == [
        "The unit's lot is LOT42; work order WO-1 expects LOT43.",
        "The unit's expiry is 2027-12-31; work order WO-1 expects 2027-06-30.",
    ]


def test_expiry_match_can_be_switched_off() -> None:
    rules = RulesConfig.model_validate({"work_order_lot": {"match_expiry": False}})
    f = facts(GOOD, work_order=order(expiry=date(2027, 6, 30)))
    assert codes(f, rules) == []


def test_expired() -> None:
    f = facts(GOOD, today=date(2028, 1, 1))
    assert "Expired on 2027-12-31." in texts(f)


def test_shelf_life_left_below_minimum() -> None:
    rules = RulesConfig.model_validate({"expiry": {"min_shelf_life_days": 30}})
    f = facts(GOOD, today=date(2027, 12, 10))
    assert texts(f, rules) == ["Expires on 2027-12-31: 21 days of shelf life left, 30 required."]


def test_duplicate_serial() -> None:
    f = facts(GOOD, duplicate_of_seq=17)
    assert texts(f) == [
        "Serial SN0001 of 09506000134352 was already seen at this checkpoint (event seq 17)."
    ]


@pytest.mark.parametrize(
    ("answer", "policy", "expected"),
    [
        ("pass", "hold", []),
        ("hold", "hold", ["The unit was held at sealing."]),
        ("unknown", "hold", ["No record that the unit passed sealing (policy: hold)."]),
        ("unknown", "pass", []),
    ],
)
def test_route_predecessor(answer: str, policy: str, expected: list[str]) -> None:
    rules = RulesConfig.model_validate({"route_predecessor": {"unknown_policy": policy}})
    assert texts(facts(GOOD, route={"sealing": answer}), rules) == expected


def param(**overrides: object) -> Parameter:
    fields: dict[str, object] = {
        "name": "seal_temp",
        "value": 180.0,
        "unit": "°C",
        "lo": 175.0,
        "hi": 185.0,
        "age_ms": 20,
        "max_age_ms": 500,
    }
    fields.update(overrides)
    return Parameter(**fields)  # type: ignore[arg-type]


def test_parameter_within_limits_and_fresh_passes() -> None:
    assert codes(facts(GOOD, parameters=(param(),))) == []


def test_parameter_out_of_limits() -> None:
    f = facts(GOOD, parameters=(param(value=186.5),))
    assert texts(f) == ["seal_temp = 186.5 °C is outside [175, 185]."]


def test_parameter_with_one_sided_limit() -> None:
    f = facts(GOOD, parameters=(param(value=1.0, lo=2.0, hi=None, unit=""),))
    assert texts(f) == ["seal_temp = 1 is outside [2, +inf]."]


def test_parameter_stale() -> None:
    f = facts(GOOD, parameters=(param(age_ms=900),))
    assert texts(f) == ["seal_temp is 900 ms old (max 500 ms)."]


def test_parameter_never_read() -> None:
    f = facts(GOOD, parameters=(param(value=None),))
    assert texts(f) == ["seal_temp has not been read from the PLC."]


def test_parameter_rule_limited_to_named_parameters() -> None:
    rules = RulesConfig.model_validate({"parameter_limits": {"parameters": ["pressure"]}})
    f = facts(GOOD, parameters=(param(value=999.0),))
    assert codes(f, rules) == []


def test_hold_list() -> None:
    match = HoldMatch(hold_id="H-7", scope="lot", reason="supplier notice")
    assert texts(facts(GOOD, hold_matches=(match,))) == ["The lot is on hold H-7: supplier notice"]


def test_no_work_order_holds_every_unit() -> None:
    assert codes(facts(GOOD, work_order=None)) == ["no_work_order"]


def test_link_down_holds_every_unit() -> None:
    f = facts(GOOD, links_down=("scanner-1", "plc"))
    assert texts(f) == ["Link down: plc, scanner-1."]


def test_every_reason_is_listed_not_just_the_first() -> None:
    f = facts(
        GOOD,
        parameters=(param(value=200.0),),
        links_down=("plc",),
        duplicate_of_seq=3,
        today=date(2028, 1, 1),
    )
    assert codes(f) == [
        "expired",
        "duplicate_serial",
        "parameter_out_of_limits",
        "link_down",
    ]


def test_switched_off_rule_does_not_hold() -> None:
    rules = RulesConfig.model_validate({"link_down": {"enabled": False}})
    assert codes(facts(GOOD, links_down=("plc",)), rules) == []


def test_hibc_primary_and_secondary_symbols_identify_one_unit() -> None:
    ident = identify((read("+A999123457"), read("+$$3251231LOT779")))
    assert ident.udi == Udi.parse_reads(["+A999123457", "+$$3251231LOT779"])
    assert isinstance(ident, Identification)
