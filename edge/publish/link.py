"""The broker link: one thread that owns the paho client, its socket and the reconnects.

paho-mqtt is not asyncio-aware and its `connect` blocks (TCP, then the TLS handshake). So a
dedicated thread runs a select loop over paho's socket and a wake-up socket, connects with a
fresh client each attempt, and waits a capped exponential backoff with jitter between
attempts. The event loop hands it work through a queue (`send_events`, `send_status`) and
hears back through `LinkListener` callbacks scheduled with `call_soon_threadsafe`. Each
connection has a generation number: work and acks of an older connection are ignored, and the
publisher resends from the outbox instead (the outbox, not paho's memory, is the session).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import select
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.outbox import OutboxRecord
from edge.publish.backoff import Backoff
from edge.publish.credentials import MqttCredentials

__all__ = ["Ack", "BrokerLink", "LinkListener", "LinkOptions"]

log = logging.getLogger("edge.publish")

_STATUS_MID = -1
_FINAL_STATUS_WAIT_S = 2.0
# Acks go to the event loop at most this late, or sooner once this many have gathered: during
# a drain that is one loop wake-up (and one outbox delete) per hundreds of events, not per few.
_ACK_FLUSH_S = 0.005
_ACK_FLUSH_COUNT = 200
# A wake-up byte per request is enough; the loop drains the whole queue each time it wakes.
_WAKE = b"\x00"


@dataclass(frozen=True, slots=True)
class Ack:
    """A PUBACK for an event: its seq and the broker's reason code (>= 0x80 is a refusal)."""

    seq: int
    reason_code: int
    reason: str

    @property
    def is_success(self) -> bool:
        return self.reason_code < 0x80


class LinkListener(Protocol):
    """What the link reports, always called on the event loop's thread."""

    def link_up(self, generation: int, session_present: bool, window: int) -> None: ...

    def link_down(self, generation: int, error: str | None, retry_in_s: float) -> None: ...

    def acks(self, generation: int, acks: list[Ack]) -> None: ...

    def command(self, topic: str, payload: bytes) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkOptions:
    host: str
    port: int
    client_id: str
    keepalive_s: int
    session_expiry_s: int
    connect_timeout_s: float
    max_inflight: int
    reconnect_initial_s: float
    reconnect_max_s: float
    status_topic: str
    command_filter: str | None
    transport: Literal["tcp", "websockets"]
    websocket_path: str
    tls: ssl.SSLContext | None
    tls_ca_file: str | None
    credentials: MqttCredentials | None
    credentials_file: str | None


@dataclass(slots=True)
class _Events:
    generation: int
    records: Sequence[OutboxRecord]


@dataclass(slots=True)
class _Status:
    payload: bytes


_Request = _Events | _Status


class BrokerLink:
    """Keeps a connection to the broker, forever, until `stop`."""

    def __init__(
        self,
        options: LinkOptions,
        listener: LinkListener,
        *,
        loop: asyncio.AbstractEventLoop,
        will_payload: bytes,
    ) -> None:
        self._options = options
        self._listener = listener
        self._loop = loop
        self._will_payload = will_payload
        self._requests: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._stopping = threading.Event()
        self._final_status: bytes | None = None
        self._generation = 0
        self._thread = threading.Thread(target=self._run, name=f"mqtt-link:{options.client_id}")
        self._backoff = Backoff(
            initial_s=options.reconnect_initial_s, max_s=options.reconnect_max_s
        )

    # --- called from the event loop -----------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def set_will(self, payload: bytes) -> None:
        """The offline status the broker publishes if this agent vanishes; used from the next
        connection on."""
        self._will_payload = payload

    def send_events(self, generation: int, records: Sequence[OutboxRecord]) -> None:
        self._requests.put(_Events(generation, records))
        self._wake()

    def send_status(self, payload: bytes) -> None:
        """Publish a retained status (QoS 1) if connected; dropped when not (the birth
        message on the next connection replaces it)."""
        self._requests.put(_Status(payload))
        self._wake()

    def stop(self, *, final_status: bytes | None, timeout_s: float) -> None:
        """Publish `final_status` (retained) if connected, disconnect, end the thread."""
        self._final_status = final_status
        self._stopping.set()
        self._wake()
        self._thread.join(timeout_s)
        self._wake_r.close()
        self._wake_w.close()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_w.send(_WAKE)

    # --- the thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._generation += 1
            try:
                settled, error = self._connect_and_serve(self._generation)
            except Exception as exc:  # a bug must not end the link: log it and reconnect
                log.exception("MQTT link to %s failed unexpectedly", self._where())
                settled, error = False, f"internal error: {exc!r}"
            if self._stopping.is_set():
                break
            if settled:
                self._backoff.reset()
            delay_s = self._backoff.next_delay_s()
            if error is not None:
                log.warning("%s; retrying in %.2f s", error, delay_s)
            self._notify(self._listener.link_down, self._generation, error, delay_s)
            self._stopping.wait(delay_s)

    def _connect_and_serve(self, generation: int) -> tuple[bool, str | None]:
        """One connection attempt and, if it succeeds, its whole life.

        Returns whether the connection was established and ended without a refusal (then the
        backoff starts again from its initial delay), and the error that ended it.
        """
        self._discard_requests()
        session = _Session(self, generation)
        client = session.client
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho leaves it unannotated
        properties.SessionExpiryInterval = self._options.session_expiry_s
        try:
            client.connect(
                self._options.host,
                self._options.port,
                keepalive=self._options.keepalive_s,
                clean_start=False,
                properties=properties,
            )
        except ssl.SSLCertVerificationError as exc:
            return False, self._tls_error(exc.verify_message or str(exc))
        except ssl.SSLError as exc:
            return False, self._tls_error(exc.reason or str(exc))
        except TimeoutError:
            return False, (
                f"Cannot connect to MQTT broker {self._where()}: no answer within "
                f"{self._options.connect_timeout_s:g} s"
            )
        except OSError as exc:
            return False, f"Cannot connect to MQTT broker {self._where()}: {exc.strerror or exc}"
        return session.serve()

    def _tls_error(self, detail: str) -> str:
        return (
            f"TLS handshake with MQTT broker {self._where()} failed: {detail} "
            f"(ca_file {self._options.tls_ca_file or 'none: the system CAs'})"
        )

    def _where(self) -> str:
        return f"{self._options.host}:{self._options.port}"

    def _discard_requests(self) -> None:
        while True:
            try:
                self._requests.get_nowait()
            except queue.Empty:
                return

    def _notify(self, callback: Any, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed during shutdown
            self._loop.call_soon_threadsafe(callback, *args)


class _Session:
    """One paho client and one connection attempt, driven by the link's thread."""

    def __init__(self, link: BrokerLink, generation: int) -> None:
        self.link = link
        self.generation = generation
        options = link._options
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=options.client_id,
            protocol=mqtt.MQTTv5,
            transport=options.transport,
        )
        if options.transport == "websockets":
            client.ws_set_options(path=options.websocket_path)
        client.connect_timeout = options.connect_timeout_s
        # The publisher keeps its own in-flight window (capped by the broker's Receive Maximum).
        client.max_inflight_messages = 0
        if options.tls is not None:
            client.tls_set_context(options.tls)
        if options.credentials is not None:
            client.username_pw_set(options.credentials.username, options.credentials.password)
        client.will_set(options.status_topic, link._will_payload, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_publish = self._on_publish
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client
        self.connected = False
        self.error: str | None = None
        self.ended = False
        self.mids: dict[int, int] = {}
        """Message ids awaiting a PUBACK: the event's seq, or _STATUS_MID."""
        self.window = 0
        self.pending: deque[OutboxRecord] = deque()
        self.pending_status: deque[bytes] = deque()
        self.refused = False
        self.acks: list[Ack] = []
        self.first_ack_at = 0.0
        self.connect_started = time.monotonic()

    def serve(self) -> tuple[bool, str | None]:
        link, client = self.link, self.client
        sock = client.socket()
        final_sent_at: float | None = None
        while not self.ended:
            if link._stopping.is_set() and final_sent_at is None:
                if not self.connected or link._final_status is None:
                    break
                info = client.publish(
                    link._options.status_topic, link._final_status, qos=1, retain=True
                )
                self.mids[info.mid] = _STATUS_MID
                final_sent_at = time.monotonic()
            if final_sent_at is not None and (
                _STATUS_MID not in self.mids.values()
                or time.monotonic() - final_sent_at > _FINAL_STATUS_WAIT_S
            ):
                break
            if self.connected and final_sent_at is None:
                self._take_requests()
                self._publish_pending()
            if sock is None or sock.fileno() < 0:
                self.ended = True
                break
            pending = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
            want_write = [sock] if client.want_write() else []
            readable, writable, _ = select.select(
                [sock, link._wake_r], want_write, [], 0.0 if pending else self._select_timeout_s()
            )
            if link._wake_r in readable:
                with contextlib.suppress(BlockingIOError, OSError):
                    link._wake_r.recv(4096)
            rc = MQTTErrorCode.MQTT_ERR_SUCCESS
            if sock in readable or pending:
                rc = client.loop_read()
                if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self.connected and not self.ended:
                    self._publish_pending()
            if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and sock in writable:
                rc = client.loop_write()
            if rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                rc = client.loop_misc()
            self._flush_acks(force=self.ended)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                self.error = self.error or (
                    f"Connection to MQTT broker {link._where()} lost: {mqtt.error_string(rc)}"
                )
                break
            if (
                not self.connected
                and time.monotonic() - self.connect_started > link._options.connect_timeout_s
            ):
                self.error = (
                    f"MQTT broker {link._where()} sent no CONNACK within "
                    f"{link._options.connect_timeout_s:g} s"
                )
                break
        self._flush_acks(force=True)
        settled = self.connected and not self.refused
        if self.connected:
            with contextlib.suppress(Exception):
                client.disconnect()
                client.loop_write()
        with contextlib.suppress(Exception):
            sock_now = client.socket()
            if sock_now is not None:
                sock_now.close()
        return settled, None if link._stopping.is_set() else self.error

    def _take_requests(self) -> None:
        link = self.link
        while True:
            try:
                request = link._requests.get_nowait()
            except queue.Empty:
                return
            if isinstance(request, _Status):
                self.pending_status.append(request.payload)
            elif request.generation == self.generation:
                self.pending.extend(request.records)

    def _publish_pending(self) -> None:
        """Publish status first, then events in seq order, while the window has room.

        The window lives here, on the link's thread, so a PUBACK frees a slot that is refilled
        at once without a round trip through the event loop.
        """
        client, mids, window = self.client, self.mids, self.window
        status_topic = self.link._options.status_topic
        while self.pending_status and len(mids) < window:
            info = client.publish(status_topic, self.pending_status.popleft(), qos=1, retain=True)
            mids[info.mid] = _STATUS_MID
        pending = self.pending
        while pending and len(mids) < window:
            record = pending.popleft()
            info = client.publish(record.topic, record.payload, qos=1)
            mids[info.mid] = record.seq

    def _select_timeout_s(self) -> float:
        if self.acks:
            return max(0.0, self.first_ack_at + _ACK_FLUSH_S - time.monotonic())
        return 1.0

    def _flush_acks(self, *, force: bool) -> None:
        """Hand acks to the event loop in batches: one wake-up of the loop per batch."""
        if not self.acks:
            return
        due = self.first_ack_at + _ACK_FLUSH_S <= time.monotonic()
        if force or due or len(self.acks) >= _ACK_FLUSH_COUNT:
            acks, self.acks = self.acks, []
            self.link._notify(self.link._listener.acks, self.generation, acks)

    # paho callbacks, on this thread, inside loop_read/loop_write

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        link = self.link
        if reason_code.is_failure:
            self.error = (
                f"MQTT broker {link._where()} refused the connection: {reason_code} "
                f"(CONNACK reason code {reason_code.value}){_refusal_hint(reason_code, link)}"
            )
            self.ended = True
            return
        self.connected = True
        receive_maximum = 65535
        if properties is not None and hasattr(properties, "ReceiveMaximum"):
            receive_maximum = int(properties.ReceiveMaximum)
        # MQTT 5: never more unacknowledged QoS 1 messages than the broker's Receive Maximum.
        self.window = max(1, min(link._options.max_inflight, receive_maximum))
        if link._options.command_filter is not None:
            client.subscribe(link._options.command_filter, qos=1)
        log.info(
            "Connected to MQTT broker %s as %s (session present: %s)",
            link._where(),
            link._options.client_id,
            flags.session_present,
        )
        link._notify(link._listener.link_up, self.generation, flags.session_present, self.window)

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        seq = self.mids.pop(mid, None)
        if seq is None or seq == _STATUS_MID:
            if seq == _STATUS_MID and reason_code.is_failure:
                log.warning("Broker refused the status message: %s", reason_code)
            return
        if not self.acks:
            self.first_ack_at = time.monotonic()
        self.acks.append(Ack(seq, reason_code.value, str(reason_code)))
        if reason_code.is_failure and not self.refused:
            # Stop here and reconnect after a backoff: the publisher then resends from the
            # oldest event still in the outbox, so the refused event keeps its place in line.
            self.refused = True
            self.ended = True
            self.error = (
                f"MQTT broker {self.link._where()} refused event seq {seq}: {reason_code} "
                f"(PUBACK reason code {reason_code.value}); reconnecting to resend it"
            )

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.ended = True
        if self.error is None and not self.link._stopping.is_set():
            if flags.is_disconnect_packet_from_server:
                cause = (
                    f"the broker sent DISCONNECT: {reason_code} (reason code {reason_code.value})"
                )
            elif reason_code.value == 0x80:  # paho's "Unspecified error": the socket closed
                cause = "the connection closed"
            else:
                cause = str(reason_code)
            self.error = f"Connection to MQTT broker {self.link._where()} lost: {cause}"

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.link._notify(self.link._listener.command, message.topic, bytes(message.payload))


def _refusal_hint(reason_code: ReasonCode, link: BrokerLink) -> str:
    if reason_code.value in (0x86, 0x87) and link._options.credentials_file:
        return f"; check the username and password in {link._options.credentials_file}"
    if reason_code.value in (0x86, 0x87):
        return "; the broker needs a username and password (set a credentials file)"
    return ""
