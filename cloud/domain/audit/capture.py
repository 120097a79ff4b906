"""Every change to an audited table, taken from the ORM session and appended to the chain.

Services need not call anything: `after_flush` collects the ORM objects created,
changed and deleted on audited tables (with their old and new values) and
`do_orm_execute` the bulk UPDATE / DELETE / INSERT statements on them, in the
name of the `Actor` of the request (the auth middleware sets one), or of
`SYSTEM` when there is none (the MQTT ingest, a script). `before_commit` then
appends them to the hash chain inside the same transaction: a change and its
audit row commit together or not at all.

Derived tables (units, lineage, events, ...) are not audited row by row: they
come from device events, which carry their own per-device hash chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, event, func, insert, inspect, select, tuple_, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from cloud.db.base import Base
from cloud.db.types import utc_now
from cloud.domain.audit.canonical import canonical_json, chain_hash, jsonable, redact, row_content
from cloud.domain.audit.context import Actor, current_actor
from cloud.domain.audit.models import AuditEntry, AuditHead

AUDITED_TABLES = frozenset(
    {
        "sites",
        "lines",
        "checkpoints",
        "devices",
        "products",
        "suppliers",
        "materials",
        "work_orders",
        "customers",
        "shipments",
        "shipment_items",
        "holds",
        "dispositions",
        "outgoing_commands",
        "users",
        "api_tokens",
        "device_credentials",
        "signatures",
        "nonconformances",
        "nonconformance_holds",
        "capas",
        "recalls",
        "recall_recipients",
    }
)
"""Master data and records people act on. Not here: tables derived from device events,
and a recall's frozen unit list (its hash is recorded in the audited recall row)."""

IGNORED_COLUMNS: Mapping[str, frozenset[str]] = {
    "devices": frozenset({"last_seen_at"}),
    # Each failed password check has its own `*_failed` row; a lockout is still a change.
    "users": frozenset({"failed_logins"}),
    "outgoing_commands": frozenset({"attempts", "last_error", "published_at"}),
}
"""Bookkeeping that changes on its own: a change of only these columns is not a change."""

_PENDING = "tracegate_audit_pending"
SYSTEM = Actor(name="system", kind="system")
"""Changes made with no person or device behind them: the MQTT ingest (holds an edge
decided, shipments first seen in an event), background tasks, scripts."""
_HEAD_ID = 1


class AuditChainError(RuntimeError):
    """The chain cannot be extended safely (its head is missing while rows exist)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One audit row to be: what happened to which record, by whom, and the values."""

    actor: Actor
    action: str
    record_type: str
    record_id: str
    old: Mapping[str, Any] | None = None
    new: Mapping[str, Any] | None = None
    reason: str = ""


@dataclass(slots=True)
class _Pending:
    changes: list[Change] = field(default_factory=list)


def record(session: AsyncSession | Session, change: Change) -> None:
    """Queue an audit row (a login, a signature, ...) to be appended when `session` commits."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    _pending(sync).changes.append(change)


def _pending(session: Session) -> _Pending:
    pending = session.info.get(_PENDING)
    if not isinstance(pending, _Pending):
        pending = _Pending()
        session.info[_PENDING] = pending
    return pending


_installed = False


def install() -> None:
    """Register the session listeners (once per process; called by `create_app` and the CLI)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _on_execute)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_rollback", _after_rollback)
    _installed = True


def _record_id(identity: Sequence[Any] | None) -> str:
    if not identity:
        return ""
    return ",".join(str(jsonable(part)) for part in identity)


def _identity(obj: Any) -> str:
    """The primary key as text (`state.identity` is set only after the flush completes)."""
    return _record_id(inspect(obj).mapper.primary_key_from_instance(obj))


def _columns(obj: Any) -> dict[str, str]:
    """Attribute key -> column name of the object's mapped columns."""
    mapper = inspect(obj).mapper
    return {attr.key: attr.columns[0].name for attr in mapper.column_attrs}


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    actor = current_actor() or SYSTEM
    changes = _pending(session).changes
    found: list[Change] = []
    for obj in session.new:
        table = _table_name(obj)
        if table in AUDITED_TABLES:
            state = inspect(obj)
            values = {name: state.dict.get(key) for key, name in _columns(obj).items()}
            found.append(Change(actor, "create", table, _identity(obj), None, redact(values)))
    for obj in session.dirty:
        table = _table_name(obj)
        if table not in AUDITED_TABLES:
            continue
        state = inspect(obj)
        old: dict[str, Any] = {}
        new: dict[str, Any] = {}
        for key, name in _columns(obj).items():
            history = state.attrs[key].history
            if history.added or history.deleted:
                old[name] = history.deleted[0] if history.deleted else None
                new[name] = history.added[0] if history.added else None
        ignored = IGNORED_COLUMNS.get(table, frozenset())
        if set(new) - ignored:
            found.append(
                Change(actor, "update", table, _record_id(state.identity), redact(old), redact(new))
            )
    for obj in session.deleted:
        table = _table_name(obj)
        if table in AUDITED_TABLES:
            state = inspect(obj)
            values = {name: state.dict.get(key) for key, name in _columns(obj).items()}
            found.append(Change(actor, "delete", table, _identity(obj), redact(values), None))
    found.sort(key=lambda c: (c.record_type, c.record_id, c.action))
    changes.extend(found)


def _table_name(obj: Any) -> str:
    table = getattr(obj, "__table__", None)
    return str(getattr(table, "name", ""))


def _on_execute(state: ORMExecuteState) -> Any:
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    actor = current_actor() or SYSTEM
    statement: Any = state.statement
    named = getattr(getattr(statement, "table", None), "name", None)
    if named not in AUDITED_TABLES:
        return None
    # The plain table: an ORM statement's is annotated, and selecting it would load entities.
    table = Base.metadata.tables[str(named)]
    if state.is_insert:
        result = state.invoke_statement()
        _record_inserts(state, actor, table, statement, result)
        return result
    parameter_sets = _parameter_sets(state.parameters)
    key = list(table.primary_key.columns)
    where = statement.whereclause
    query = select(table) if where is None else select(table).where(where)
    before: dict[tuple[Any, ...], dict[str, Any]] = {}
    for parameters in parameter_sets:
        for row in state.session.execute(query, parameters).mappings():
            before[tuple(row[c.name] for c in key)] = dict(row)
    result = state.invoke_statement()
    after: dict[tuple[Any, ...], dict[str, Any]] = {}
    if state.is_update and before:
        rows = state.session.execute(select(table).where(tuple_(*key).in_(list(before)))).mappings()
        after = {tuple(row[c.name] for c in key): dict(row) for row in rows}
    changes = _pending(state.session).changes
    ignored = IGNORED_COLUMNS.get(table.name, frozenset())
    for identity in sorted(before, key=lambda k: [str(part) for part in k]):
        old_row = before[identity]
        if state.is_delete:
            changes.append(
                Change(actor, "delete", table.name, _record_id(identity), redact(old_row), None)
            )
            continue
        new_row = after.get(identity, {})
        changed = [c for c in new_row if jsonable(new_row[c]) != jsonable(old_row.get(c))]
        if set(changed) - ignored:
            changes.append(
                Change(
                    actor,
                    "update",
                    table.name,
                    _record_id(identity),
                    redact({c: old_row.get(c) for c in changed}),
                    redact({c: new_row[c] for c in changed}),
                )
            )
    return result


def _parameter_sets(parameters: Any) -> list[Mapping[str, Any]]:
    if isinstance(parameters, list):
        return [p for p in parameters if isinstance(p, Mapping)] or [{}]
    return [parameters] if isinstance(parameters, Mapping) else [{}]


def _record_inserts(
    state: ORMExecuteState, actor: Actor, table: Table, statement: Any, result: Any
) -> None:
    if getattr(result, "rowcount", -1) == 0:
        return  # ON CONFLICT DO NOTHING met an existing row: nothing was created
    columns = {c.key for c in table.columns}
    sets = _parameter_sets(state.parameters)
    if sets == [{}]:
        compiled = statement.compile().params
        sets = [{k: v for k, v in compiled.items() if k in columns}]
    changes = _pending(state.session).changes
    for values in sets:
        key = [values.get(c.name) for c in table.primary_key.columns]
        record_id = _record_id(key) if all(part is not None for part in key) else ""
        changes.append(Change(actor, "create", table.name, record_id, None, redact(dict(values))))


def _before_commit(session: Session) -> None:
    # Flush first: changes still pending would otherwise be flushed after this hook.
    session.flush()
    pending = session.info.pop(_PENDING, None)
    if isinstance(pending, _Pending) and pending.changes:
        append(session.connection(), pending.changes)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def append(connection: Connection, changes: Iterable[Change]) -> int:
    """Append rows to the chain under the head's row lock; returns the new head's seq."""
    entries = _table(AuditEntry)
    head_table = _table(AuditHead)
    now = utc_now()
    head = connection.execute(
        select(head_table.c.seq, head_table.c.hash)
        .where(head_table.c.id == _HEAD_ID)
        .with_for_update()
    ).first()
    if head is None:
        existing = connection.execute(select(func.count()).select_from(entries)).scalar_one()
        if existing:
            raise AuditChainError(
                f"audit_head is missing while {existing} audit rows exist: "
                "refusing to extend a chain whose end is unknown (run `tracegate cloud audit "
                "verify`)"
            )
        connection.execute(insert(head_table).values(id=_HEAD_ID, seq=0, hash="", updated_at=now))
        seq, prev_hash = 0, ""
    else:
        seq, prev_hash = int(head.seq), str(head.hash)
    rows = []
    for change in changes:
        seq += 1
        row = entry_row(seq=seq, at=now, prev_hash=prev_hash, change=change)
        prev_hash = row["hash"]
        rows.append(row)
    if rows:
        connection.execute(insert(entries), rows)
        connection.execute(
            update(head_table)
            .where(head_table.c.id == _HEAD_ID)
            .values(seq=seq, hash=prev_hash, updated_at=now)
        )
    return seq


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def entry_row(*, seq: int, at: datetime, prev_hash: str, change: Change) -> dict[str, Any]:
    """The columns of one audit row, its hash computed over exactly what is stored."""
    values = {
        "seq": seq,
        "at": at,
        "actor": change.actor.name[:128],
        "actor_kind": change.actor.kind,
        "action": change.action,
        "record_type": change.record_type,
        "record_id": change.record_id[:128],
        "old": "" if change.old is None else canonical_json(change.old),
        "new": "" if change.new is None else canonical_json(change.new),
        "reason": (change.reason or change.actor.reason)[:2000],
        "request": change.actor.request[:300],
    }
    content = row_content(**{**values, "at": jsonable(at)})
    return {**values, "prev_hash": prev_hash, "hash": chain_hash(prev_hash, content)}
