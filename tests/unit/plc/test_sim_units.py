"""The simulated line: UDIs that parse, deterministic schedules, faults where planned."""

from __future__ import annotations

import time
from datetime import date

import biip
import pytest

from edge.sim.units import (
    GS,
    Fault,
    LineClock,
    Product,
    SimLine,
    gtin_check_digit,
    hibcc_check_character,
    hibcc_string,
)


def test_gtin_check_digit_matches_gs1_examples() -> None:
    assert gtin_check_digit("0950600013435") == "2"
    assert gtin_check_digit("629104150021") == "3"


def test_gtin_check_digit_rejects_non_digits() -> None:
    with pytest.raises(ValueError, match=r"^GTIN body '12a': expected digits only$"):
        gtin_check_digit("12a")


def test_hibcc_check_character_of_the_reference_example() -> None:
    assert hibcc_check_character("+A99912345/$$52001510X3") == "3"


def test_hibcc_check_character_rejects_characters_outside_the_set() -> None:
    with pytest.raises(ValueError, match=r"^HIBCC data '\+a1': character 'a' is not in"):
        hibcc_check_character("+a1")


def test_hibcc_string_layout() -> None:
    text = hibcc_string(
        labeler="A999",
        product="12345",
        unit_of_measure=0,
        lot="10X3",
        serial="77DE1G45",
        expiry=date(2020, 1, 15),
        production_date=date(2011, 12, 12),
    )
    assert text[:-1] == "+A999123450/$$320011510X3/S77DE1G45/16D20111212"
    assert text[-1] == hibcc_check_character(text[:-1])


def test_gs1_units_parse_with_biip_without_errors() -> None:
    line = SimLine(seed=3, unit_count=50)
    for unit in line.units():
        result = biip.parse(unit.udi.text)
        assert result.gs1_message is not None
        values = {e.ai.ai: e for e in result.gs1_message.element_strings}
        assert values["01"].value == unit.udi.di
        assert values["01"].gtin_error is None
        assert values["10"].value == line.lot
        assert values["21"].value == unit.udi.serial
        assert values["17"].date == unit.udi.expiry
        assert values["11"].date == date(2025, 6, 2)
        assert GS in unit.udi.text
        assert unit.aim_prefix == "]d2"


def test_same_seed_same_line_other_seed_other_line() -> None:
    a, b, c = SimLine(seed=5), SimLine(seed=5), SimLine(seed=6)
    assert [a.unit(i) for i in range(20)] == [b.unit(i) for i in range(20)]
    assert a.unit(0).udi.di != c.unit(0).udi.di


def test_serials_are_unique_unless_a_duplicate_is_planned() -> None:
    line = SimLine(seed=1, unit_count=30, faults={17: [Fault.DUPLICATE_SERIAL]})
    serials = [u.udi.serial for u in line.units()]
    assert serials[17] == serials[16]
    assert len(set(serials)) == 29


def test_planned_faults_change_what_the_reader_reports() -> None:
    line = SimLine(
        seed=2,
        faults={
            1: {Fault.NO_READ},
            2: {Fault.MISREAD},
            3: {Fault.WRONG_LOT},
            4: {Fault.SKIPS_CHECKPOINT},
        },
    )
    assert line.unit(0).reader_text == line.unit(0).udi.text
    assert line.unit(1).reader_text is None
    misread = line.unit(2).reader_text
    assert misread is not None and misread != line.unit(2).udi.text
    assert biip.parse(misread).gs1_message.element_strings[0].gtin_error is not None  # type: ignore[union-attr]
    assert line.unit(3).udi.lot != line.lot
    assert line.unit(4).reader_text is None and not line.unit(4).seen


def test_hibcc_line_units_carry_valid_check_characters() -> None:
    line = SimLine(seed=9, product=Product(issuer="hibcc"), faults={3: {Fault.MISREAD}})
    for i in range(3):
        text = line.unit(i).udi.text
        assert text.startswith("+A999TG12340/$$3")
        assert text[-1] == hibcc_check_character(text[:-1])
        assert line.unit(i).aim_prefix == "]d1"
    misread = line.unit(3).reader_text
    assert misread is not None and misread[-1] != hibcc_check_character(misread[:-1])


def test_schedule_places_each_unit_at_the_photo_eye() -> None:
    line = SimLine(seed=0, rate_per_s=4.0, first_arrival_s=1.0, photo_eye_pulse_ms=50)
    assert line.unit_at(0.99) is None
    assert line.arrival_s(17) == pytest.approx(5.25)
    assert line.unit_at(5.25).index == 17  # type: ignore[union-attr]
    assert line.unit_at(5.49).index == 17  # type: ignore[union-attr]
    assert line.photo_eye_blocked(5.26)
    assert not line.photo_eye_blocked(5.31)


def test_a_unit_that_skips_the_checkpoint_leaves_the_previous_one_at_it() -> None:
    line = SimLine(
        seed=0, rate_per_s=2.0, first_arrival_s=0.0, faults={3: {Fault.SKIPS_CHECKPOINT}}
    )
    assert line.unit_at(1.6).index == 2  # type: ignore[union-attr]
    assert not line.photo_eye_blocked(1.51)
    assert line.nth_trigger(3).index == 4


def test_jittered_arrivals_stay_in_order() -> None:
    line = SimLine(seed=4, rate_per_s=10.0, pitch_jitter=0.4, photo_eye_pulse_ms=20)
    arrivals = [line.arrival_s(i) for i in range(200)]
    assert arrivals == sorted(arrivals)
    for i in range(1, 199):
        assert line.unit_at(arrivals[i] + 0.001).index == i  # type: ignore[union-attr]


def test_faults_at_follow_the_unit_at_the_checkpoint() -> None:
    line = SimLine(seed=0, rate_per_s=2.0, first_arrival_s=0.0, faults={5: {Fault.SEAL_EXCURSION}})
    assert line.faults_at(2.45) == frozenset()
    assert line.faults_at(2.7) == {Fault.SEAL_EXCURSION}
    assert line.faults_at(3.05) == frozenset()


def test_noise_is_deterministic_per_10_ms_and_per_signal() -> None:
    line = SimLine(seed=0)
    assert line.noise("seal_temp", 1.001) == line.noise("seal_temp", 1.009)
    assert line.noise("seal_temp", 1.001) != line.noise("seal_temp", 1.011)
    assert line.noise("seal_temp", 1.001) != line.noise("dwell_time", 1.001)
    samples = [line.noise("x", i / 100) for i in range(2000)]
    assert abs(sum(samples) / len(samples)) < 0.1


def test_unit_count_ends_the_line() -> None:
    line = SimLine(seed=0, unit_count=3)
    assert len(list(line.units())) == 3
    with pytest.raises(IndexError, match=r"^unit 3: the line has units 0 to 2$"):
        line.unit(3)


def test_pulse_longer_than_the_gap_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^photo_eye_pulse_ms: expected between 0 and"):
        SimLine(rate_per_s=20.0, photo_eye_pulse_ms=60)


def test_line_clock_counts_from_its_start() -> None:
    clock = LineClock(start_monotonic_s=100.0)
    assert clock.at(103.5) == pytest.approx(3.5)


def test_line_clock_does_not_advance_while_paused() -> None:
    clock = LineClock()
    clock.pause()
    frozen = clock.now_s()
    time.sleep(0.02)
    assert clock.now_s() == pytest.approx(frozen, abs=1e-4)
    clock.resume()
    time.sleep(0.02)
    assert clock.now_s() == pytest.approx(frozen + 0.02, abs=0.015)


def test_line_clock_from_epoch_agrees_with_wall_time() -> None:
    clock = LineClock.from_epoch(time.time() - 10.0)
    assert clock.now_s() == pytest.approx(10.0, abs=0.01)


def test_line_clock_maps_line_time_back_to_monotonic() -> None:
    clock = LineClock(start_monotonic_s=50.0)
    assert clock.to_monotonic(2.5) == pytest.approx(52.5)
    assert clock.at(clock.to_monotonic(7.0)) == pytest.approx(7.0)


def test_triggers_through_skips_units_that_skip_the_checkpoint() -> None:
    line = SimLine(seed=0, faults={2: {Fault.SKIPS_CHECKPOINT}, 5: {Fault.SKIPS_CHECKPOINT}})
    assert [line.triggers_through(i) for i in range(7)] == [1, 2, 2, 3, 4, 4, 5]
    assert line.triggers_through(3) == 3
    assert SimLine(seed=0).triggers_through(99) == 100
