"""Commands applied to the local state once each; predecessors' decisions ordered by seq; a
work order written by another process is picked up."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from edge.checkpoint.state import LocalState
from protocols.commands import Hold, HoldScope, Release, Shipment, WorkOrder
from protocols.ids import uuid7
from protocols.parts import Party
from protocols.udi import Udi

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
UNIT = Udi(issuer="GS1", di="09506000134352", lot="LOT42", serial="SN1")


def work_order(number: str) -> WorkOrder:
    return WorkOrder(
        command_id=uuid7(),
        issued_at=NOW,
        issued_by="planner",
        work_order=number,
        products=(UNIT.di,),
        lot="LOT42",
        expiry=date(2027, 12, 31),
        quantity=10,
    )


async def test_a_command_delivered_twice_is_applied_once(tmp_path: Path) -> None:
    state = await LocalState.open(tmp_path / "state.sqlite3")
    try:
        hold = Hold(
            command_id=uuid7(),
            issued_at=NOW,
            issued_by="qa",
            hold_id="H-1",
            scope=HoldScope(dis=(UNIT.di,)),
            reason="supplier notice",
        )
        release = Release(
            command_id=uuid7(),
            issued_at=NOW,
            issued_by="qa",
            hold_id="H-1",
            signed_by="qa.lead",
            reason="cleared",
        )
        assert await state.apply(hold) is True
        assert await state.apply(release) is True
        # The broker delivers the hold again after the release: it must not come back.
        assert await state.apply(hold) is False
        assert await state.hold_matches(UNIT) == ()
    finally:
        await state.close()


async def test_shipments_are_kept_for_the_shipping_role(tmp_path: Path) -> None:
    state = await LocalState.open(tmp_path / "state.sqlite3")
    try:
        shipment = Shipment(
            command_id=uuid7(),
            issued_at=NOW,
            issued_by="logistics",
            shipment_id="SH-9",
            order="SO-77",
            recipient=Party(name="St. James's Hospital", country_code="IE"),
            expected_containers=("376130321109103420",),
        )
        assert await state.apply(shipment) is True
        assert await state.shipments() == [shipment]
    finally:
        await state.close()


async def test_an_older_event_delivered_again_does_not_undo_a_correction(tmp_path: Path) -> None:
    state = await LocalState.open(tmp_path / "state.sqlite3")
    try:
        await state.record_decision(checkpoint="assembly", udi=UNIT, decision="pass", seq=7)
        await state.record_decision(checkpoint="assembly", udi=UNIT, decision="hold", seq=8)
        await state.record_decision(checkpoint="assembly", udi=UNIT, decision="pass", seq=7)
        assert await state.route(predecessors=("assembly",), udi=UNIT) == {"assembly": "hold"}
    finally:
        await state.close()


async def test_a_work_order_written_by_another_process_is_picked_up(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    agent = await LocalState.open(path)
    try:
        assert await agent.refresh() is False
        cli = await LocalState.open(path)
        await cli.apply(work_order("WO-2"))
        await cli.close()
        assert agent.work_order is None
        assert await agent.refresh() is True
        assert agent.work_order is not None and agent.work_order.work_order == "WO-2"
        assert await agent.refresh() is False
    finally:
        await agent.close()
