"""The audit chain walk as pure logic: any one edit, removal or swap of rows is named."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from cloud.domain.audit.canonical import jsonable
from cloud.domain.audit.capture import Change, entry_row
from cloud.domain.audit.chain import Head, StoredRow, verify_audit_chain
from cloud.domain.audit.context import Actor

AT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def chain(length: int) -> list[StoredRow]:
    rows = []
    prev = ""
    for seq in range(1, length + 1):
        change = Change(Actor("ada", "user"), "update", "products", "1", {"n": seq}, {"n": seq + 1})
        row = entry_row(seq=seq, at=AT, prev_hash=prev, change=change)
        prev = row["hash"]
        rows.append(StoredRow(**{**row, "at": jsonable(row["at"])}))
    return rows


def head(rows: list[StoredRow]) -> Head:
    return Head(seq=rows[-1].seq, hash=rows[-1].hash)


def messages(rows: list[StoredRow], recorded: Head) -> list[str]:
    return [p.message for p in verify_audit_chain(sorted(rows, key=lambda r: r.seq), recorded)]


def test_an_intact_chain_has_no_problem() -> None:
    rows = chain(5)
    assert messages(rows, head(rows)) == []


@given(st.integers(min_value=2, max_value=12), st.data())
def test_an_edited_row_is_named(length: int, data: st.DataObject) -> None:
    rows = chain(length)
    target = data.draw(st.integers(min_value=1, max_value=length))
    edited = [dataclasses.replace(r, reason="forged") if r.seq == target else r for r in rows]
    found = messages(edited, head(rows))
    assert found[0].startswith(f"audit row {target} was altered")


@given(st.integers(min_value=3, max_value=12), st.data())
def test_a_removed_row_is_named(length: int, data: st.DataObject) -> None:
    rows = chain(length)
    target = data.draw(st.integers(min_value=1, max_value=length))
    found = messages([r for r in rows if r.seq != target], head(rows))
    assert len(found) == 1
    assert found[0].startswith(f"audit row {target} removed")


@given(st.integers(min_value=3, max_value=12), st.data())
def test_two_swapped_rows_are_named(length: int, data: st.DataObject) -> None:
    rows = chain(length)
    first = data.draw(st.integers(min_value=1, max_value=length - 1))
    second = data.draw(st.integers(min_value=first + 1, max_value=length))
    swap = {first: second, second: first}
    moved = [dataclasses.replace(r, seq=swap.get(r.seq, r.seq)) for r in rows]
    assert messages(moved, head(rows)) == [
        f"audit rows {first} and {second} were reordered: each was written in the other's place"
    ]


def test_a_missing_head_is_named() -> None:
    rows = chain(3)
    assert messages(rows, None) == ["audit_head is missing while the chain ends at row 3"]
