"""How an assembly station learns which supplier lots exist and whether they are released.

Two inputs, both on the broker and both written to the assembly store before the message
is acknowledged (a persistent session keeps what arrives while the agent is away):

- the `lot.received` events of the line's goods-receipt checkpoints: the lot, its expiry
  and the state it was booked in with (quarantined, accepted, rejected);
- `cmd/lotinspection` sent to this checkpoint (by the cloud's
  ``POST /api/lots/{di}/{lot}/accept`` or ``.../reject``, or
  ``tracegate edge lot accept ... --broker``): incoming inspection's verdict.

Without the broker, ``tracegate edge lot accept`` writes the verdict into the store itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from edge.checkpoint.roles.assembly_store import AssemblyStore
from edge.checkpoint.subscriber import BrokerAddress, Handler, MqttSubscriber
from edge.publish import MqttTls, load_credentials
from protocols.codec import WireError, decode_command, decode_event
from protocols.commands import LotInspection
from protocols.config import MqttConfig
from protocols.events import LotReceived
from protocols.topics import command_topic, event_topic

log = logging.getLogger("edge.checkpoint.assembly")


@dataclass(slots=True)
class MaterialsFeedCounters:
    receipts: int = 0
    inspections: int = 0
    repeated: int = 0
    ignored: int = 0
    invalid: int = 0


class MaterialsFeed:
    """Records goods receipts and lot verdicts in the assembly store."""

    def __init__(
        self,
        store: AssemblyStore,
        *,
        site: str,
        line: str,
        checkpoint: str,
        receipt_checkpoints: tuple[str, ...],
        topic_prefix: str,
    ) -> None:
        self._store = store
        self.receipt_topics = tuple(
            event_topic(site, line, receipt, prefix=topic_prefix) for receipt in receipt_checkpoints
        )
        self.command_topic = command_topic(
            site, line, checkpoint, LotInspection.kind, prefix=topic_prefix
        )
        self.counters = MaterialsFeedCounters()

    def handlers(self) -> dict[str, Handler]:
        handlers: dict[str, Handler] = dict.fromkeys(self.receipt_topics, self.on_event)
        handlers[self.command_topic] = self.on_command
        return handlers

    async def on_event(self, topic: str, payload: bytes) -> None:
        try:
            event = decode_event(payload)
        except WireError as exc:
            self.counters.invalid += 1
            log.warning("unreadable event on %s: %s", topic, exc)
            return
        if not isinstance(event, LotReceived):
            self.counters.ignored += 1
            return
        await self._store.record_receipt(event)
        self.counters.receipts += 1
        log.info(
            "lot %s/%s received %s at %s",
            event.di,
            event.lot,
            event.inspection_state,
            event.checkpoint,
        )

    async def on_command(self, topic: str, payload: bytes) -> None:
        try:
            command = decode_command(payload)
        except WireError as exc:
            self.counters.invalid += 1
            log.warning("unreadable command on %s: %s", topic, exc)
            return
        if not isinstance(command, LotInspection):
            self.counters.invalid += 1
            log.warning("command on %s: expected kind 'lotinspection', got %r", topic, command.kind)
            return
        if not await self._store.apply_inspection(command):
            self.counters.repeated += 1
            return
        self.counters.inspections += 1
        log.info("lot %s/%s %s by %s", command.di, command.lot, command.state, command.signed_by)


def feed_subscriber(mqtt: MqttConfig, *, client_id: str, feed: MaterialsFeed) -> MqttSubscriber:
    """The feed's own MQTT session (the agent's session serves the local state's feeds)."""
    tls = None
    if mqtt.tls is not None and mqtt.tls.ca_file is not None:
        tls = MqttTls(
            ca_file=mqtt.tls.ca_file, cert_file=mqtt.tls.cert_file, key_file=mqtt.tls.key_file
        ).context()
    credentials = load_credentials(mqtt.credentials_file) if mqtt.credentials_file else None
    return MqttSubscriber(
        BrokerAddress(
            host=mqtt.host,
            port=mqtt.port,
            transport=mqtt.transport,
            websocket_path=mqtt.websocket_path,
            tls=tls,
            credentials=credentials,
            keepalive_s=mqtt.keepalive_s,
            session_expiry_s=mqtt.session_expiry_s,
            reconnect_min_s=mqtt.reconnect_backoff_min_s,
            reconnect_max_s=mqtt.reconnect_backoff_max_s,
        ),
        client_id=client_id,
        handlers=feed.handlers(),
    )
