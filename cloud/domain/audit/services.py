"""Reading, verifying and exporting the audit trail and the device event chains."""

from __future__ import annotations

import csv
import io

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.database import Database
from cloud.db.types import utc_now
from cloud.domain.audit.canonical import jsonable
from cloud.domain.audit.chain import Head, Problem, StoredRow, verify_audit_chain
from cloud.domain.audit.device_chains import StoredEvent, verify_device_chain
from cloud.domain.audit.models import AuditEntry, AuditHead
from cloud.domain.audit.schemas import AuditEntryOut, AuditExport, ProblemOut, VerifyReport
from cloud.domain.events.models import DeviceSequence, Event, SeqGap

HASH_RULE = (
    "hash = sha256_hex(prev_hash + canonical_json({seq, at, actor, actor_kind, action, "
    "record_type, record_id, old, new, reason, request})); canonical_json: sorted keys, "
    "separators ',' and ':', UTF-8, at as ISO 8601 UTC with microseconds; the first row's "
    "prev_hash is ''; audit_head holds the last seq and hash"
)
CSV_COLUMNS = (
    "seq",
    "at",
    "actor",
    "actor_kind",
    "action",
    "record_type",
    "record_id",
    "old",
    "new",
    "reason",
    "request",
    "prev_hash",
    "hash",
)


def _out(problem: Problem) -> ProblemOut:
    return ProblemOut(
        kind=problem.kind, chain=problem.chain, seq=problem.seq, message=problem.message
    )


def stored_row(entry: AuditEntry) -> StoredRow:
    return StoredRow(
        seq=entry.seq,
        at=str(jsonable(entry.at)),
        actor=entry.actor,
        actor_kind=entry.actor_kind,
        action=entry.action,
        record_type=entry.record_type,
        record_id=entry.record_id,
        old=entry.old,
        new=entry.new,
        reason=entry.reason,
        request=entry.request,
        prev_hash=entry.prev_hash,
        hash=entry.hash,
    )


class AuditService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def entries(
        self,
        *,
        record_type: str | None = None,
        record_id: str | None = None,
        after_seq: int = 0,
        limit: int = 100,
    ) -> list[AuditEntryOut]:
        query = select(AuditEntry).where(AuditEntry.seq > after_seq)
        if record_type is not None:
            query = query.where(AuditEntry.record_type == record_type)
        if record_id is not None:
            query = query.where(AuditEntry.record_id == record_id)
        async with self.db.sessions() as session:
            rows = (await session.scalars(query.order_by(AuditEntry.seq).limit(limit))).all()
        return [msgspec.convert(row, AuditEntryOut, from_attributes=True) for row in rows]

    async def verify(self, *, devices: bool = True, device_id: str | None = None) -> VerifyReport:
        """Walk the audit chain and every device's event chain (or one device's)."""
        async with self.db.sessions() as session:
            head_row = await session.get(AuditHead, 1)
            head = None if head_row is None else Head(seq=head_row.seq, hash=head_row.hash)
            entries = await session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
            rows = [stored_row(e) for e in entries]
            problems = verify_audit_chain(rows, head)
            notes: list[str] = []
            device_count = event_count = 0
            if devices:
                device_count, event_count = await _verify_devices(
                    session, device_id, problems, notes
                )
        found = [_out(p) for p in problems]
        return VerifyReport(
            ok=not found,
            audit_rows=len(rows),
            head_seq=None if head is None else head.seq,
            devices=device_count,
            events=event_count,
            first_problem=found[0] if found else None,
            problems=found,
            notes=notes,
        )

    async def export(self) -> AuditExport:
        async with self.db.sessions() as session:
            head = await session.get(AuditHead, 1)
            entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.seq))).all()
        return AuditExport(
            exported_at=utc_now(),
            head_seq=None if head is None else head.seq,
            head_hash=None if head is None else head.hash,
            hash_rule=HASH_RULE,
            entries=[msgspec.convert(e, AuditEntryOut, from_attributes=True) for e in entries],
        )

    async def export_csv(self) -> str:
        """CSV with a header row; the head is the last line (`#head,<seq>,<hash>`)."""
        document = await self.export()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for entry in document.entries:
            writer.writerow(
                [
                    str(jsonable(value)) if (value := getattr(entry, column)) is not None else ""
                    for column in CSV_COLUMNS
                ]
            )
        writer.writerow(["#head", document.head_seq or 0, document.head_hash or ""])
        return buffer.getvalue()


async def _verify_devices(
    session: AsyncSession, device_id: str | None, problems: list[Problem], notes: list[str]
) -> tuple[int, int]:
    sequences = select(DeviceSequence.device_id, DeviceSequence.max_seq)
    gaps = select(SeqGap.device_id, SeqGap.first_seq, SeqGap.last_seq).where(
        SeqGap.closed_at.is_(None)
    )
    events = select(
        Event.device_id,
        Event.event_id,
        Event.seq,
        Event.kind,
        Event.prev_hash,
        Event.payload,
        Event.seq_reused,
    ).order_by(Event.device_id, Event.seq, Event.event_id)
    if device_id is not None:
        sequences = sequences.where(DeviceSequence.device_id == device_id)
        gaps = gaps.where(SeqGap.device_id == device_id)
        events = events.where(Event.device_id == device_id)
    max_seqs = {d: int(m) for d, m in (await session.execute(sequences)).all()}
    open_gaps: dict[str, list[tuple[int, int]]] = {}
    for d, first, last in (await session.execute(gaps)).all():
        open_gaps.setdefault(d, []).append((int(first), int(last)))
    count = 0
    current: str | None = None
    chain: list[StoredEvent] = []
    seen: set[str] = set()

    def finish() -> None:
        if current is None:
            return
        found, noted = verify_device_chain(
            current, chain, max_seq=max_seqs.get(current), open_gaps=open_gaps.get(current, ())
        )
        problems.extend(found)
        notes.extend(noted)

    result = await session.stream(events.execution_options(yield_per=5000))
    async for row in result:
        if row.device_id != current:
            finish()
            current, chain = row.device_id, []
            seen.add(row.device_id)
        chain.append(
            StoredEvent.from_row(
                event_id=str(row.event_id),
                seq=int(row.seq),
                kind=row.kind,
                device_id=row.device_id,
                prev_hash=row.prev_hash,
                payload=row.payload,
                seq_reused=bool(row.seq_reused),
            )
        )
        count += 1
    finish()
    for missing in sorted(set(max_seqs) - seen):
        current, chain = missing, []
        finish()
    return len(seen | set(max_seqs)), count
