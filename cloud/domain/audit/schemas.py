"""Response bodies of the audit trail API."""

from __future__ import annotations

from datetime import datetime

import msgspec


class AuditEntryOut(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    at: datetime
    actor: str
    actor_kind: str
    action: str
    record_type: str
    record_id: str
    old: str
    """Canonical JSON of the values before ("" for a creation)."""
    new: str
    reason: str
    request: str
    prev_hash: str
    hash: str


class ProblemOut(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    """`altered`, `rehashed`, `removed`, `reordered` or `head`."""
    chain: str
    """`audit` or `device:<device_id>`."""
    seq: int
    message: str


class VerifyReport(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    audit_rows: int
    head_seq: int | None
    devices: int
    events: int
    first_problem: ProblemOut | None
    """The first row or event found altered, removed or reordered (audit chain first)."""
    problems: list[ProblemOut]
    notes: list[str]
    """Not tampering: events the ingest recorded as never received (open seq gaps)."""


class AuditExport(msgspec.Struct, frozen=True, kw_only=True):
    """The whole chain for an inspector: rows with their hashes, and the head they end at."""

    exported_at: datetime
    head_seq: int | None
    head_hash: str | None
    hash_rule: str
    entries: list[AuditEntryOut]
