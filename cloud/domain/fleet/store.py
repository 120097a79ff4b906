"""Keep each device's latest `device.status`, its online/offline changes, and the dead letters.

One transaction per batch of status messages. Every cloud instance receives every status
message (a plain subscription, not a shared one: a retained message goes to each new
subscriber), so the same message may be written by several instances: a message already
stored is skipped, and the row is replaced only by a message received no earlier than the
one it holds (`ON CONFLICT ... DO UPDATE ... WHERE`), so a slow instance cannot put an older
state back.

Nothing in a payload can stop the consumer: a message that fails the checks is dead-lettered
like a bad event, and a batch the database refuses is retried message by message, the one it
refuses dead-lettered with the database's reason.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.database import Database
from cloud.db.dialect import insert_for
from cloud.domain.events.devices import DeviceRegistry
from cloud.domain.events.ingest import StoreUnavailableError
from cloud.domain.events.models import DeadLetter
from cloud.domain.events.validation import Refused
from cloud.domain.fleet.checks import CheckedStatus, Cleared, StatusReceipt, check_status
from cloud.domain.fleet.models import DeviceStatusChange, DeviceStatusRow

log = logging.getLogger(__name__)

HISTORY_PER_DEVICE = 20
"""Online/offline changes kept per device: enough to see an agent flapping."""

_encode = msgspec.json.Encoder().encode


@dataclass(slots=True)
class StatusResult:
    """What became of a batch of status messages."""

    stored: int = 0
    """Messages that replaced their device's status."""
    unchanged: int = 0
    """The stored message again (a retained copy at resubscription, another instance's
    write) or one received before the stored one."""
    refused: int = 0
    """Dead-lettered."""
    cleared: int = 0
    """Empty messages that removed a topic's status."""
    changes: int = 0
    """Online/offline changes recorded."""

    def add(self, other: StatusResult) -> None:
        self.stored += other.stored
        self.unchanged += other.unchanged
        self.refused += other.refused
        self.cleared += other.cleared
        self.changes += other.changes


@dataclass(slots=True)
class _Known:
    event_id: uuid.UUID
    online: bool
    since: datetime
    received_at: datetime


class StatusStore:
    """Validates and stores status messages; used by the status consumer."""

    def __init__(
        self,
        db: Database,
        *,
        topic_prefix: str,
        accept_unknown_devices: bool,
        max_bytes: int,
        dead_letter_keep_bytes: int,
    ) -> None:
        self.db = db
        self.topic_prefix = topic_prefix
        self.max_bytes = max_bytes
        self.dead_letter_keep_bytes = dead_letter_keep_bytes
        self.registry = DeviceRegistry(accept_unknown=accept_unknown_devices)

    async def record(self, receipts: Sequence[StatusReceipt]) -> StatusResult:
        """Store a batch; raises StoreUnavailableError only when the database is unreachable."""
        checked: list[CheckedStatus] = []
        cleared: list[Cleared] = []
        refused: list[Refused] = []
        for receipt in receipts:
            outcome = check_status(
                receipt, topic_prefix=self.topic_prefix, max_bytes=self.max_bytes
            )
            if isinstance(outcome, CheckedStatus):
                checked.append(outcome)
            elif isinstance(outcome, Cleared):
                cleared.append(outcome)
            else:
                refused.append(outcome)
        try:
            return await self._store(checked, cleared, refused)
        except Exception as exc:
            self.registry.forget()
            if _unreachable(exc):
                raise StoreUnavailableError(f"database unreachable: {exc}") from exc
            if len(receipts) > 1:
                log.warning("status batch of %d retried one by one after: %s", len(receipts), exc)
                result = StatusResult()
                for receipt in receipts:
                    result.add(await self.record([receipt]))
                return result
            log.error("the database refused a status message; it is dead-lettered", exc_info=exc)
            reason = f"database refused the status: {type(exc).__name__}: {exc}"[:2000]
            rejected = [Refused(r.incoming, "rejected", reason) for r in receipts]
            return await self._store([], [], rejected)

    async def _store(
        self, checked: list[CheckedStatus], cleared: list[Cleared], refused: list[Refused]
    ) -> StatusResult:
        result = StatusResult(cleared=len(cleared))
        async with self.db.sessions.begin() as session:
            accepted = await self._bound(session, checked, refused)
            known = await _known(session, {item.status.device_id for item in accepted})
            rows: dict[str, dict[str, Any]] = {}
            changes: list[dict[str, Any]] = []
            for item in accepted:
                status, receipt = item.status, item.receipt
                received_at = receipt.incoming.received_at
                before = known.get(status.device_id)
                if before is not None and (
                    before.event_id == status.event_id or received_at < before.received_at
                ):
                    result.unchanged += 1
                    continue
                # A retained copy was published some time before the subscription handed it
                # over: the device clock tells when, but never later than its receipt.
                heard_at = min(status.occurred_at, received_at) if receipt.retained else received_at
                changed = before is None or before.online != status.online
                since = heard_at if changed or before is None else before.since
                known[status.device_id] = _Known(status.event_id, status.online, since, received_at)
                rows[status.device_id] = {
                    "device_id": status.device_id,
                    "topic": receipt.incoming.topic[:300],
                    "site": status.site,
                    "line": status.line,
                    "checkpoint": status.checkpoint,
                    "online": status.online,
                    "since": since,
                    "heard_at": heard_at,
                    "event_id": status.event_id,
                    "occurred_at": status.occurred_at,
                    "received_at": received_at,
                    "retained": receipt.retained,
                    "software_version": status.software_version,
                    "config_hash": status.config_hash,
                    "adapters": _encode(status.adapters).decode("utf-8"),
                    "outbox_depth": status.outbox_depth,
                    "outbox_oldest_age_s": status.outbox_oldest_age_s,
                    "outbox_bytes": status.outbox_bytes,
                }
                result.stored += 1
                if changed:
                    changes.append(
                        {
                            "device_id": status.device_id,
                            "online": status.online,
                            "at": heard_at,
                            "event_id": status.event_id,
                            "retained": receipt.retained,
                        }
                    )
            await _upsert(session, list(rows.values()))
            result.changes = await _record_changes(session, changes)
            if cleared:
                await session.execute(
                    delete(DeviceStatusRow).where(
                        DeviceStatusRow.topic.in_({c.receipt.incoming.topic for c in cleared})
                    )
                )
                for clear in cleared:
                    log.info(
                        "status of %s cleared (empty retained message)",
                        clear.receipt.incoming.topic,
                    )
            await self._dead_letter(session, refused)
        result.refused = len(refused)
        return result

    async def _bound(
        self, session: AsyncSession, checked: list[CheckedStatus], refused: list[Refused]
    ) -> list[CheckedStatus]:
        """Keep statuses whose device is bound to the checkpoint they name; refuse the rest."""
        if not checked:
            return []
        wanted = {
            (c.status.device_id, c.status.site, c.status.line, c.status.checkpoint) for c in checked
        }
        bindings = await self.registry.bindings(session, wanted)
        accepted = []
        for item in checked:
            status = item.status
            binding = bindings.get(status.device_id)
            named = f"{status.site}/{status.line}/{status.checkpoint}"
            if binding is None:
                refused.append(
                    Refused(
                        item.receipt.incoming,
                        "unknown_device",
                        f"status {status.event_id} comes from device {status.device_id!r}, "
                        "which is not registered (and unknown devices are not accepted)",
                    )
                )
            elif binding.path != named:
                refused.append(
                    Refused(
                        item.receipt.incoming,
                        "spoof",
                        f"status {status.event_id} names device {status.device_id!r} at "
                        f"{named!r}, but that device is registered at {binding.path!r}",
                    )
                )
            else:
                accepted.append(item)
        return accepted

    async def _dead_letter(self, session: AsyncSession, refused: list[Refused]) -> None:
        if not refused:
            return
        keep = self.dead_letter_keep_bytes
        await session.execute(
            insert(DeadLetter),
            [
                {
                    "source": item.incoming.source,
                    "topic": item.incoming.topic[:300],
                    "reason_code": item.code,
                    "reason": item.reason[:2000],
                    "payload": item.incoming.payload[:keep],
                    "payload_size": len(item.incoming.payload),
                    "received_at": item.incoming.received_at,
                }
                for item in refused
            ],
        )


async def _known(session: AsyncSession, device_ids: set[str]) -> dict[str, _Known]:
    if not device_ids:
        return {}
    rows = await session.execute(
        select(
            DeviceStatusRow.device_id,
            DeviceStatusRow.event_id,
            DeviceStatusRow.online,
            DeviceStatusRow.since,
            DeviceStatusRow.received_at,
        ).where(DeviceStatusRow.device_id.in_(device_ids))
    )
    return {d: _Known(e, o, s, r) for d, e, o, s, r in rows}


async def _upsert(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = insert_for(session, DeviceStatusRow)
    excluded = statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[DeviceStatusRow.device_id],
            set_={name: excluded[name] for name in rows[0] if name != "device_id"},
            # Another instance may have stored a newer message meanwhile: keep it.
            where=DeviceStatusRow.received_at <= excluded.received_at,
        ),
        rows,
    )


async def _record_changes(session: AsyncSession, changes: list[dict[str, Any]]) -> int:
    if not changes:
        return 0
    await session.execute(
        insert_for(session, DeviceStatusChange).on_conflict_do_nothing(
            index_elements=[DeviceStatusChange.device_id, DeviceStatusChange.event_id]
        ),
        changes,
    )
    # One statement for every device of the batch (a cloud instance that connects gets every
    # agent's first status at once: a statement per device cost about 1 ms each).
    ranked = (
        select(
            DeviceStatusChange.id,
            func.row_number()
            .over(partition_by=DeviceStatusChange.device_id, order_by=DeviceStatusChange.id.desc())
            .label("newer"),
        )
        .where(DeviceStatusChange.device_id.in_({change["device_id"] for change in changes}))
        .subquery()
    )
    await session.execute(
        delete(DeviceStatusChange).where(
            DeviceStatusChange.id.in_(
                select(ranked.c.id).where(ranked.c.newer > HISTORY_PER_DEVICE)
            )
        )
    )
    return len(changes)


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(state, str):
            return state
    return None


def _unreachable(exc: BaseException) -> bool:
    """The database is away (retry later), as opposed to refusing this input."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    state = _sqlstate(exc)
    if state is not None:
        return state.startswith("08") or state in ("57P01", "57P02", "57P03", "40001", "40P01")
    return isinstance(exc, OSError | ConnectionError | TimeoutError) or (
        isinstance(exc, OperationalError) and ("unable to open" in str(exc) or "locked" in str(exc))
    )
