"""`tracegate edge lot accept|reject|show` and `workorder --bom` against an assembly
checkpoint's files, the agent not running."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.checkpoint.roles.assembly_store import AssemblyStore, LoadedLot
from edge.checkpoint.state import LocalState
from protocols.commands import BomLine
from tracegate.cli import app

CONFIG = """\
site: {{id: plant-t, name: Test plant, timezone: UTC}}
line: {{id: line-t, name: Test line}}
mqtt: {{broker_url: "mqtt://127.0.0.1:1883", topic_prefix: "tgtest/cli"}}
checkpoints:
  - id: assembly
    name: Assembly
    role: assembly
    device_id: edge-t-assembly
    scanners:
      - {{name: unit, port: "socket://127.0.0.1:1"}}
      - {{name: feeder, port: "socket://127.0.0.1:2"}}
    assembly: {{loading_scanners: [feeder]}}
    outbox: {{path: "{tmp}/outbox.sqlite3"}}
    state_path: "{tmp}/state.sqlite3"
  - id: sealing
    name: Sealer
    role: sealing
    device_id: edge-t-sealing
    scanners: [{{name: unit, port: "socket://127.0.0.1:3"}}]
    outbox: {{path: "{tmp}/sealing-outbox.sqlite3"}}
    state_path: "{tmp}/sealing-state.sqlite3"
"""
TUBING = "05391234000108"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "plant.yaml"
    path.write_text(CONFIG.format(tmp=tmp_path), encoding="utf-8")
    return path


def edge(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["edge", *args])
    return result.exit_code, result.output


def test_accept_then_reject_writes_the_verdict_into_the_assembly_store(config: Path) -> None:
    store_path = config.parent / "state-assembly.sqlite3"
    common = ("-c", "assembly", "--di", TUBING, "--lot", "TUB-1", "--signed-by", "qa.jones")
    code, out = edge("lot", "accept", str(config), *common, "--reason", "IR-7 passed")
    assert code == 0, out
    assert out == f"lot {TUBING}/TUB-1 accepted: written to {store_path}\n"

    async def state() -> tuple[str, str | None]:
        store = await AssemblyStore.open(store_path)
        try:
            status = await store.lot_status(TUBING, "TUB-1")
        finally:
            await store.close()
        return status.state, status.signed_by

    assert asyncio.run(state()) == ("accepted", "qa.jones")
    code, out = edge("lot", "reject", str(config), *common)
    assert code == 0, out
    assert asyncio.run(state()) == ("rejected", "qa.jones")


def test_lot_commands_refuse_other_checkpoints_and_bad_lots(config: Path) -> None:
    code, out = edge(
        "lot", "accept", str(config), "-c", "sealing", "--di", TUBING, "--lot", "TUB-1",
        "--signed-by", "qa",
    )  # fmt: skip
    assert code == 2
    assert "'sealing' has role 'sealing'; lot verdicts go to an assembly checkpoint" in out
    code, out = edge(
        "lot", "accept", str(config), "-c", "assembly", "--di", TUBING, "--lot", "L" * 21,
        "--signed-by", "qa",
    )  # fmt: skip
    assert code == 2
    assert "--lot: Expected `str` of length <= 20" in out


def test_show_lists_the_loaded_lots(config: Path) -> None:
    code, out = edge("lot", "show", str(config), "-c", "assembly")
    assert (code, out) == (0, "no lot loaded\n")

    async def load() -> None:
        store = await AssemblyStore.open(config.parent / "state-assembly.sqlite3")
        try:
            await store.load(
                LoadedLot(component_di=TUBING, lot="TUB-1", expiry=None, label="x", loaded_at=0)
            )
        finally:
            await store.close()

    asyncio.run(load())
    code, out = edge("lot", "show", str(config), "-c", "assembly")
    assert code == 0, out
    assert out == f"{TUBING}  lot TUB-1  expiry -  loaded 1970-01-01T00:00:00+00:00\n"


def test_work_order_with_a_bill_of_materials(config: Path) -> None:
    code, out = edge(
        "workorder", str(config), "-c", "assembly", "--work-order", "WO-9",
        "--product", "09506000134352", "--quantity", "100",
        "--bom", f"{TUBING}:0.5:m", "--bom", "05391234000207:2",
    )  # fmt: skip
    assert code == 0, out

    async def order() -> tuple[BomLine, ...]:
        state = await LocalState.open(config.parent / "state.sqlite3")
        try:
            assert state.work_order is not None
            return state.work_order.bom
        finally:
            await state.close()

    assert asyncio.run(order()) == (
        BomLine(di=TUBING, quantity_per_unit=0.5, unit_of_measure="m"),
        BomLine(di="05391234000207", quantity_per_unit=2, unit_of_measure="EA"),
    )
    code, out = edge(
        "workorder", str(config), "-c", "assembly", "--work-order", "WO-9",
        "--product", "09506000134352", "--quantity", "100", "--bom", f"{TUBING}:lots",
    )  # fmt: skip
    assert code == 2
    assert "--bom: expected DI:QUANTITY[:UNIT] such as" in out
