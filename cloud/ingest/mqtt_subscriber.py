"""One MQTT 5 subscription kept alive on the asyncio loop: connect, subscribe, reconnect, ack.

The ingest's receiving side (packets in `mqtt_packets`; why not paho is said
there). Messages are handed over as lists, one per read from the socket, and
acknowledged later, in one write per batch, only on the connection they came
on: after a reconnect the broker sends every unacknowledged message again
under the same packet id, and may give an id acknowledged on the new
connection to another message; acknowledging an old delivery there could
release a message not yet stored. The old deliveries are stored anyway (the
event table drops the duplicates) and the redelivered copies are acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from typing import Any

from cloud.ingest.mqtt_packets import (
    DISCONNECT,
    PINGREQ,
    ConnAck,
    Disconnect,
    MqttProtocolError,
    Packet,
    PacketReader,
    PingResp,
    Publish,
    SubAck,
    connect_packet,
    puback_packets,
    subscribe_packet,
)
from cloud.settings import BrokerAddress

log = logging.getLogger(__name__)

OnMessages = Callable[[list[Publish], int], None]
"""Called with the messages of one read and the number of the connection they came on."""


class BrokerConnectError(ConnectionError):
    """A connection attempt that failed for a reason worth stating whole (TLS, its files)."""


class _Connection(asyncio.Protocol):
    def __init__(self, subscriber: MqttSubscriber) -> None:
        self.subscriber = subscriber
        self.reader = PacketReader()
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.connack: asyncio.Future[ConnAck] = asyncio.get_running_loop().create_future()
        self.last_received = time.monotonic()
        self.granted = False
        """The broker granted the subscription on this connection."""
        # Read even when nobody awaits it any more (a connect that timed out).
        self.connack.add_done_callback(lambda done: done.cancelled() or done.exception())

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.last_received = time.monotonic()
        try:
            packets = self.reader.feed(data)
        except MqttProtocolError as exc:
            log.error("broker sent a malformed packet, reconnecting: %s", exc)
            if self.transport is not None:
                self.transport.abort()
            return
        self.subscriber._received(self, packets)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        if not self.connack.done():
            if isinstance(exc, ssl.SSLError):
                # TLS 1.3: the broker checks the client certificate after the client's side of
                # the handshake is done, so its refusal arrives as an alert on the first read.
                self.connack.set_exception(self.subscriber._tls_failure(exc))
            else:
                self.connack.set_exception(self.subscriber._closed_before_connack(exc))


class MqttSubscriber:
    """Subscribes `topic_filter` at QoS 1 on a persistent session until `run`'s stop is set."""

    def __init__(
        self,
        *,
        broker: BrokerAddress,
        client_id: str,
        topic_filter: str,
        on_messages: OnMessages,
        session_expiry_s: int,
        receive_maximum: int,
        keepalive_s: int = 30,
        connect_timeout_s: float = 10.0,
        reconnect_max_s: float = 10.0,
    ) -> None:
        self.broker = broker
        self.client_id = client_id
        self.topic_filter = topic_filter
        self.on_messages = on_messages
        self.session_expiry_s = session_expiry_s
        self.receive_maximum = receive_maximum
        self.keepalive_s = keepalive_s
        self.connect_timeout_s = connect_timeout_s
        self.reconnect_max_s = reconnect_max_s
        self.subscribed = asyncio.Event()
        """Set at the first SUBACK that granted the subscription."""
        self.connection_number = 0
        """Counts connections; acknowledgements are sent only on the one they belong to."""
        self.acks_dropped = 0
        """Acknowledgements not sent because their connection had gone (redelivered instead)."""
        self.failed_attempts = 0
        """Connection attempts that failed since the last one that got a CONNACK."""
        self.last_error: str | None = None
        """Why the latest connection attempt failed; None once one succeeds."""
        self._connection: _Connection | None = None
        self._connected = False
        self._last_sent = 0.0
        self._next_packet_id = 1

    @property
    def connected(self) -> bool:
        return self._connected

    def ack(self, connection_number: int, packet_ids: Sequence[int]) -> None:
        """Acknowledge stored messages (0 = QoS 0, nothing to send) in one write."""
        wanted = [packet_id for packet_id in packet_ids if packet_id]
        if not wanted:
            return
        connection = self._connection
        if (
            connection_number != self.connection_number
            or connection is None
            or connection.transport is None
            or connection.transport.is_closing()
        ):
            self.acks_dropped += len(wanted)
            return
        connection.transport.write(puback_packets(wanted))
        self._last_sent = time.monotonic()

    async def run(self, stop: asyncio.Event) -> None:
        delay_s = 0.5
        while not stop.is_set():
            try:
                connection = await self._connect()
            except BrokerConnectError as exc:
                self._failed(str(exc), logging.ERROR)
            except (OSError, TimeoutError, ConnectionError) as exc:
                where = f"{self.broker.host}:{self.broker.port}"
                self._failed(f"broker {where} unreachable: {exc}", logging.WARNING)
            else:
                self.failed_attempts = 0
                self.last_error = None
                try:
                    await self._serve(connection, stop)
                finally:
                    self._connected = False
                    self._connection = None
                    if connection.transport is not None and not connection.transport.is_closing():
                        connection.transport.abort()
                if stop.is_set():
                    return
                if connection.granted:
                    delay_s = 0.5  # it worked for a while: try again soon
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay_s):
                    await stop.wait()
            delay_s = min(delay_s * 2, self.reconnect_max_s)

    def _failed(self, error: str, level: int) -> None:
        self.failed_attempts += 1
        self.last_error = error
        log.log(level, "%s", error)

    def _tls_context(self) -> ssl.SSLContext | None:
        """Built per attempt, so a renewed certificate is used at the next reconnect."""
        broker = self.broker
        if not broker.tls:
            return None
        # A plant CA given: only it is trusted, not also every public CA of the system.
        try:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=broker.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise BrokerConnectError(
                f"cannot load the MQTT CA file {broker.ca_file}: {exc}"
            ) from exc
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if broker.cert_file is not None:
            try:
                context.load_cert_chain(broker.cert_file, broker.key_file)
            except (OSError, ssl.SSLError) as exc:
                key = f" with key {broker.key_file}" if broker.key_file else ""
                raise BrokerConnectError(
                    f"cannot load the MQTT client certificate {broker.cert_file}{key}: {exc}"
                ) from exc
        elif broker.key_file is not None:
            raise BrokerConnectError(f"MQTT key_file {broker.key_file} given without a cert_file")
        return context

    def _tls_failure(self, exc: ssl.SSLError) -> BrokerConnectError:
        broker = self.broker
        if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
            detail = exc.verify_message
        else:
            detail = (exc.reason or str(exc)).lower().replace("_", " ")
        if "certificate required" in detail and broker.cert_file is None:
            detail += ": the broker requires a client certificate (set mqtt_cert_file)"
        return BrokerConnectError(
            f"TLS handshake with MQTT broker {broker.host}:{broker.port} failed: {detail} "
            f"(ca_file {broker.ca_file or 'none: the system CAs'})"
        )

    def _closed_before_connack(self, exc: Exception | None) -> ConnectionError:
        broker = self.broker
        if not broker.tls or broker.cert_file is not None:
            return ConnectionError(f"connection closed before CONNACK: {exc}")
        # The other half of the TLS 1.3 race above: the broker's alert is lost when our CONNECT
        # reaches a socket it has closed already, and the connection is reset instead.
        how = f"reset ({exc.strerror or exc})" if isinstance(exc, OSError) else "closed"
        return BrokerConnectError(
            f"TLS connection to MQTT broker {broker.host}:{broker.port} {how} before CONNACK: "
            "a broker that requires a client certificate does this (no mqtt_cert_file set)"
        )

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        context = self._tls_context()
        async with asyncio.timeout(self.connect_timeout_s):
            try:
                _, connection = await loop.create_connection(
                    lambda: _Connection(self),
                    self.broker.host,
                    self.broker.port,
                    ssl=context,
                    server_hostname=self.broker.host if context else None,
                )
            except ssl.SSLError as exc:
                raise self._tls_failure(exc) from exc
            self.connection_number += 1
            self._connection = connection
            assert connection.transport is not None
            connection.transport.write(
                connect_packet(
                    client_id=self.client_id,
                    keepalive_s=self.keepalive_s,
                    clean_start=False,
                    session_expiry_s=self.session_expiry_s,
                    receive_maximum=self.receive_maximum,
                    username=self.broker.username,
                    password=self.broker.password,
                )
            )
            self._last_sent = time.monotonic()
            try:
                connack = await connection.connack
            except BaseException:
                connection.transport.abort()
                self._connection = None
                raise
        if connack.refused:
            connection.transport.abort()
            self._connection = None
            raise ConnectionError(connack.explain())
        self._connected = True
        return connection

    async def _serve(self, connection: _Connection, stop: asyncio.Event) -> None:
        """Subscribe, then keep the connection alive until it closes or `stop` is set."""
        assert connection.transport is not None
        keepalive_s = self.keepalive_s
        if connection.connack.result().server_keepalive_s is not None:
            keepalive_s = connection.connack.result().server_keepalive_s or 0
        packet_id = self._next_packet_id
        self._next_packet_id = packet_id % 0xFFFF + 1
        connection.transport.write(
            subscribe_packet(packet_id=packet_id, topic_filter=self.topic_filter, max_qos=1)
        )
        self._last_sent = time.monotonic()
        stopping = asyncio.ensure_future(stop.wait())
        waiting: set[asyncio.Future[Any]] = {stopping, connection.closed}
        try:
            while True:
                tick_s = max(0.05, min(1.0, keepalive_s / 4)) if keepalive_s else 1.0
                done, _ = await asyncio.wait(
                    waiting,
                    timeout=tick_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if stopping in done:
                    await self._disconnect(connection)
                    return
                if connection.closed in done:
                    log.warning("broker connection lost; reconnecting")
                    return
                if keepalive_s:
                    self._keep_alive(connection, keepalive_s)
        finally:
            stopping.cancel()

    async def _disconnect(self, connection: _Connection) -> None:
        """DISCONNECT, then wait for the broker to close the connection.

        Closing first could lose the last acknowledgements: an abort (RST) makes the
        broker drop what it has not read yet, and so does a new connection with the
        same client id arriving before it read the old one to its end (measured: a
        restart right after a stop got acknowledged messages again).
        """
        transport = connection.transport
        assert transport is not None
        if transport.is_closing():
            return
        transport.write(DISCONNECT)
        if transport.can_write_eof():
            transport.write_eof()
        else:
            transport.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.connect_timeout_s):
                await connection.closed

    def _keep_alive(self, connection: _Connection, keepalive_s: int) -> None:
        assert connection.transport is not None
        now = time.monotonic()
        if now - connection.last_received > keepalive_s * 1.5:
            log.warning("broker silent for %.0f s; reconnecting", now - connection.last_received)
            connection.transport.abort()
        elif now - self._last_sent >= keepalive_s * 0.75:
            connection.transport.write(PINGREQ)
            self._last_sent = now

    def _received(self, connection: _Connection, packets: list[Packet]) -> None:
        messages = [packet for packet in packets if type(packet) is Publish]
        if len(messages) != len(packets):
            for packet in packets:
                if type(packet) is not Publish:
                    self._control(connection, packet)
        if messages and connection is self._connection:
            self.on_messages(messages, self.connection_number)

    def _control(self, connection: _Connection, packet: Packet) -> None:
        if isinstance(packet, ConnAck):
            if connection.connack.done():
                log.error("broker sent a second CONNACK; reconnecting")
                assert connection.transport is not None
                connection.transport.abort()
            else:
                connection.connack.set_result(packet)
        elif isinstance(packet, SubAck):
            if all(code < 0x80 for code in packet.reason_codes):
                connection.granted = True
                self.subscribed.set()
            else:
                codes = ", ".join(f"0x{code:02X}" for code in packet.reason_codes)
                log.error(
                    "broker refused the subscription %s (reason %s%s)",
                    self.topic_filter,
                    codes,
                    f": {packet.reason}" if packet.reason else "",
                )
                # Not acknowledged: try again after the back-off (an ACL may be fixed).
                assert connection.transport is not None
                connection.transport.abort()
        elif isinstance(packet, Disconnect):
            log.warning(
                "broker disconnected the ingest with reason 0x%02X%s",
                packet.reason_code,
                f": {packet.reason}" if packet.reason else "",
            )
        elif isinstance(packet, PingResp):
            pass
