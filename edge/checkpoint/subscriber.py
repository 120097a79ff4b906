"""The agent's inbound MQTT session: predecessors' events and its own commands.

A persistent session (MQTT v5, clean start off, a session expiry) so the broker keeps what
arrives while the agent is away, and manual acknowledgements: a message is acknowledged only
after its handler has written it to the local state, so a crash in between gets it
delivered again rather than lost. paho runs its network loop on its own thread; messages
come to the event loop through a queue and are handled one at a time, in arrival order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge.links import LinkState
from edge.publish.credentials import MqttCredentials

log = logging.getLogger("edge.checkpoint.subscriber")

Handler = Callable[[str, bytes], Awaitable[None]]
"""`handler(topic, payload)`; the message is acknowledged when it returns (or raises)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerAddress:
    host: str
    port: int
    transport: Literal["tcp", "websockets"] = "tcp"
    websocket_path: str = "/mqtt"
    tls: ssl.SSLContext | None = None
    credentials: MqttCredentials | None = None
    keepalive_s: int = 30
    session_expiry_s: int = 7 * 24 * 3600
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0


@dataclass(frozen=True, slots=True)
class _Message:
    topic: str
    payload: bytes
    mid: int
    qos: int


class MqttSubscriber:
    """Subscribes to `handlers`' topic filters (QoS 1) and feeds them their messages."""

    def __init__(
        self, broker: BrokerAddress, *, client_id: str, handlers: Mapping[str, Handler]
    ) -> None:
        self.broker = broker
        self.client_id = client_id
        self.handlers = dict(handlers)
        self.link = LinkState(name="mqtt-in", kind="mqtt")
        self.received = 0
        self.failed = 0
        """Messages whose handler raised (acknowledged anyway: a message that cannot be
        handled would otherwise come back forever)."""
        self._queue: asyncio.Queue[_Message] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: mqtt.Client | None = None
        self._subscribed = asyncio.Event()

    async def run(self) -> None:
        """Connect (and reconnect) and handle messages until cancelled."""
        self._loop = asyncio.get_running_loop()
        client = self._make_client()
        self._client = client
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho
        properties.SessionExpiryInterval = self.broker.session_expiry_s
        client.connect_async(
            self.broker.host,
            self.broker.port,
            keepalive=self.broker.keepalive_s,
            clean_start=False,
            properties=properties,
        )
        client.loop_start()
        try:
            while True:
                message = await self._queue.get()
                await self._handle(client, message)
        finally:
            self._subscribed.clear()
            self.link.mark_down("stopped")
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)
            self._client = None

    async def wait_subscribed(self, *, timeout_s: float) -> None:
        """Wait until the broker acknowledged the subscriptions (for tests and the CLI)."""
        async with asyncio.timeout(timeout_s):
            await self._subscribed.wait()

    async def _handle(self, client: mqtt.Client, message: _Message) -> None:
        self.received += 1
        handler = next(
            (h for f, h in self.handlers.items() if mqtt.topic_matches_sub(f, message.topic)),
            None,
        )
        try:
            if handler is not None:
                await handler(message.topic, message.payload)
        except Exception:
            self.failed += 1
            log.exception("handling a message on %s failed", message.topic)
        if message.qos > 0:
            client.ack(message.mid, message.qos)

    def _make_client(self) -> mqtt.Client:
        broker = self.broker
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
            transport=broker.transport,
            manual_ack=True,
        )
        if broker.transport == "websockets":
            client.ws_set_options(path=broker.websocket_path)
        if broker.tls is not None:
            client.tls_set_context(broker.tls)
        if broker.credentials is not None:
            client.username_pw_set(broker.credentials.username, broker.credentials.password)
        client.reconnect_delay_set(
            min_delay=max(1, round(broker.reconnect_min_s)),
            max_delay=max(1, round(broker.reconnect_max_s)),
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    # paho callbacks, on paho's thread

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        where = f"{self.broker.host}:{self.broker.port}"
        if reason_code.is_failure:
            self._post(self.link.mark_down, f"broker {where} refused: {reason_code}")
            return
        if self.handlers:
            client.subscribe([(f, SubscribeOptions(qos=1)) for f in self.handlers])
        self._post(self.link.mark_up)
        log.info("subscribed at %s: %s", where, ", ".join(self.handlers))

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        refused = [str(code) for code in reason_codes if code.is_failure]
        if refused:
            log.error("broker refused subscriptions: %s", ", ".join(refused))
        self._post(self._subscribed.set)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._post(self._subscribed.clear)
        self._post(self.link.mark_down, f"disconnected: {reason_code}")

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._post(
            self._queue.put_nowait,
            _Message(message.topic, bytes(message.payload), message.mid, message.qos),
        )

    def _post(self, callback: Callable[..., None], *args: object) -> None:
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed during shutdown
                self._loop.call_soon_threadsafe(callback, *args)
