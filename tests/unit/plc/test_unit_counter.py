"""The unit counter of a counter trigger: units per poll through the wrap, baselines after a
start or a reconnect, a counter that goes back; and the adapter options of such a trigger."""

from __future__ import annotations

import pytest

from edge.adapters.plc_config import TRIGGER, plc_options
from edge.adapters.plc_counter import MAX_UNITS_PER_POLL, CounterStep, UnitCounter
from edge.sim.plc_layout import SimPlcLayout
from protocols.config.plc import PlcConfig


def steps(counter: UnitCounter, *values: int) -> list[tuple[int, int | None, int | None]]:
    return [(s.units, s.unwatched, s.went_back_from) for s in map(counter.step, values)]


def test_the_first_poll_is_a_baseline_and_later_ones_count_units() -> None:
    counter = UnitCounter(bits=32)
    assert steps(counter, 1000, 1000, 1001, 1004) == [
        (0, None, None),
        (0, None, None),
        (1, None, None),
        (3, None, None),
    ]


@pytest.mark.parametrize(("bits", "top"), [(16, 65535), (32, 2**32 - 1)])
def test_units_are_counted_through_the_wrap(bits: int, top: int) -> None:
    counter = UnitCounter(bits=bits)
    assert steps(counter, top - 1, top, 0, 2) == [
        (0, None, None),
        (1, None, None),
        (1, None, None),
        (2, None, None),
    ]
    counter = UnitCounter(bits=bits)
    assert steps(counter, top - 2, 3) == [(0, None, None), (6, None, None)]


def test_a_reconnect_makes_the_next_poll_a_baseline_that_tells_the_units_missed() -> None:
    counter = UnitCounter(bits=16)
    counter.step(65530)
    counter.rebase()
    assert counter.step(4) == CounterStep(units=0, unwatched=10, went_back_from=None)
    assert counter.step(5) == CounterStep(units=1, unwatched=None, went_back_from=None)
    counter.rebase()
    counter.rebase()  # lost again before any poll: still counted from the last value seen
    assert counter.step(7) == CounterStep(units=0, unwatched=2, went_back_from=None)


def test_a_start_that_knows_the_last_value_tells_the_units_missed_while_away() -> None:
    counter = UnitCounter(bits=32, last_known=500)
    assert counter.step(512) == CounterStep(units=0, unwatched=12, went_back_from=None)
    assert counter.step(512) == CounterStep(units=0, unwatched=None, went_back_from=None)


def test_a_counter_that_goes_back_resets_the_baseline_without_units() -> None:
    counter = UnitCounter(bits=32)
    assert steps(counter, 5000, 5001, 3, 4) == [
        (0, None, None),
        (1, None, None),
        (0, None, 5001),
        (1, None, None),
    ]
    # Reset while the agent was away: no unit is inferred for the time away.
    counter.rebase()
    assert counter.step(1) == CounterStep(units=0, unwatched=None, went_back_from=4)


def test_a_uint16_reset_from_high_up_is_not_taken_for_thousands_of_units() -> None:
    counter = UnitCounter(bits=16)
    counter.step(40000)
    # 0 is 25,536 ahead of 40,000 modulo 2^16: a reset, not units.
    assert counter.step(0) == CounterStep(units=0, unwatched=None, went_back_from=40000)
    assert counter.step(MAX_UNITS_PER_POLL) == CounterStep(
        units=MAX_UNITS_PER_POLL, unwatched=None, went_back_from=None
    )


def test_out_of_range_values_and_widths_are_refused() -> None:
    with pytest.raises(ValueError, match="expected 16 or 32 bits, got 8"):
        UnitCounter(bits=8)
    with pytest.raises(ValueError, match="expected 0 to 65535, got 65536"):
        UnitCounter(bits=16).step(65536)


def test_a_counter_trigger_becomes_a_register_spec_the_sim_serves_the_count_at() -> None:
    plc = PlcConfig.model_validate(
        {
            "host": "127.0.0.1",
            "trigger": {
                "table": "holding_register",
                "address": 4,
                "edge": "count",
                "type": "uint32",
                "poll_period_ms": 3,
            },
        }
    )
    options = plc_options(plc)
    [spec] = [s for s in options.registers if s.name == TRIGGER]
    assert (spec.table, spec.address, spec.data_type, spec.word_order, spec.bit) == (
        "holding_register",
        4,
        "uint32",
        "big",
        None,
    )
    assert options.trigger is not None
    assert (options.trigger.edge, options.trigger.period_ms) == ("count", 3.0)
    assert SimPlcLayout.from_config(plc).signals[TRIGGER] == "units_seen"
