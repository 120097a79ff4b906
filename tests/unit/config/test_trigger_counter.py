"""A trigger that is the PLC's count of photo-eye edges (`edge: count`): what a valid one
looks like, and each mistake named at its key."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from protocols.config import load_plant_text

Problems = Callable[[str], list[str]]
Edit = Callable[[str, str, str], str]

AFTER = "    predecessors: [sealing]\n"
"""Where the inspection checkpoint's PLC goes: its `trigger:` lands at line 44."""


def with_trigger(text: str, edit: Edit, *keys: str) -> str:
    block = "".join(f"        {key}\n" for key in keys)
    plc = "    plc:\n      host: 127.0.0.1\n      port: 15024\n      trigger:\n" + block
    return edit(text, AFTER, AFTER + plc)


def test_a_counter_register_is_a_trigger(two_checkpoints: str, edit: Edit) -> None:
    text = with_trigger(
        two_checkpoints,
        edit,
        "table: input_register",
        "address: 4",
        "edge: count",
        "type: uint32",
        "word_order: little",
    )
    plant = load_plant_text(text, source="line.yaml")
    plc = plant.checkpoint("inspection").plc
    assert plc is not None and plc.trigger is not None
    trigger = plc.trigger
    assert (trigger.table, trigger.address, trigger.type, trigger.word_order) == (
        "input_register",
        4,
        "uint32",
        "little",
    )
    assert trigger.counts and trigger.poll_period_ms == 5


def test_a_photo_eye_is_still_the_default(two_checkpoints: str, edit: Edit) -> None:
    text = with_trigger(two_checkpoints, edit, "table: discrete_input", "address: 0")
    trigger = load_plant_text(text, source="line.yaml").checkpoint("inspection").plc.trigger  # type: ignore[union-attr]
    assert trigger is not None and not trigger.counts and trigger.edge == "rising"


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (
            ("table: discrete_input", "address: 0", "edge: count", "type: uint16"),
            [
                "line.yaml:47 checkpoints[1].plc.trigger.edge: a counter is a holding_register"
                " or an input_register, not a discrete_input"
            ],
        ),
        (
            ("table: coil", "address: 0", "edge: count"),
            [
                "line.yaml:44 checkpoints[1].plc.trigger.type: required with edge: count"
                " (uint16 or uint32)",
                "line.yaml:47 checkpoints[1].plc.trigger.edge: a counter is a holding_register"
                " or an input_register, not a coil",
            ],
        ),
        (
            ("table: holding_register", "address: 4", "edge: count"),
            [
                "line.yaml:44 checkpoints[1].plc.trigger.type: required with edge: count"
                " (uint16 or uint32)"
            ],
        ),
        (
            ("table: holding_register", "address: 4", "edge: count", "type: float32"),
            [
                "line.yaml:48 checkpoints[1].plc.trigger.type: a counter is uint16 or uint32"
                " (it wraps to 0), got float32"
            ],
        ),
        (
            ("table: holding_register", "address: 4", "type: uint32"),
            [
                "line.yaml:47 checkpoints[1].plc.trigger.type: only for a counter (edge: count),"
                " not edge rising"
            ],
        ),
        (
            ("table: holding_register", "address: 4", "bit: 2", "edge: count", "type: uint16"),
            [
                "line.yaml:47 checkpoints[1].plc.trigger.bit: not allowed with edge: count"
                " (the counter is the register)"
            ],
        ),
        (
            ("table: holding_register", "address: 65535", "edge: count", "type: uint32"),
            [
                "line.yaml:46 checkpoints[1].plc.trigger.address: a uint32 at 65535 would end"
                " past word 65535"
            ],
        ),
    ],
    ids=[
        "on-a-discrete-input",
        "on-a-coil-without-type",
        "without-type",
        "float-type",
        "type-without-count",
        "bit-of-a-counter",
        "past-the-last-word",
    ],
)
def test_counter_mistakes_are_named_at_their_key(
    two_checkpoints: str,
    edit: Edit,
    problems_of: Problems,
    keys: tuple[str, ...],
    expected: list[str],
) -> None:
    assert problems_of(with_trigger(two_checkpoints, edit, *keys)) == expected


def test_an_unknown_edge_lists_the_known_ones(
    two_checkpoints: str, edit: Edit, problems_of: Problems
) -> None:
    text = with_trigger(
        two_checkpoints, edit, "table: holding_register", "address: 4", "edge: counter"
    )
    assert problems_of(text) == [
        "line.yaml:47 checkpoints[1].plc.trigger.edge: expected one of rising, falling, count,"
        " got 'counter'"
    ]
