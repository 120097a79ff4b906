"""The packing store on a real SQLite file: pruning old containers (and keeping a case its
kept pallet still names), a store written by the first release opened by this one, and an
SSCC the store knows never started twice."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from edge.checkpoint.record import Station
from edge.checkpoint.roles.packing_plan import Packer, Plan
from edge.checkpoint.roles.packing_store import CloseCase, Container, PackingStore, Pruned
from edge.checkpoint.roles.sqlite_store import RoleStoreError
from protocols.config.roles import PackingConfig
from protocols.parts import ContainerRef, UnitRef

STATION = Station(device_id="edge-t-packing", site="plant-t", line="line-t", checkpoint="packing")
DAY_S = 86400.0
DI = "09506000134352"
CONFIG = PackingConfig(case_size=2, sscc_source="generated", cases_per_pallet=2)


def unit(n: int) -> UnitRef:
    return UnitRef(di=DI, serial=f"SN{n:04d}", lot="LOT42")


async def pack(store: PackingStore, *serials: int) -> Packer:
    """Units into cases of two on pallets of two, each step written as the role does."""
    packer = Packer(
        CONFIG, station=STATION, company_prefix="5391234", snapshot=await store.snapshot()
    )
    for n in serials:
        plan = packer.plan()
        packer.add_unit(plan, unit(n))
        await store.apply(plan.step())
        packer.adopt(plan)
    return packer


def age(path: Path, sscc: str, *, days: float) -> None:
    """Make container `sscc` closed `days` ago."""
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE containers SET closed_at = ? WHERE sscc = ?", (time.time() - days * DAY_S, sscc)
        )


async def test_old_containers_are_pruned_unless_a_kept_one_names_them(tmp_path: Path) -> None:
    store = await PackingStore.open(tmp_path / "state-packing.sqlite3")
    packer = await pack(store, 1, 2, 3, 4, 5, 6)
    # Cases of units 1-2 and 3-4 fill the first pallet; units 5-6 are on the second, open.
    first = await store.placement(f"{DI}/S/SN0001")
    third = await store.placement(f"{DI}/S/SN0005")
    assert first is not None and third is not None
    case_1, case_3 = first.container, third.container
    pallet_1 = case_1.parent
    assert pallet_1 is not None and packer.pallet is not None
    assert case_3.parent == packer.pallet.sscc != pallet_1
    for sscc in (case_1.sscc, case_3.sscc, pallet_1):
        age(store.path, sscc, days=10)
    n = await store.request(CloseCase())
    await store.finish(n, ok=True, result="done")
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE requests SET done_at = ?", (time.time() - 10 * DAY_S,))

    one = await store.prune(closed_before=time.time() - 7 * DAY_S, batch=1)
    rest = await store.prune(closed_before=time.time() - 7 * DAY_S)
    assert (one.containers, rest.containers) == (1, 1)
    pruned = Pruned(
        containers=one.containers + rest.containers,
        members=one.members + rest.members,
        requests=one.requests + rest.requests,
    )

    # Case 1 and its pallet go (case 2, closed now, keeps its place: the pallet's row of it
    # went with the pallet); case 3 stays, its pallet is still open.
    assert (pruned.containers, pruned.members, pruned.requests) == (2, 2 + 2, 1)
    assert await store.container(case_1.sscc) is None
    assert await store.container(pallet_1) is None
    assert await store.placement(f"{DI}/S/SN0001") is None
    assert await store.placement(f"{DI}/S/SN0003") is not None
    assert await store.container(case_3.sscc) is not None
    assert await store.result(n) is None
    again = await store.prune(closed_before=time.time() - 7 * DAY_S)
    assert (again.containers, again.members, again.requests) == (0, 0, 0)
    await store.close()


async def test_a_store_of_the_first_release_is_read(tmp_path: Path) -> None:
    path = tmp_path / "state-packing.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE containers (sscc TEXT PRIMARY KEY, level TEXT NOT NULL, parent TEXT,
                state TEXT NOT NULL, opened_at REAL NOT NULL, closed_at REAL);
            CREATE TABLE members (child TEXT PRIMARY KEY, container TEXT NOT NULL,
                ref BLOB NOT NULL, n INTEGER NOT NULL);
            INSERT INTO containers VALUES ('353912340000000017', 'pallet', NULL, 'open', 1, NULL);
            INSERT INTO containers VALUES
                ('353912340000000024', 'case', '353912340000000017', 'closed', 2, 3),
                ('353912340000000031', 'case', '353912340000000017', 'open', 4, NULL);
            INSERT INTO members VALUES
                ('353912340000000024', '353912340000000017',
                 '{"type":"container","sscc":"353912340000000024"}', 1),
                ('G/S/1', '353912340000000024',
                 '{"type":"unit","di":"09506000134352","serial":"1"}', 1),
                ('G/S/2', '353912340000000024',
                 '{"type":"unit","di":"09506000134352","serial":"2"}', 2),
                ('G/S/3', '353912340000000031',
                 '{"type":"unit","di":"09506000134352","serial":"3"}', 1);
            """
        )
    store = PackingStore.open_now(path)
    snapshot = store.snapshot_now()
    assert snapshot.open_case == Container(
        sscc="353912340000000031", level="case", members=[UnitRef(di=DI, serial="3")]
    )
    closed = await store.container("353912340000000024")
    assert closed is not None
    assert (closed.recorded, closed.short, closed.parent) == (2, False, "353912340000000017")
    assert snapshot.open_pallet is not None
    assert snapshot.open_pallet.members == [ContainerRef(sscc="353912340000000024")]
    await store.close()


async def test_an_sscc_the_store_knows_is_never_started_again(tmp_path: Path) -> None:
    store = await PackingStore.open(tmp_path / "state-packing.sqlite3")
    packer = await pack(store, 1)
    # The counter is set back (a store copied from another day): the next case's SSCC is
    # the first one again.
    plan = Plan(case=None, pallet=None, counter=0)
    packer.case = None
    packer.counter = 0
    packer.add_unit(plan, unit(9))
    with pytest.raises(RoleStoreError, match="UNIQUE constraint failed"):
        await store.apply(plan.step())
    assert (await store.snapshot()).open_case is not None
    await store.close()
