"""The outbox's writer thread: one SQLite connection, group commit, results to the event loop.

Every request (commit, ack, peek, close) goes through one queue. The thread takes all requests
waiting at that moment and writes their commits and acks in a single transaction, so
concurrent commits share one fsync: while one fsync runs, the next group gathers. On a Pi's SD
card an fsync takes milliseconds (DESIGN.md), which is why the commits are grouped rather than
written one transaction each.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

from edge.outbox.errors import OutboxFull, OutboxUnavailable
from edge.outbox.quarantine import integrity_problems
from edge.outbox.records import (
    AlarmCode,
    CommittedEvent,
    OutboxAlarm,
    OutboxRecord,
    OutboxState,
)
from edge.outbox.store import AppendRow, OutboxStore, is_corruption, unavailable_from
from protocols.codec import encode_event, event_hash
from protocols.events import Event

__all__ = ["AckRequest", "CommitRequest", "OutboxWriter", "PeekRequest", "StopRequest"]

log = logging.getLogger("edge.outbox")

_MAX_ALARMS = 100


@dataclass(slots=True)
class CommitRequest:
    event: Event
    topic: str
    future: asyncio.Future[CommittedEvent]


@dataclass(slots=True)
class AckRequest:
    seqs: list[int]
    future: asyncio.Future[int]


@dataclass(slots=True)
class PeekRequest:
    limit: int
    after_seq: int
    future: asyncio.Future[list[OutboxRecord]]


@dataclass(slots=True)
class StopRequest:
    future: asyncio.Future[None]


@dataclass(slots=True)
class RotateRequest:
    """From the background integrity check: the file it checked is corrupt."""

    problem: str
    store_generation: int


Request = CommitRequest | AckRequest | PeekRequest | StopRequest | RotateRequest
_Outcome = tuple["asyncio.Future[Any]", object, BaseException | None]


@dataclass(slots=True)
class _Bounds:
    max_bytes: int
    max_age_ms: int


@dataclass(slots=True)
class _Batch:
    commits: list[CommitRequest] = field(default_factory=list)
    acks: list[AckRequest] = field(default_factory=list)
    peeks: list[PeekRequest] = field(default_factory=list)
    rotations: list[RotateRequest] = field(default_factory=list)
    stop: StopRequest | None = None


class OutboxWriter:
    """Owns the outbox file on a dedicated thread; talks to one asyncio loop."""

    def __init__(
        self,
        path: Path,
        *,
        device_id: str,
        max_bytes: int,
        max_age_s: float,
        max_batch: int,
        integrity_check_max_bytes: int,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.path = path
        self._device_id = device_id
        self._bounds = _Bounds(max_bytes=max_bytes, max_age_ms=round(max_age_s * 1000))
        self._max_age_s = max_age_s
        self._max_batch = max_batch
        self._integrity_check_max_bytes = integrity_check_max_bytes
        self._store_generation = 0
        self.background_check: threading.Thread | None = None
        self._loop = loop
        self._queue: queue.SimpleQueue[Request] = queue.SimpleQueue()
        self._store: OutboxStore | None = None
        self.state: OutboxState = "ok"
        self.transactions_total = 0
        self.alarms: deque[OutboxAlarm] = deque(maxlen=_MAX_ALARMS)
        self._thread = threading.Thread(target=self._run, name=f"outbox-writer:{path.name}")
        self._opened: asyncio.Future[None] = loop.create_future()

    async def start(self) -> None:
        """Open the file on the writer thread; raises OutboxUnavailable if it cannot."""
        self._thread.start()
        await self._opened

    def submit(self, request: Request) -> None:
        self._queue.put(request)

    @property
    def store(self) -> OutboxStore:
        assert self._store is not None, "the writer has not opened the store"
        return self._store

    def join(self, timeout_s: float) -> None:
        self._thread.join(timeout_s)

    # --- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        check_now = _file_bytes(self.path) <= self._integrity_check_max_bytes
        try:
            self._store, alarms = OutboxStore.open(
                self.path, device_id=self._device_id, check_integrity=check_now, now=_utc_now
            )
        except BaseException as exc:  # handed to the opener; the thread ends
            failed: list[_Outcome] = [(self._opened, None, exc)]
            self._loop.call_soon_threadsafe(_resolve, failed)
            return
        self.alarms.extend(alarms)
        if not check_now:
            self.background_check = threading.Thread(
                target=self._check_in_background,
                args=(self._store_generation,),
                name=f"outbox-check:{self.path.name}",
                daemon=True,
            )
            self.background_check.start()
        # Only now: `Outbox.wait_for_integrity_check` must see the check once open returns.
        opened: list[_Outcome] = [(self._opened, None, None)]
        self._loop.call_soon_threadsafe(_resolve, opened)
        while True:
            batch = self._next_batch()
            outcomes: list[_Outcome] = []
            try:
                for rotation in batch.rotations:
                    if rotation.store_generation == self._store_generation:
                        self._restart_fresh(rotation.problem)
                self._write(batch, outcomes)
                for peek in batch.peeks:
                    records = self._store.peek(peek.limit, after_seq=peek.after_seq)
                    outcomes.append((peek.future, records, None))
            except Exception as exc:  # a bug must not kill the thread and hang every caller
                log.exception("outbox writer failed on a batch")
                failure = OutboxUnavailable(
                    self.path, kind="error", reason=f"internal error: {exc!r}"
                )
                done = {id(f) for f, _, _ in outcomes}
                futures: list[asyncio.Future[Any]] = [
                    *(r.future for r in batch.commits),
                    *(r.future for r in batch.acks),
                    *(r.future for r in batch.peeks),
                ]
                outcomes.extend((f, None, failure) for f in futures if id(f) not in done)
            if batch.stop is not None:
                self._store.close()
                outcomes.append((batch.stop.future, None, None))
                self._loop.call_soon_threadsafe(_resolve, outcomes)
                return
            if outcomes:
                self._loop.call_soon_threadsafe(_resolve, outcomes)

    def _next_batch(self) -> _Batch:
        batch = _Batch()
        request: Request | None = self._queue.get()
        count = 0
        while request is not None:
            if isinstance(request, CommitRequest):
                batch.commits.append(request)
            elif isinstance(request, AckRequest):
                batch.acks.append(request)
            elif isinstance(request, PeekRequest):
                batch.peeks.append(request)
            elif isinstance(request, RotateRequest):
                batch.rotations.append(request)
            else:
                batch.stop = request
                break
            count += 1
            if count >= self._max_batch:
                break
            try:
                request = self._queue.get_nowait()
            except queue.Empty:
                request = None
        return batch

    def _write(self, batch: _Batch, outcomes: list[_Outcome]) -> None:
        store = self.store
        state = store.state
        now_ms = time.time_ns() // 1_000_000
        last_seq, head_hash = state.last_seq, state.head_hash
        pending_bytes = state.stored_bytes
        appends: list[AppendRow] = []
        accepted: list[tuple[CommitRequest, CommittedEvent]] = []
        full: OutboxFull | None = None
        for request in batch.commits:
            seq = last_seq + 1
            try:
                event = msgspec.structs.replace(request.event, seq=seq, prev_hash=head_hash)
                encoded = encode_event(event)
            except Exception as exc:  # WireError or a constraint: only this caller's problem
                outcomes.append((request.future, None, exc))
                continue
            refusal = self._refusal(pending_bytes, len(encoded), now_ms, len(appends))
            if refusal is not None:
                full = refusal
                outcomes.append((request.future, None, refusal))
                continue
            appends.append(AppendRow(seq, request.topic, encoded, now_ms))
            accepted.append(
                (request, CommittedEvent(event, seq, head_hash, encoded, request.topic))
            )
            pending_bytes += len(encoded)
            last_seq, head_hash = seq, event_hash(encoded)
        ack_seqs = [seq for ack in batch.acks for seq in ack.seqs]
        if not appends and not ack_seqs:
            if full is not None:
                self._enter("full", "outbox_full", str(full))
            return
        try:
            deleted = store.write(appends, head_hash, ack_seqs)
        except sqlite3.Error as exc:
            doing = f"writing {_count(len(appends), 'event')} and {_count(len(ack_seqs), 'ack')}"
            failure = unavailable_from(self.path, exc, doing=doing)
            self._enter("unavailable", "outbox_unavailable", str(failure))
            for request, _ in accepted:
                outcomes.append((request.future, None, failure))
            for ack in batch.acks:
                outcomes.append((ack.future, None, failure))
            if is_corruption(exc):
                self._restart_fresh(failure.reason)
            return
        self.transactions_total += 1
        for request, committed in accepted:
            outcomes.append((request.future, committed, None))
        # Acks of one batch share one DELETE; each caller learns the batch total.
        for ack in batch.acks:
            outcomes.append((ack.future, deleted, None))
        if full is not None:
            self._enter("full", "outbox_full", str(full))
        elif appends:
            self._enter("ok", "outbox_recovered", "")

    def _restart_fresh(self, problem: str) -> None:
        self._store, alarm = self.store.restart_fresh(
            device_id=self._device_id, problem=problem, now=_utc_now
        )
        self._store_generation += 1
        self.alarms.append(alarm)

    def _check_in_background(self, store_generation: int) -> None:
        """quick_check a file too big to check before opening, beside the writer."""
        log.info("Checking the integrity of outbox %s in the background", self.path)
        problems = integrity_problems(self.path)
        if problems:
            problem = f"integrity check failed: {'; '.join(problems[:3])}"
            self._queue.put(RotateRequest(problem, store_generation))

    def _refusal(
        self, pending_bytes: int, size: int, now_ms: int, batch_rows: int
    ) -> OutboxFull | None:
        state = self.store.state
        depth = state.depth + batch_rows
        oldest_ms = state.oldest_committed_ms
        age_s = 0.0 if oldest_ms is None else max(0.0, (now_ms - oldest_ms) / 1000.0)
        bound: Literal["bytes", "age"] | None = None
        if pending_bytes + size > self._bounds.max_bytes:
            bound = "bytes"
        elif oldest_ms is not None and now_ms - oldest_ms > self._bounds.max_age_ms:
            bound = "age"
        if bound is None:
            return None
        return OutboxFull(
            self.path,
            bound=bound,
            depth=depth,
            stored_bytes=pending_bytes,
            event_bytes=size,
            max_bytes=self._bounds.max_bytes,
            oldest_seq=state.oldest_seq,
            oldest_age_s=age_s,
            max_age_s=self._max_age_s,
        )

    def _enter(self, state: OutboxState, code: AlarmCode, message: str) -> None:
        """Raise an alarm on the transition into a state, not on every refused commit."""
        if state == self.state:
            return
        previous, self.state = self.state, state
        if state == "ok":
            message = f"Outbox {self.path} accepts events again (was {previous})"
            log.warning(message)
        else:
            log.error(message)
        self.alarms.append(OutboxAlarm(code=code, message=message, raised_at=_utc_now()))


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _file_bytes(path: Path) -> int:
    total = 0
    for name in (path.name, path.name + "-wal"):
        with contextlib.suppress(OSError):
            total += path.with_name(name).stat().st_size
    return total


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _resolve(outcomes: list[_Outcome]) -> None:
    for future, result, error in outcomes:
        if future.done():  # the caller was cancelled; the write happened regardless
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
