"""Walk the audit chain and name what was altered, removed or reordered: pure logic.

Each row stores `prev_hash` (the hash of the row before it) and `hash` =
sha256(prev_hash + content), where the content includes the row's `seq`.
So:

- an edited row no longer hashes to its `hash` (altered);
- an edited row whose hash was recomputed breaks the next row's `prev_hash`
  (altered, then re-hashed);
- a removed row leaves a hole in `seq`, or a head that points past the last row;
- two swapped rows each hash correctly only under the other's `seq` (reordered).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from cloud.domain.audit.canonical import chain_hash, row_content

_MOVE_WINDOW = 64
"""How far from its written place a moved row is looked for."""

ProblemKind = Literal["altered", "rehashed", "removed", "reordered", "head"]


@dataclass(frozen=True, slots=True)
class StoredRow:
    """An audit row as read back from the database (`at` already in canonical text)."""

    seq: int
    at: str
    actor: str
    actor_kind: str
    action: str
    record_type: str
    record_id: str
    old: str
    new: str
    reason: str
    request: str
    prev_hash: str
    hash: str

    def content(self, *, seq: int | None = None) -> str:
        return row_content(
            seq=self.seq if seq is None else seq,
            at=self.at,
            actor=self.actor,
            actor_kind=self.actor_kind,
            action=self.action,
            record_type=self.record_type,
            record_id=self.record_id,
            old=self.old,
            new=self.new,
            reason=self.reason,
            request=self.request,
        )

    def hashes_as(self, seq: int) -> bool:
        return chain_hash(self.prev_hash, self.content(seq=seq)) == self.hash


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing found wrong, located by the row's `seq` (or the device's event `seq`)."""

    kind: ProblemKind
    chain: str
    """`audit`, or `device:<device_id>` for a device's event chain."""
    seq: int
    message: str


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    hash: str


def verify_audit_chain(rows: Iterable[StoredRow], head: Head | None) -> list[Problem]:
    """Every problem in the chain, in `seq` order; empty when the chain is intact.

    `rows` must come in ascending `seq`.
    """
    ordered = list(rows)
    position_of_hash = {row.hash: index for index, row in enumerate(ordered)}
    problems: list[Problem] = []
    moved: dict[int, int] = {}
    altered: set[int] = set()
    for row in ordered:
        if row.hashes_as(row.seq):
            continue
        origin = _written_as(row, ordered, position_of_hash)
        if origin is not None:
            moved[row.seq] = origin
        else:
            altered.add(row.seq)
    reported_moves: set[int] = set()
    previous: StoredRow | None = None
    for row in ordered:
        expected_seq = 1 if previous is None else previous.seq + 1
        if row.seq > expected_seq and row.seq not in moved:
            first, last = expected_seq, row.seq - 1
            after = f"row {previous.seq}" if previous is not None else "the start of the chain"
            problems.append(
                Problem(
                    "removed",
                    "audit",
                    first,
                    f"audit {_rows(first, last)} removed: {after} is followed by row {row.seq}",
                )
            )
        if row.seq in moved and row.seq not in reported_moves:
            problems.append(_move_problem(row.seq, moved, reported_moves))
        elif row.seq in altered:
            problems.append(
                Problem(
                    "altered",
                    "audit",
                    row.seq,
                    f"audit row {row.seq} was altered: its content no longer matches its hash "
                    f"({row.hash[:12]}...)",
                )
            )
        elif previous is not None and row.seq not in moved:
            linked = previous.hash == row.prev_hash
            if not linked and previous.seq not in moved and previous.seq not in altered:
                if row.prev_hash in position_of_hash or row.seq != previous.seq + 1:
                    pass  # explained by a removal or a move reported above
                else:
                    problems.append(
                        Problem(
                            "rehashed",
                            "audit",
                            previous.seq,
                            f"audit row {previous.seq} was altered and its hash recomputed: "
                            f"row {row.seq} names a predecessor hash ({row.prev_hash[:12]}...) "
                            "that no row has",
                        )
                    )
        previous = row
    problems.extend(_head_problems(ordered, head, moved))
    return problems


def _written_as(
    row: StoredRow, ordered: list[StoredRow], position_of_hash: dict[str, int]
) -> int | None:
    """The `seq` a row was written with, if it validates under another one (it was moved).

    Candidates: one past the row its `prev_hash` names, and the seqs near its own
    (so a swap of near rows is found without hashing the row once per row of the chain).
    """
    candidates: list[int] = []
    if row.prev_hash == "":
        candidates.append(1)
    elif row.prev_hash in position_of_hash:
        candidates.append(ordered[position_of_hash[row.prev_hash]].seq + 1)
    candidates.extend(s for s in range(max(1, row.seq - _MOVE_WINDOW), row.seq + _MOVE_WINDOW + 1))
    for candidate in dict.fromkeys(candidates):
        if candidate != row.seq and row.hashes_as(candidate):
            return candidate
    return None


def _move_problem(seq: int, moved: dict[int, int], reported: set[int]) -> Problem:
    origin = moved[seq]
    reported.add(seq)
    if moved.get(origin) == seq:
        reported.add(origin)
        low, high = sorted((seq, origin))
        return Problem(
            "reordered",
            "audit",
            low,
            f"audit rows {low} and {high} were reordered: each was written in the other's place",
        )
    return Problem(
        "reordered",
        "audit",
        seq,
        f"audit row written as row {origin} now sits at row {seq}",
    )


def _head_problems(
    ordered: list[StoredRow], head: Head | None, moved: dict[int, int]
) -> list[Problem]:
    last = ordered[-1] if ordered else None
    if head is None:
        if last is None:
            return []
        return [
            Problem(
                "head",
                "audit",
                last.seq,
                f"audit_head is missing while the chain ends at row {last.seq}",
            )
        ]
    last_seq = last.seq if last is not None else 0
    if head.seq > last_seq:
        first = last_seq + 1
        return [
            Problem(
                "removed",
                "audit",
                first,
                f"audit {_rows(first, head.seq)} removed from the end: the head records "
                f"row {head.seq}, the last row is {last_seq or 'none'}",
            )
        ]
    if head.seq < last_seq:
        return [
            Problem(
                "head",
                "audit",
                head.seq + 1,
                f"audit rows after {head.seq} are not in the head: it records row {head.seq}, "
                f"the last row is {last_seq}",
            )
        ]
    written_last = {origin: seq for seq, origin in moved.items()}.get(last_seq, last_seq)
    ends = next((row.hash for row in ordered if row.seq == written_last), None)
    if last is not None and head.hash != ends:
        return [
            Problem(
                "altered",
                "audit",
                last.seq,
                f"audit row {last.seq} does not end the chain the head records "
                f"({head.hash[:12]}... != {last.hash[:12]}...)",
            )
        ]
    return []


def _rows(first: int, last: int) -> str:
    return f"row {first}" if first == last else f"rows {first}-{last}"
