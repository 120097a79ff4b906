"""`Outbox`: the edge's durable store-and-forward queue, as the event loop sees it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from edge.outbox.errors import OutboxUnavailable
from edge.outbox.meters import LatencyWindow, RateWindow
from edge.outbox.records import CommittedEvent, OutboxAlarm, OutboxMetrics, OutboxRecord
from edge.outbox.writer import AckRequest, CommitRequest, OutboxWriter, PeekRequest, StopRequest
from protocols.events import Event
from protocols.topics import DEFAULT_PREFIX, event_topic

__all__ = ["Outbox"]


class Outbox:
    """Events committed here are on disk before `commit` returns and stay until the broker acks.

    Open with `await Outbox.open(...)`; use from one asyncio event loop. All SQLite work runs
    on the outbox's writer thread, so no call blocks the loop.

    `commit` assigns the device's next `seq` and its `prev_hash` in the same transaction as the
    write. If the caller is cancelled while waiting, the write may still happen (a later event
    will then follow it in the chain); it is never half done.
    """

    def __init__(self, writer: OutboxWriter, *, device_id: str, topic_prefix: str) -> None:
        self._writer = writer
        self._device_id = device_id
        self._topic_prefix = topic_prefix
        self._closed = False
        self._latency = LatencyWindow(size=2048)
        self._acked = RateWindow(window_s=10.0)
        self._commits_total = 0
        self._commit_waiters: list[asyncio.Future[None]] = []

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        device_id: str,
        max_bytes: int,
        max_age_s: float,
        topic_prefix: str = DEFAULT_PREFIX,
        max_batch: int = 1024,
        integrity_check_max_bytes: int = 256 * 1024 * 1024,
    ) -> Outbox:
        """Open (or create) the outbox file at `path` for `device_id`.

        `max_bytes` bounds the encoded bytes of waiting events and `max_age_s` the age of the
        oldest one; past either, `commit` raises OutboxFull. `max_batch` caps the requests one
        transaction takes.

        A file up to `integrity_check_max_bytes` is checked (SQLite quick_check) before `open`
        returns; a larger one, left by a long outage, is opened at once and checked on a
        background thread, because quick_check reads the whole file (bench/outbox.py: about
        2 s for 1.4 GB here, far longer on an SD card) and the line should not wait for it. A
        file that is not a database or fails the check is moved aside to
        `<name>.corrupt-<time>` (never deleted) with an alarm, and a new outbox continues the
        chain; so is a file that SQLite reports corrupt while in use.
        Raises OutboxUnavailable when the file cannot be opened at all (no space, no
        permission, another device's outbox, a newer schema).
        """
        if max_bytes <= 0 or max_age_s <= 0 or max_batch <= 0:
            raise ValueError(
                f"Outbox bounds must be positive: got max_bytes={max_bytes}, "
                f"max_age_s={max_age_s}, max_batch={max_batch}"
            )
        writer = OutboxWriter(
            Path(path),
            device_id=device_id,
            max_bytes=max_bytes,
            max_age_s=max_age_s,
            max_batch=max_batch,
            integrity_check_max_bytes=integrity_check_max_bytes,
            loop=asyncio.get_running_loop(),
        )
        await writer.start()
        return cls(writer, device_id=device_id, topic_prefix=topic_prefix)

    @property
    def path(self) -> Path:
        return self._writer.path

    @property
    def device_id(self) -> str:
        return self._device_id

    @property
    def last_seq(self) -> int:
        """The seq of the newest committed event (0 before the first, ever)."""
        return self._writer.store.state.last_seq

    @property
    def alarms(self) -> tuple[OutboxAlarm, ...]:
        """Recent alarms (corrupt file moved aside, full, unavailable, recovered)."""
        return tuple(self._writer.alarms)

    async def commit(self, event: Event) -> CommittedEvent:
        """Record `event` durably; return it with its seq, prev_hash and encoded bytes.

        Raises OutboxFull (a bound reached), OutboxUnavailable (disk full, I/O error, closed),
        ValueError for an event of another device or one that already has a seq, and
        protocols.codec.WireError for an event that cannot be encoded.
        """
        if event.device_id != self._device_id:
            raise ValueError(
                f"Cannot commit event {event.event_id}: its device_id is {event.device_id!r}, "
                f"this outbox belongs to {self._device_id!r}"
            )
        if event.seq != 0:
            raise ValueError(
                f"Cannot commit event {event.event_id}: expected seq 0 (the outbox assigns it), "
                f"got {event.seq}"
            )
        self._require_open()
        topic = event_topic(event.site, event.line, event.checkpoint, prefix=self._topic_prefix)
        future: asyncio.Future[CommittedEvent] = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        self._writer.submit(CommitRequest(event, topic, future))
        committed = await future
        self._latency.record(time.perf_counter() - started)
        self._commits_total += 1
        self._wake_commit_waiters()
        return committed

    async def peek(self, limit: int, *, after_seq: int = 0) -> list[OutboxRecord]:
        """Up to `limit` waiting events with seq > after_seq, in seq order."""
        self._require_open()
        future: asyncio.Future[list[OutboxRecord]] = asyncio.get_running_loop().create_future()
        self._writer.submit(PeekRequest(limit, after_seq, future))
        return await future

    async def ack(self, *seqs: int) -> int:
        """Delete events the broker acknowledged (PUBACK with a success code).

        Returns how many rows the transaction deleted (acks submitted together share one
        transaction, and each caller gets the shared count). Unknown seqs are ignored.
        """
        if not seqs:
            return 0
        self._require_open()
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._writer.submit(AckRequest(list(seqs), future))
        deleted = await future
        self._acked.record(len(seqs))
        return deleted

    async def wait_for_commit(self, *, after_seq: int) -> None:
        """Return once an event with seq > after_seq has been committed."""
        while self.last_seq <= after_seq:
            self._require_open()
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._commit_waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._commit_waiters:
                    self._commit_waiters.remove(waiter)

    async def wait_for_integrity_check(self) -> None:
        """Return once the background integrity check of a large file, if any, has finished.

        A corrupt file found by it is moved aside before any request submitted after this
        returns is handled.
        """
        check = self._writer.background_check
        if check is not None:
            await asyncio.to_thread(check.join)

    def metrics(self) -> OutboxMetrics:
        """A snapshot for heartbeats and the status page; cheap (no SQL)."""
        state = self._writer.store.state
        oldest_ms = state.oldest_committed_ms
        oldest_age_s = 0.0 if oldest_ms is None else max(0.0, time.time() - oldest_ms / 1000.0)
        return OutboxMetrics(
            state="closed" if self._closed else self._writer.state,
            depth=state.depth,
            stored_bytes=state.stored_bytes,
            file_bytes=self._writer.store.file_bytes(),
            oldest_age_s=oldest_age_s,
            last_seq=state.last_seq,
            commit_latency_p50_ms=self._latency.percentile_ms(0.5),
            commit_latency_p99_ms=self._latency.percentile_ms(0.99),
            commits_total=self._commits_total,
            transactions_total=self._writer.transactions_total,
            publish_rate_per_s=self._acked.per_s(),
            acked_total=self._acked.total,
            alarms=self.alarms,
        )

    async def close(self) -> None:
        """Finish queued requests and close the file. Further calls raise OutboxUnavailable."""
        if self._closed:
            return
        self._closed = True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._writer.submit(StopRequest(future))
        await future
        await asyncio.to_thread(self._writer.join, 5.0)
        for waiter in self._commit_waiters:
            if not waiter.done():
                waiter.set_exception(self._closed_error())

    async def __aenter__(self) -> Outbox:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def _require_open(self) -> None:
        if self._closed:
            raise self._closed_error()

    def _closed_error(self) -> OutboxUnavailable:
        return OutboxUnavailable(self.path, kind="closed", reason="the outbox is closed")

    def _wake_commit_waiters(self) -> None:
        waiters, self._commit_waiters = self._commit_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
