"""The simulated scanner's faults as pure functions: misreads, garbage, the fault plan."""

from __future__ import annotations

import random

import pytest

from edge.adapters.framing import Framing, LineSplitter
from edge.adapters.scanner_text import LineDecoder
from edge.sim.scanner import FaultPlan, garbage_bytes, misread_text
from edge.sim.units import GS, gtin_check_digit


def test_gs1_misread_breaks_the_gtin_check_digit() -> None:
    text = f"0109506000134352{GS}21SN7"
    for seed in range(50):
        bad = misread_text(text, random.Random(seed))
        assert len(bad) == len(text)
        assert sum(a != b for a, b in zip(bad, text, strict=True)) == 1
        assert gtin_check_digit(bad[2:15]) != bad[15]


def test_other_misread_changes_exactly_one_letter_or_digit() -> None:
    text = "ABC-123"
    for seed in range(50):
        bad = misread_text(text, random.Random(seed))
        diffs = [i for i, (a, b) in enumerate(zip(bad, text, strict=True)) if a != b]
        assert len(diffs) == 1
        assert text[diffs[0]] != "-"


@pytest.mark.parametrize("name", ["cr", "lf", "crlf", "etx"])
def test_garbage_is_always_a_problem_line(name: str) -> None:
    framing = Framing.named(name)
    decoder = LineDecoder(prefix=framing.prefix)
    rng = random.Random(1)
    for _ in range(200):
        noise = garbage_bytes(rng, framing=framing)
        assert 4 <= len(noise) <= 12
        assert not set(noise) & set(framing.terminator + framing.prefix)
        [line] = LineSplitter(framing).feed(framing.frame(noise), now_s=0.0)
        decoded = decoder.decode(line)
        assert decoded is not None
        assert decoded.problem is not None


def test_fault_plan_by_number_overrides_rates() -> None:
    plan = FaultPlan(at={2: "garbage", 3: "no_read"}, duplicate_rate=1.0)
    rng = random.Random(0)
    assert [plan.draw(n, rng) for n in (1, 2, 3, 4)] == [
        "duplicate",
        "garbage",
        "no_read",
        "duplicate",
    ]


def test_fault_plan_rates_are_deterministic_per_seed() -> None:
    plan = FaultPlan(no_read_rate=0.1, misread_rate=0.1, duplicate_rate=0.1, garbage_rate=0.1)
    first = [plan.draw(n, random.Random(7)) for n in range(1, 200)]
    again = [plan.draw(n, random.Random(7)) for n in range(1, 200)]
    assert first == again
    rng = random.Random(7)
    drawn = [plan.draw(n, rng) for n in range(1, 2001)]
    for fault in ("no_read", "misread", "duplicate", "garbage"):
        assert 50 < drawn.count(fault) < 350  # about 10 %, minus the earlier faults' shadow


def test_fault_plan_rejects_rates_outside_0_to_1() -> None:
    with pytest.raises(ValueError) as info:
        FaultPlan(misread_rate=1.5)
    assert str(info.value) == "FaultPlan misread_rate: expected 0 to 1, got 1.5"
