"""`Publisher`: drains the outbox to the MQTT broker, in seq order, deleting only on PUBACK."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from edge.outbox import Outbox, OutboxError
from edge.publish.credentials import load_credentials
from edge.publish.link import Ack, BrokerLink, LinkOptions
from edge.publish.status import (
    AlarmKind,
    LinkState,
    PublishAlarm,
    PublisherStatus,
    StatusIdentity,
    device_status,
)
from edge.publish.tls import MqttTls
from protocols.events import AdapterState
from protocols.topics import DEFAULT_PREFIX, command_filter, status_topic

__all__ = ["Publisher"]

log = logging.getLogger("edge.publish")

_MAX_ALARMS = 100
_OUTBOX_RETRY_S = 1.0


class Publisher:
    """Publishes the outbox's events to MQTT (v5, QoS 1, persistent session) and status messages.

    - Events go out strictly in seq order; after a reconnect the publisher resends from the
      oldest event still in the outbox, so a backlog drains at full speed and events committed
      meanwhile keep their place behind it.
    - An event is deleted from the outbox only after a PUBACK with a success reason code. A
      refusal (reason code >= 0x80) raises an alarm; the event stays, the link reconnects after
      a backoff and the publisher resends from the oldest waiting event, so it keeps its place.
    - The retained status topic carries a device.status (seq 0, outside the event chain): a
      birth message on every connection, a heartbeat every `heartbeat_interval_s`, and the
      MQTT will (online false) for when the agent vanishes. Status messages bypass the outbox:
      they are state, not records, and a stale heartbeat replayed after an outage would be
      wrong.
    - Connection failures (refused CONNACK, TLS, network) are logged, kept in `status()`, and
      retried with capped exponential backoff and jitter on the link's own thread.
    """

    def __init__(
        self,
        outbox: Outbox,
        *,
        host: str,
        port: int = 1883,
        transport: Literal["tcp", "websockets"] = "tcp",
        websocket_path: str = "/mqtt",
        site: str,
        line: str,
        checkpoint: str,
        software_version: str,
        config_hash: str,
        topic_prefix: str = DEFAULT_PREFIX,
        client_id: str | None = None,
        tls: MqttTls | None = None,
        credentials_file: Path | None = None,
        keepalive_s: int = 30,
        session_expiry_s: int = 7 * 24 * 3600,
        connect_timeout_s: float = 5.0,
        max_inflight: int = 64,
        read_ahead: int = 1000,
        reconnect_initial_s: float = 1.0,
        reconnect_max_s: float = 60.0,
        heartbeat_interval_s: float = 30.0,
        adapter_states: Callable[[], Sequence[AdapterState]] | None = None,
        on_command: Callable[[str, bytes], None] | None = None,
    ) -> None:
        if max_inflight < 1 or read_ahead < 1 or heartbeat_interval_s <= 0:
            raise ValueError(
                f"Invalid publisher options: expected max_inflight >= 1, read_ahead >= 1, "
                f"heartbeat_interval_s > 0, got {max_inflight}, {read_ahead}, "
                f"{heartbeat_interval_s}"
            )
        self._outbox = outbox
        self._host, self._port = host, port
        self._transport: Literal["tcp", "websockets"] = transport
        self._websocket_path = websocket_path
        self._identity = StatusIdentity(
            device_id=outbox.device_id,
            site=site,
            line=line,
            checkpoint=checkpoint,
            software_version=software_version,
            config_hash=config_hash,
        )
        self._status_topic = status_topic(site, line, checkpoint, prefix=topic_prefix)
        self._command_filter = (
            command_filter(site, line, checkpoint, prefix=topic_prefix) if on_command else None
        )
        self._client_id = client_id or f"tracegate-edge-{outbox.device_id}"
        self._tls = tls
        self._credentials_file = credentials_file
        self._keepalive_s = keepalive_s
        self._session_expiry_s = session_expiry_s
        self._connect_timeout_s = connect_timeout_s
        self._max_inflight = max_inflight
        self._read_ahead = read_ahead
        self._reconnect_initial_s = reconnect_initial_s
        self._reconnect_max_s = reconnect_max_s
        self._heartbeat_interval_s = heartbeat_interval_s
        self._adapter_states = adapter_states or tuple
        self._on_command = on_command

        self._link: BrokerLink | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._state: LinkState = "stopped"
        self._generation = 0
        self._window = 0
        self._outstanding: set[int] = set()
        self._changed = asyncio.Event()
        self._link_ready = asyncio.Event()
        self._to_delete: list[int] = []
        self._delete_wanted = asyncio.Event()
        self._deletes_idle = asyncio.Event()
        self._deletes_idle.set()
        self._connected_since: dt.datetime | None = None
        self._last_error: str | None = None
        self._last_error_at: dt.datetime | None = None
        self._failed_attempts = 0
        self._disconnects_total = 0
        self._next_retry_in_s: float | None = None
        self._published_total = 0
        self._refused_total = 0
        self._alarms: deque[PublishAlarm] = deque(maxlen=_MAX_ALARMS)

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load credentials and TLS files (raising CredentialsError / TlsConfigError), then
        connect in the background; returns at once, connected or not."""
        if self._link is not None:
            raise RuntimeError("Publisher already started")
        credentials = load_credentials(self._credentials_file) if self._credentials_file else None
        options = LinkOptions(
            host=self._host,
            port=self._port,
            client_id=self._client_id,
            keepalive_s=self._keepalive_s,
            session_expiry_s=self._session_expiry_s,
            connect_timeout_s=self._connect_timeout_s,
            max_inflight=self._max_inflight,
            reconnect_initial_s=self._reconnect_initial_s,
            reconnect_max_s=self._reconnect_max_s,
            status_topic=self._status_topic,
            command_filter=self._command_filter,
            transport=self._transport,
            websocket_path=self._websocket_path,
            tls=self._tls.context() if self._tls else None,
            tls_ca_file=str(self._tls.ca_file) if self._tls and self._tls.ca_file else None,
            credentials=credentials,
            credentials_file=str(self._credentials_file) if self._credentials_file else None,
        )
        self._link = BrokerLink(
            options,
            self,
            loop=asyncio.get_running_loop(),
            will_payload=self._status_message(online=False),
        )
        self._state = "connecting"
        self._link.start()
        self._tasks = [
            asyncio.create_task(self._drain(), name="publisher-drain"),
            asyncio.create_task(self._delete_acked(), name="publisher-delete-acked"),
            asyncio.create_task(self._heartbeat(), name="publisher-heartbeat"),
        ]

    async def stop(self, *, timeout_s: float = 5.0) -> None:
        """Publish an offline status if connected, disconnect, and stop the background work.

        Events not yet acknowledged stay in the outbox for the next start.
        """
        if self._link is None:
            return
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(OutboxError):
            await self._delete_now()
        final = self._status_message(online=False)
        await asyncio.to_thread(self._link.stop, final_status=final, timeout_s=timeout_s)
        self._link = None
        self._state = "stopped"
        self._link_ready.clear()

    async def __aenter__(self) -> Publisher:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def status(self) -> PublisherStatus:
        return PublisherStatus(
            state=self._state,
            broker=f"{self._host}:{self._port}",
            connected_since=self._connected_since,
            last_error=self._last_error,
            last_error_at=self._last_error_at,
            failed_attempts=self._failed_attempts,
            disconnects_total=self._disconnects_total,
            next_retry_in_s=self._next_retry_in_s,
            window=self._window,
            inflight=len(self._outstanding),
            published_total=self._published_total,
            refused_total=self._refused_total,
            alarms=tuple(self._alarms),
        )

    async def wait_connected(self, *, timeout_s: float) -> None:
        """Wait until the broker accepted a connection (for tests and the CLI)."""
        async with asyncio.timeout(timeout_s):
            await self._link_ready.wait()

    # --- LinkListener: called on the loop by the link's thread --------------------------------

    def link_up(self, generation: int, session_present: bool, window: int) -> None:
        self._generation = generation
        self._window = window
        self._outstanding.clear()
        self._state = "connected"
        self._connected_since = dt.datetime.now(dt.UTC)
        self._failed_attempts = 0
        self._next_retry_in_s = None
        if self._link is not None:
            self._link.send_status(self._status_message(online=True))
        self._link_ready.set()
        self._changed.set()

    def link_down(self, generation: int, error: str | None, retry_in_s: float) -> None:
        if self._state == "connected":
            self._disconnects_total += 1
        self._state = "disconnected"
        self._connected_since = None
        self._outstanding.clear()
        self._window = 0
        self._next_retry_in_s = retry_in_s
        self._failed_attempts += 1  # a lost connection counts: the next attempt may fail too
        if error is not None:
            self._last_error = error
            self._last_error_at = dt.datetime.now(dt.UTC)
            if "refused the connection" in error:
                self._alarm("connect_refused", error)
        self._link_ready.clear()
        self._changed.set()

    def acks(self, generation: int, acks: list[Ack]) -> None:
        if generation != self._generation:
            return
        for ack in acks:
            self._outstanding.discard(ack.seq)
            if ack.is_success:
                self._to_delete.append(ack.seq)
            else:
                self._refused_total += 1
                self._alarm(
                    "puback_refused",
                    f"Broker {self._host}:{self._port} refused event seq {ack.seq}: "
                    f"{ack.reason} (PUBACK reason code {ack.reason_code}); it stays in the "
                    "outbox and is resent",
                )
        if self._to_delete:
            self._deletes_idle.clear()
            self._delete_wanted.set()
        self._changed.set()

    def command(self, topic: str, payload: bytes) -> None:
        if self._on_command is not None:
            try:
                self._on_command(topic, payload)
            except Exception:
                log.exception("Command handler failed for a message on %s", topic)

    # --- background work -----------------------------------------------------------------------

    async def _drain(self) -> None:
        while True:
            await self._link_ready.wait()
            generation = self._generation
            await self._deletes_idle.wait()
            try:
                await self._drain_connection(generation)
            except OutboxError as exc:
                # The outbox cannot be read now (I/O error, closed): keep the publisher alive,
                # nothing is lost, and try again from the oldest waiting event.
                log.error("Cannot read the outbox to publish: %s", exc)
                await asyncio.sleep(_OUTBOX_RETRY_S)

    async def _drain_connection(self, generation: int) -> None:
        """Hand the link everything waiting, in seq order, then follow new commits, until this
        connection ends. The link keeps the in-flight window; here only `read_ahead` events
        are handed over and not yet acknowledged at any time."""
        cursor = 0
        refill_below = max(1, self._read_ahead // 2)
        while self._generation == generation and self._link_ready.is_set():
            room = self._read_ahead - len(self._outstanding)
            if len(self._outstanding) >= refill_below:
                self._changed.clear()
                await self._changed.wait()
                continue
            newest = self._outbox.last_seq
            records = await self._outbox.peek(room, after_seq=cursor)
            if self._generation != generation or self._link is None:
                return
            if not records:
                await self._wait_for_commit_or_change(after_seq=max(newest, cursor))
                continue
            self._outstanding.update(record.seq for record in records)
            cursor = records[-1].seq
            self._link.send_events(generation, records)

    async def _wait_for_commit_or_change(self, *, after_seq: int) -> None:
        self._changed.clear()
        commit = asyncio.ensure_future(self._outbox.wait_for_commit(after_seq=after_seq))
        change = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait({commit, change}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (commit, change):
                waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError, OutboxError):
                await commit

    async def _delete_acked(self) -> None:
        while True:
            await self._delete_wanted.wait()
            self._delete_wanted.clear()
            try:
                await self._delete_now()
            except OutboxError as exc:
                log.error("Cannot delete acknowledged events from the outbox: %s", exc)
                await asyncio.sleep(_OUTBOX_RETRY_S)
                self._delete_wanted.set()

    async def _delete_now(self) -> None:
        seqs, self._to_delete = self._to_delete, []
        if seqs:
            try:
                await self._outbox.ack(*seqs)
            except BaseException:
                self._to_delete[:0] = seqs
                raise
            self._published_total += len(seqs)
        if not self._to_delete:
            self._deletes_idle.set()

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_interval_s)
            if self._link is None:
                continue
            self._link.set_will(self._status_message(online=False))
            if self._state == "connected":
                self._link.send_status(self._status_message(online=True))

    def _status_message(self, *, online: bool) -> bytes:
        return device_status(
            self._identity,
            online=online,
            outbox=self._outbox.metrics(),
            adapters=tuple(self._adapter_states()),
        )

    def _alarm(self, code: AlarmKind, message: str) -> None:
        log.error(message)
        self._alarms.append(PublishAlarm(code, message, dt.datetime.now(dt.UTC)))
