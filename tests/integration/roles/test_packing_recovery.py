"""Packing when a unit's path is slow or its store write fails, on the engine rig (a real
outbox, local state, packing store and simulated PLC; no broker): a store write that
outlives the unit's decision deadline, a case recorded with a unit that is then held and
diverted, units boxed meanwhile, a store that stays locked.

The store is stalled the way it is on a line: another connection (the CLI queueing a
request, a backup) holds its write lock, so the agent's write waits in its thread. What the
packer really boxes is the units that got the pass output, `case_size` to a case; the
records must say the same (`boxed`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "checkpoint"))

from engine_rig import GTIN, STATION, Rig, rig

from edge.checkpoint.collector import ReadCollector
from edge.checkpoint.engine import CheckpointEngine, EngineSettings, Outcome, warm_up_parsers
from edge.checkpoint.roles.context import RoleContext
from edge.checkpoint.roles.packing import PackingRole
from edge.checkpoint.roles.packing_sscc import make_sscc
from edge.checkpoint.window import ReadWindows
from edge.outbox import CommittedEvent, Outbox, OutboxUnavailable
from edge.reads import CodeRead
from protocols.config import PlantConfig, RulesConfig, load_plant_text
from protocols.events import Event, UnitInspected, UnitPacked, UnitUnpacked
from protocols.parts import UnitRef

__all__ = ["rig"]

COMPANY_PREFIX = "5391234"
PLANT = """\
site: {{id: plant-t, name: Test plant, timezone: UTC, gs1_company_prefix: "{company}"}}
line: {{id: line-t, name: Test line}}
mqtt: {{broker_url: "mqtt://127.0.0.1:1883", topic_prefix: "tgtest/packing"}}
checkpoints:
  - id: packing
    name: packing
    role: packing
    device_id: {device}
    scanners: [{{name: front, port: "socket://127.0.0.1:9"}}]
    packing: {packing}
    outbox: {{path: "{tmp}/outbox.sqlite3"}}
    state_path: "{tmp}/state.sqlite3"
"""
CASES_OF_2 = "{case_size: 2, sscc_source: generated}"
DEADLINE_S = 0.3


class SlowRecords:
    """The real outbox, whose commits of the `unit.inspected` records of the serials in
    `slow` take `delay_s` (a stalling SD card), and which refuses once the first
    `unit.packed` naming a serial in `refuse_once` (as an outbox on a disk that is full for a
    moment does)."""

    def __init__(self, outbox: Outbox, *, delay_s: float) -> None:
        self.outbox = outbox
        self.delay_s = delay_s
        self.slow: set[str] = set()
        self.refuse_once: set[str] = set()

    async def commit(self, event: Event) -> CommittedEvent:
        if (
            isinstance(event, UnitInspected)
            and event.udi is not None
            and event.udi.serial in self.slow
        ):
            await asyncio.sleep(self.delay_s)
        if isinstance(event, UnitPacked) and (
            refused := self.refuse_once & set(names(event.children))
        ):
            self.refuse_once -= refused
            raise OutboxUnavailable(
                Path("outbox.sqlite3"), kind="disk_full", reason="test: no space left on device"
            )
        return await self.outbox.commit(event)


class Line:
    """The packing checkpoint on the rig: the role, the engine, the units' outcomes. Its
    decision deadline (`DEADLINE_S`) is the rig's times five: units pass in time on a loaded
    machine, and the stalls here outlast it by far."""

    def __init__(self, rig: Rig, tmp: Path, packing: str) -> None:
        self.rig = rig
        windows = ReadWindows(sources=("front",), read_window_s=0.03, deadline_s=DEADLINE_S)
        self.collector = ReadCollector(
            windows,
            triggers_known_until=lambda: math.inf,
            settle_poll_s=0.001,
            reads_trigger=lambda read: True,
            settle_s=0.0,
        )
        self.records = SlowRecords(rig.outbox, delay_s=0.0)
        config = plant(tmp, packing)
        self.role = PackingRole.build(
            RoleContext(
                plant=config,
                checkpoint=config.checkpoint("packing"),
                station=STATION,
                state=rig.state,
                outbox=self.records,
                alarm=rig.alarms.raise_alarm,
            )
        )
        rules = RulesConfig.model_validate(
            {"route_predecessor": {"enabled": False}, "link_down": {"enabled": False}}
        )
        self.engine = CheckpointEngine(
            EngineSettings(station=STATION, rules=rules),
            state=rig.state,
            outbox=self.records,
            collector=self.collector,
            interlock=rig.interlock,
            alarm=rig.alarms.raise_alarm,
            role=self.role,
        )
        warm_up_parsers()
        self.outcomes: dict[str, Outcome] = {}
        self.engine.on_outcome = lambda o: self.outcomes.__setitem__(o.unit or "?", o)

    async def run(self, *serials: int, gap_s: float = 0.1, wait_s: float = 10.0) -> list[Outcome]:
        """Units `gap_s` apart (past each one's read window), without waiting for their
        outcomes in between; then their outcomes."""
        for n in serials:
            await asyncio.sleep(gap_s)
            self.collector.add(read(n))
        keys = [f"{GTIN}/S/{serial(n)}" for n in serials]
        async with asyncio.timeout(wait_s):
            while not all(k in self.outcomes for k in keys):  # noqa: ASYNC110 - outcomes come by callback
                await asyncio.sleep(0.01)
        return [self.outcomes[k] for k in keys]

    async def close(self) -> None:
        await self.engine.drain(timeout_s=5)
        await self.role.store.close()


def plant(tmp: Path, packing: str) -> PlantConfig:
    text = PLANT.format(company=COMPANY_PREFIX, device=STATION.device_id, packing=packing, tmp=tmp)
    return load_plant_text(text, source=str(tmp / "plant.yaml"))


def serial(n: int) -> str:
    return f"SN{n:04d}"


def read(n: int) -> CodeRead:
    return CodeRead(
        text=f"01{GTIN}17281231" + f"10LOT42\x1d21{serial(n)}",
        symbology_id="]d2",
        source_kind="scanner",
        source_name="front",
        read_at=dt.datetime.now(dt.UTC),
        monotonic_s=time.monotonic(),
    )


@contextmanager
def store_locked(path: Path, *, for_s: float) -> Iterator[None]:
    """Hold the store's write lock from another connection for `for_s` (released by a
    thread while the agent's write waits for it)."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")

    def release() -> None:
        other.execute("COMMIT")
        other.close()

    timer = threading.Timer(for_s, release)
    timer.start()
    try:
        yield
    finally:
        timer.join()


def names(children: Sequence[object]) -> list[str | None]:
    return [c.serial for c in children if isinstance(c, UnitRef)]


def containment(events: list[Event]) -> dict[str, list[str | None]]:
    """Each case's units as the records leave them, cases in the order first named."""
    inside: dict[str, list[str | None]] = {}
    for event in events:
        if isinstance(event, UnitPacked):
            inside.setdefault(event.container, []).extend(names(event.children))
        elif isinstance(event, UnitUnpacked):
            gone = set(names(event.children))
            inside[event.container] = [s for s in inside[event.container] if s not in gone]
    return inside


def boxed(outcomes: Sequence[Outcome], *, case_size: int) -> list[list[str | None]]:
    """What the packer boxed: the units that got the pass output, `case_size` to a case."""
    passed = [
        o.unit.rsplit("/", 1)[-1] if o.unit else None for o in outcomes if o.decision == "pass"
    ]
    return [passed[i : i + case_size] for i in range(0, len(passed), case_size)]


async def records(rig: Rig) -> list[Event]:
    return [e for e in await rig.events() if isinstance(e, UnitPacked | UnitUnpacked)]


async def test_a_store_write_past_the_deadline_does_not_wedge_the_later_units(
    rig: Rig, tmp_path: Path
) -> None:
    line = Line(rig, tmp_path, CASES_OF_2)
    assert [o.decision for o in await line.run(1, 2)] == ["pass", "pass"]
    # Unit 3 starts the second case; its store write waits for the lock past its deadline.
    with store_locked(line.role.store.path, for_s=2 * DEADLINE_S):
        (late,) = await line.run(3)
    # Held past its deadline: no reject is written (it would divert the next unit), the PLC
    # diverts it as a unit without a pass.
    assert (late.decision, late.reasons) == ("hold", ("deadline_missed", "reject_too_late"))
    later = await line.run(4, 5, 6, 7)
    assert [(o.decision, o.reasons) for o in later] == [("pass", ())] * 4
    outcomes = [line.outcomes[f"{GTIN}/S/{serial(n)}"] for n in range(1, 8)]
    cases = containment(await rig.events())
    assert list(cases.values()) == boxed(outcomes, case_size=2)
    assert list(cases.values()) == [
        [serial(1), serial(2)],
        [serial(4), serial(5)],
        [serial(6), serial(7)],
    ]
    # Unit 3 was taken back out of the case it had started: no record ever named it.
    assert serial(3) not in str([names(e.children) for e in await records(rig)])
    await line.close()


async def test_a_case_whose_last_unit_is_held_late_takes_the_next_unit(
    rig: Rig, tmp_path: Path
) -> None:
    line = Line(rig, tmp_path, CASES_OF_2)
    line.records.delay_s = 2 * DEADLINE_S
    line.records.slow.add(serial(2))
    # Unit 2 fills case 1 and is held; the next units come after that.
    outcomes = await line.run(1, 2)
    outcomes += await line.run(3, 4, 5)
    assert [(o.decision, o.reasons, o.corrected) for o in outcomes] == [
        ("pass", (), False),
        ("hold", ("deadline_missed", "reject_too_late"), True),
        ("pass", (), False),
        ("pass", (), False),
        ("pass", (), False),
    ]
    # Held past its deadline: no reject (it would divert the next unit) and no pass, so the
    # PLC diverts it; the four others passed.
    assert rig.outputs().count(("reject", True)) == 0
    assert rig.outputs().count(("pass", True)) == 4
    first, out, refill, second = await records(rig)
    # Unit 2 filled case 1, which was recorded with it before its pass output...
    assert isinstance(first, UnitPacked)
    assert names(first.children) == [serial(1), serial(2)]
    # ... it was held and diverted: out of the case, and the packer's next unit goes in.
    assert isinstance(out, UnitUnpacked) and out.container == first.container
    assert names(out.children) == [serial(2)]
    assert out.reason is not None and out.reason.code == "held_after_packing"
    assert out.parent_container is None
    assert isinstance(refill, UnitPacked) and refill.container == first.container
    assert names(refill.children) == [serial(3)]
    assert isinstance(second, UnitPacked) and second.container != first.container
    assert list(containment(await rig.events()).values()) == boxed(outcomes, case_size=2)
    (alarm,) = [a for a in rig.alarms.recent if a.code == "held_after_packing"]
    assert alarm.message.endswith("the case is open again for the next unit.")
    await line.close()


async def test_a_filling_unit_cut_off_by_its_deadline_is_recorded_then_taken_out(
    rig: Rig, tmp_path: Path
) -> None:
    line = Line(rig, tmp_path, CASES_OF_2)
    await line.run(1)
    # Unit 2 fills case 1, but its step finishes after its deadline: the engine holds it
    # without its records; the role records the case as its store has it, then corrects.
    with store_locked(line.role.store.path, for_s=2 * DEADLINE_S):
        (late,) = await line.run(2)
    assert (late.decision, late.reasons, late.role_recorded) == (
        "hold",
        ("deadline_missed", "reject_too_late"),
        0,
    )
    outcomes = [line.outcomes[f"{GTIN}/S/{serial(1)}"], late, *await line.run(3, 4, 5)]
    assert [o.decision for o in outcomes] == ["pass", "hold", "pass", "pass", "pass"]
    kinds = [(e.kind, names(e.children)) for e in await records(rig)]
    assert kinds == [
        ("unit.packed", [serial(1), serial(2)]),
        ("unit.unpacked", [serial(2)]),
        ("unit.packed", [serial(3)]),
        ("unit.packed", [serial(4), serial(5)]),
    ]
    assert list(containment(await rig.events()).values()) == boxed(outcomes, case_size=2)
    await line.close()


async def test_a_case_record_refused_is_recorded_before_its_last_unit_is_taken_out(
    rig: Rig, tmp_path: Path
) -> None:
    line = Line(rig, tmp_path, CASES_OF_2)
    line.records.refuse_once.add(serial(2))
    outcomes = await line.run(1, 2)
    assert [(o.decision, o.reasons) for o in outcomes] == [
        ("pass", ()),
        ("hold", ("outbox_error",)),
    ]
    assert outcomes[1].role_recorded == 0
    outcomes += await line.run(3)
    # The case as the store had it is recorded late, then corrected: unit 1 is in it.
    kinds = [(e.kind, names(e.children)) for e in await records(rig)]
    assert kinds == [
        ("unit.packed", [serial(1), serial(2)]),
        ("unit.unpacked", [serial(2)]),
        ("unit.packed", [serial(3)]),
    ]
    assert list(containment(await rig.events()).values()) == boxed(outcomes, case_size=2)
    await line.close()


async def test_units_boxed_before_a_late_hold_move_up_a_case(rig: Rig, tmp_path: Path) -> None:
    line = Line(rig, tmp_path, CASES_OF_2)
    line.records.delay_s = 3.0
    line.records.slow.add(serial(2))
    # Units 3 and 4 pass (into case 2) while unit 2's record is still on its way; unit 2
    # is held then, and the packer had boxed unit 3 into case 1, unit 4 into case 2.
    outcomes = await line.run(1, 2, 3, 4, gap_s=0.3)
    assert [o.decision for o in outcomes] == ["pass", "hold", "pass", "pass"]
    outcomes += await line.run(5)
    assert outcomes[-1].decision == "pass"
    events = await records(rig)
    # Case 2 was recorded first: unit 2's records (and case 1's) waited for the SD card.
    case_2, case_1 = dict.fromkeys(e.container for e in events)
    assert [(e.kind, e.container, names(e.children)) for e in events] == [
        ("unit.packed", case_2, [serial(3), serial(4)]),
        ("unit.packed", case_1, [serial(1), serial(2)]),
        ("unit.unpacked", case_1, [serial(2)]),
        ("unit.unpacked", case_2, [serial(3)]),
        ("unit.packed", case_1, [serial(3)]),
        ("unit.packed", case_2, [serial(5)]),
    ]
    assert [e.reason.code for e in events if isinstance(e, UnitUnpacked) and e.reason] == [
        "held_after_packing",
        "case_refilled",
    ]
    assert sorted(containment(await rig.events()).values()) == boxed(outcomes, case_size=2)
    await line.close()


async def test_a_store_locked_past_its_timeout_holds_one_unit(rig: Rig, tmp_path: Path) -> None:
    line = Line(rig, tmp_path, CASES_OF_2)
    await line.run(1)
    with store_locked(line.role.store.path, for_s=2.5):
        (refused,) = await line.run(2)
    assert refused.decision == "hold"
    outcomes = [line.outcomes[f"{GTIN}/S/{serial(1)}"], refused, *await line.run(3, 4, 5)]
    assert [o.decision for o in outcomes] == ["pass", "hold", "pass", "pass", "pass"]
    assert list(containment(await rig.events()).values()) == boxed(outcomes, case_size=2)
    await line.close()


async def test_a_generated_sscc_the_store_knows_is_skipped(rig: Rig, tmp_path: Path) -> None:
    line = Line(rig, tmp_path, CASES_OF_2)
    taken = make_sscc(extension_digit=0, company_prefix=COMPANY_PREFIX, serial=1)
    # A label of the same company prefix, scanned when this station used labels.
    with sqlite3.connect(line.role.store.path) as db:
        db.execute(
            "INSERT INTO containers (sscc, level, state, opened_at, closed_at)"
            " VALUES (?, 'case', 'closed', 1, 2)",
            (taken,),
        )
    outcomes = await line.run(1, 2)
    assert [o.decision for o in outcomes] == ["pass", "pass"]
    (case,) = await records(rig)
    assert case.container == make_sscc(extension_digit=0, company_prefix=COMPANY_PREFIX, serial=2)
    await line.close()
