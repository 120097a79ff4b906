"""The agent's local state survives a restart: work order, holds, route and duplicate index."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from edge.checkpoint.facts import HoldMatch
from edge.checkpoint.state import LocalState, OwnDecision
from protocols.commands import Hold, HoldScope, LotRef, Release, WorkOrder
from protocols.events import UnitRef
from protocols.ids import uuid7
from protocols.udi import Udi

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
UNIT = Udi(issuer="GS1", di="09506000134352", lot="LOT42", serial="SN1")
OTHER = Udi(issuer="GS1", di="09506000134352", lot="LOT43", serial="SN2")


def work_order() -> WorkOrder:
    return WorkOrder(
        command_id=uuid7(),
        issued_at=NOW,
        issued_by="planner",
        work_order="WO-1",
        products=(UNIT.di,),
        lot="LOT42",
        expiry=date(2027, 12, 31),
        quantity=10,
    )


def hold(hold_id: str, scope: HoldScope) -> Hold:
    return Hold(
        command_id=uuid7(),
        issued_at=NOW,
        issued_by="qa",
        hold_id=hold_id,
        scope=scope,
        reason="supplier notice",
    )


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    state = await LocalState.open(path)
    order = work_order()
    await state.set_work_order(order)
    await state.add_hold(hold("H-1", HoldScope(lots=(LotRef(di=UNIT.di, lot="LOT42"),))))
    await state.record_decision(checkpoint="sealing", udi=UNIT, decision="pass", seq=None)
    await state.record_decision(checkpoint="inspection", udi=UNIT, decision="hold", seq=7)
    await state.close()

    state = await LocalState.open(path)
    try:
        assert state.work_order == order
        assert await state.hold_matches(UNIT) == (
            HoldMatch(hold_id="H-1", scope="lot", reason="supplier notice"),
        )
        assert await state.hold_matches(OTHER) == ()
        assert await state.route(predecessors=("sealing", "assembly"), udi=UNIT) == {
            "sealing": "pass",
            "assembly": "unknown",
        }
        assert await state.own_decision(checkpoint="inspection", udi=UNIT) == OwnDecision("hold", 7)
        assert await state.own_decision(checkpoint="inspection", udi=OTHER) is None
    finally:
        await state.close()


async def test_holds_match_by_unit_lot_and_di_and_release_lifts_them(tmp_path: Path) -> None:
    state = await LocalState.open(tmp_path / "state.sqlite3")
    try:
        await state.add_hold(hold("H-U", HoldScope(units=(UnitRef(di=UNIT.di, serial="SN1"),))))
        await state.add_hold(hold("H-D", HoldScope(dis=(UNIT.di,))))
        assert [m.hold_id for m in await state.hold_matches(UNIT)] == ["H-D", "H-U"]
        assert [m.scope for m in await state.hold_matches(OTHER)] == ["di"]
        release = Release(
            command_id=uuid7(),
            issued_at=NOW,
            issued_by="qa",
            hold_id="H-D",
            signed_by="j.doe",
            reason="investigated",
        )
        assert await state.release(release) is True
        assert await state.release(release) is False
        assert [m.hold_id for m in await state.hold_matches(UNIT)] == ["H-U"]
        assert await state.hold_matches(OTHER) == ()
        assert [h.hold_id for h in await state.holds()] == ["H-U"]
    finally:
        await state.close()


async def test_decision_index_is_bounded_oldest_first(tmp_path: Path) -> None:
    state = await LocalState.open(tmp_path / "state.sqlite3", max_decisions=3)
    try:
        units = [Udi(issuer="GS1", di=UNIT.di, serial=f"S{i}") for i in range(5)]
        for i, udi in enumerate(units):
            await state.record_decision(checkpoint="sealing", udi=udi, decision="pass", seq=i)
        known = [(await state.route(predecessors=("sealing",), udi=u))["sealing"] for u in units]
        assert known == ["unknown", "unknown", "pass", "pass", "pass"]
    finally:
        await state.close()


async def test_clearing_the_work_order(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    state = await LocalState.open(path)
    await state.set_work_order(work_order())
    await state.set_work_order(None)
    await state.close()
    state = await LocalState.open(path)
    try:
        assert state.work_order is None
    finally:
        await state.close()


async def test_decisions_are_written_in_groups_and_read_back_before_they_are(
    tmp_path: Path,
) -> None:
    import asyncio
    import sqlite3

    path = tmp_path / "state.sqlite3"
    # A gathering time no test waits out: only close() writes the group.
    state = await LocalState.open(path, gather_s=3600)
    planned: list[tuple[str, Udi, Literal["pass", "hold"], int]] = [
        ("sealing", UNIT, "pass", 5),
        ("assembly", UNIT, "hold", 3),
        ("sealing", OTHER, "hold", 6),
        ("sealing", UNIT, "hold", 4),  # an older event delivered again: ignored
    ]
    writes = [
        asyncio.create_task(
            state.record_decision(checkpoint=cp, udi=udi, decision=decision, seq=seq)
        )
        for cp, udi, decision, seq in planned
    ]
    await asyncio.sleep(0.05)
    assert not any(w.done() for w in writes)
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT count(*) FROM decisions").fetchone() == (0,)
    assert await state.own_decision(checkpoint="sealing", udi=UNIT) == OwnDecision("pass", 5)
    assert await state.route(predecessors=("assembly", "sealing"), udi=UNIT) == {
        "assembly": "hold",
        "sealing": "pass",
    }
    facts = await state.unit_facts(checkpoint="sealing", predecessors=("assembly",), udi=OTHER)
    assert (facts.own, facts.route) == (OwnDecision("hold", 6), {"assembly": "unknown"})
    await state.close()
    assert all(w.done() and w.exception() is None for w in writes)
    with sqlite3.connect(path) as other:
        rows = other.execute(
            "SELECT checkpoint, unit_key, decision, seq FROM decisions ORDER BY n"
        ).fetchall()
    assert rows == [
        ("sealing", f"{UNIT.di}/S/SN1", "pass", 5),
        ("assembly", f"{UNIT.di}/S/SN1", "hold", 3),
        ("sealing", f"{OTHER.di}/S/SN2", "hold", 6),
    ]


async def test_a_decision_written_alone_returns_once_it_is_durable(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "state.sqlite3"
    state = await LocalState.open(path, gather_s=0.001)
    try:
        await state.record_decision(checkpoint="sealing", udi=UNIT, decision="pass", seq=1)
        with sqlite3.connect(path) as other:
            assert other.execute("SELECT decision, seq FROM decisions").fetchall() == [("pass", 1)]
    finally:
        await state.close()


async def test_a_lookup_does_not_wait_for_a_decision_write_under_way(tmp_path: Path) -> None:
    # The unit's lookup runs beside the decision write (its own connection and thread) and
    # still sees the decision being written.
    import asyncio
    import sqlite3

    path = tmp_path / "state.sqlite3"
    state = await LocalState.open(path, gather_s=0)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer thread waits for this lock
    try:
        write = asyncio.create_task(
            state.record_decision(checkpoint="sealing", udi=UNIT, decision="pass", seq=5)
        )
        await asyncio.sleep(0.05)
        facts = await state.unit_facts(checkpoint="sealing", predecessors=("assembly",), udi=UNIT)
        assert not write.done()
        assert facts.own == OwnDecision("pass", 5)
        assert facts.route == {"assembly": "unknown"}
        assert await state.hold_matches(UNIT) == ()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    await write
    assert await state.own_decision(checkpoint="sealing", udi=UNIT) == OwnDecision("pass", 5)
    await state.close()
