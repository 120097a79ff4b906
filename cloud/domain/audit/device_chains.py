"""Walk one device's event chain as stored: pure logic over rows read in `seq` order.

An event's `prev_hash` is the SHA-256 of the device's previous event exactly as
encoded (DESIGN.md), and the stored payload is those bytes. So:

- a payload edited in the database no longer hashes to the next event's `prev_hash`;
- a column edited (seq, kind, device) disagrees with the payload it came in;
- two events whose `seq` columns were swapped each carry the other's seq inside;
- a removed event leaves a hole in `seq` that the ingest never recorded as a gap
  (gaps it recorded are events that never arrived, reported as such).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from cloud.domain.audit.chain import Problem
from protocols.codec import event_hash


@dataclass(frozen=True, slots=True)
class Envelope:
    """The envelope fields as the payload states them."""

    event_id: str
    seq: int
    kind: str
    device_id: str
    prev_hash: str


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event row reduced to what the walk needs (the payload only as its hash)."""

    event_id: str
    seq: int
    kind: str
    device_id: str
    prev_hash: str
    payload_hash: str
    """`event_hash` of the stored payload: what the next event's `prev_hash` must be."""
    envelope: Envelope | None
    """The payload's own envelope, or None when the payload is not a JSON event."""
    seq_reused: bool = False

    @classmethod
    def from_row(
        cls,
        *,
        event_id: str,
        seq: int,
        kind: str,
        device_id: str,
        prev_hash: str,
        payload: str,
        seq_reused: bool = False,
    ) -> StoredEvent:
        data = payload.encode("utf-8")
        return cls(
            event_id=event_id,
            seq=seq,
            kind=kind,
            device_id=device_id,
            prev_hash=prev_hash,
            payload_hash=event_hash(data),
            envelope=_envelope(data),
            seq_reused=seq_reused,
        )


_decoder = msgspec.json.Decoder(dict[str, Any])


def _envelope(payload: bytes) -> Envelope | None:
    try:
        document = _decoder.decode(payload)
    except msgspec.DecodeError:
        return None
    try:
        return Envelope(
            event_id=str(document["event_id"]),
            seq=int(document["seq"]),
            kind=str(document["kind"]),
            device_id=str(document["device_id"]),
            prev_hash=str(document.get("prev_hash", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None


def verify_device_chain(
    device_id: str,
    events: Iterable[StoredEvent],
    *,
    max_seq: int | None,
    open_gaps: Sequence[tuple[int, int]] = (),
) -> tuple[list[Problem], list[str]]:
    """(problems, notes) for one device; notes name events that never arrived.

    `events` in ascending `seq`; `max_seq` is the highest seq the ingest recorded.
    """
    chain = f"device:{device_id}"
    problems: list[Problem] = []
    notes: list[str] = []
    rows = list(events)
    envelopes = [row.envelope for row in rows]
    swapped: dict[int, int] = {}
    for row, envelope in zip(rows, envelopes, strict=True):
        if envelope is not None and envelope.seq != row.seq:
            swapped[row.seq] = envelope.seq
    reported: set[int] = set()
    previous: StoredEvent | None = None
    previous_ok = False
    for row, envelope in zip(rows, envelopes, strict=True):
        where = f"event {row.event_id} (device {device_id}, seq {row.seq})"
        if row.seq in swapped and row.seq not in reported:
            other = swapped[row.seq]
            reported.update({row.seq, other})
            if swapped.get(other) == row.seq:
                low, high = sorted((row.seq, other))
                problems.append(
                    Problem(
                        "reordered",
                        chain,
                        low,
                        f"events seq {low} and {high} of device {device_id} were reordered: "
                        "each carries the other's seq in its payload",
                    )
                )
            else:
                problems.append(
                    Problem(
                        "altered",
                        chain,
                        row.seq,
                        f"{where} was altered: its payload says seq {other}",
                    )
                )
        elif envelope is None:
            problems.append(
                Problem("altered", chain, row.seq, f"{where} was altered: its payload is not JSON")
            )
        elif row.seq not in swapped:
            mismatch = [
                name
                for name, stored, sent in (
                    ("event_id", row.event_id, envelope.event_id),
                    ("kind", row.kind, envelope.kind),
                    ("device_id", row.device_id, envelope.device_id),
                    ("prev_hash", row.prev_hash, envelope.prev_hash),
                )
                if stored != sent
            ]
            if mismatch:
                problems.append(
                    Problem(
                        "altered",
                        chain,
                        row.seq,
                        f"{where} was altered: column(s) {', '.join(mismatch)} differ from the "
                        "payload",
                    )
                )
        if previous is not None and not (row.seq_reused or previous.seq_reused):
            expected = previous.seq + 1
            if row.seq > expected and not _covered(expected, row.seq - 1, open_gaps):
                problems.append(
                    _removed(
                        chain,
                        device_id,
                        expected,
                        row.seq - 1,
                        f"seq {previous.seq} is followed by seq {row.seq}",
                    )
                )
            elif row.seq > expected:
                notes.append(_never_arrived(device_id, expected, row.seq - 1))
            elif (
                row.seq == expected
                and previous_ok
                and envelope is not None
                and row.seq not in swapped
                and previous.payload_hash != envelope.prev_hash
            ):
                problems.append(
                    Problem(
                        "altered",
                        chain,
                        previous.seq,
                        f"event {previous.event_id} (device {device_id}, seq {previous.seq}) "
                        f"was altered: it no longer hashes to the prev_hash of seq {row.seq}",
                    )
                )
        elif previous is None and row.seq > 1:
            if _covered(1, row.seq - 1, open_gaps):
                notes.append(_never_arrived(device_id, 1, row.seq - 1))
            else:
                problems.append(
                    _removed(chain, device_id, 1, row.seq - 1, f"the chain starts at seq {row.seq}")
                )
        previous = row
        previous_ok = envelope is not None and row.seq not in swapped
    last = previous.seq if previous is not None else 0
    if max_seq is not None and max_seq > last:
        if _covered(last + 1, max_seq, open_gaps):
            notes.append(_never_arrived(device_id, last + 1, max_seq))
        else:
            problems.append(
                _removed(
                    chain,
                    device_id,
                    last + 1,
                    max_seq,
                    f"the ingest recorded seq up to {max_seq}, the last stored is {last}",
                )
            )
    return problems, notes


def _covered(first: int, last: int, gaps: Sequence[tuple[int, int]]) -> bool:
    """Whether every seq in [first, last] lies in a gap the ingest recorded as still open."""
    return all(any(lo <= seq <= hi for lo, hi in gaps) for seq in range(first, last + 1))


def _removed(chain: str, device_id: str, first: int, last: int, context: str) -> Problem:
    which = f"seq {first}" if first == last else f"seq {first}-{last}"
    return Problem(
        "removed",
        chain,
        first,
        f"event(s) {which} of device {device_id} removed: {context}, and the ingest recorded "
        "no gap there",
    )


def _never_arrived(device_id: str, first: int, last: int) -> str:
    which = f"seq {first}" if first == last else f"seq {first}-{last}"
    return f"device {device_id}: {which} never arrived (an open gap recorded by the ingest)"
