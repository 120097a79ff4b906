"""The shipping checkpoint's view of the line, heard on the broker: what is in each
container and which units are held.

The shipping role subscribes, with a persistent session of its own, to the event topics of
the checkpoints it follows (`shipping.follow`; by default every packing checkpoint and
their predecessors) and writes into its store: `unit.packed` / `unit.unpacked` move
children into and out of containers; `unit.inspected` holds mark units held (a later pass
at the same checkpoint, such as a correction's re-inspection, clears the mark). A message
is acknowledged once it is written, so one that arrives while the agent is away, or during
a crash, is delivered again rather than lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from edge.checkpoint.roles.shipping_store import ShippingStore
from edge.checkpoint.state import unit_key
from edge.checkpoint.subscriber import BrokerAddress
from edge.publish import MqttTls, load_credentials
from protocols.codec import WireError, decode_event
from protocols.config import Checkpoint, MqttConfig, PlantConfig
from protocols.events import UnitInspected, UnitPacked, UnitUnpacked
from protocols.topics import event_topic
from protocols.udi import Udi

log = logging.getLogger("edge.checkpoint.shipping")


def followed_checkpoints(plant: PlantConfig, checkpoint: Checkpoint) -> tuple[str, ...]:
    """`shipping.follow`, or every packing checkpoint of the line and their predecessors."""
    if checkpoint.shipping is not None and checkpoint.shipping.follow is not None:
        return checkpoint.shipping.follow
    chosen: list[str] = []
    for cp in plant.checkpoints:
        if cp.role == "packing":
            chosen.extend(p for p in (cp.id, *cp.predecessors) if p not in chosen)
    return tuple(chosen)


def broker_address(mqtt: MqttConfig, *, checkpoint: str) -> BrokerAddress:
    """Where the agent's own subscriptions connect, from its broker settings."""
    tls = None
    if mqtt.tls is not None:
        if mqtt.tls.ca_file is None:
            raise ValueError(f"checkpoint {checkpoint}: mqtt.tls needs ca_file with this agent")
        tls = MqttTls(
            ca_file=mqtt.tls.ca_file, cert_file=mqtt.tls.cert_file, key_file=mqtt.tls.key_file
        ).context()
    return BrokerAddress(
        host=mqtt.host,
        port=mqtt.port,
        transport=mqtt.transport,
        websocket_path=mqtt.websocket_path,
        tls=tls,
        credentials=load_credentials(mqtt.credentials_file) if mqtt.credentials_file else None,
        keepalive_s=mqtt.keepalive_s,
        session_expiry_s=mqtt.session_expiry_s,
        reconnect_min_s=mqtt.reconnect_backoff_min_s,
        reconnect_max_s=mqtt.reconnect_backoff_max_s,
    )


@dataclass(slots=True)
class ContainmentCounters:
    packing_records: int = 0
    decisions: int = 0
    ignored: int = 0
    invalid: int = 0


class ContainmentFeed:
    """Writes what the followed checkpoints publish into the shipping store."""

    def __init__(
        self,
        store: ShippingStore,
        *,
        site: str,
        line: str,
        followed: tuple[str, ...],
        topic_prefix: str,
    ) -> None:
        self._store = store
        self._followed = frozenset(followed)
        self.topics = tuple(event_topic(site, line, cp, prefix=topic_prefix) for cp in followed)
        self.counters = ContainmentCounters()

    async def on_event(self, topic: str, payload: bytes) -> None:
        try:
            event = decode_event(payload)
        except WireError as exc:
            self.counters.invalid += 1
            log.warning("unreadable event on %s: %s", topic, exc)
            return
        if event.checkpoint not in self._followed:
            self.counters.ignored += 1
            return
        if isinstance(event, UnitPacked | UnitUnpacked):
            await self._store.packing_record(event)
            self.counters.packing_records += 1
        elif isinstance(event, UnitInspected) and event.udi is not None:
            udi = Udi(
                issuer=event.udi.issuer,
                di=event.udi.di,
                lot=event.udi.lot,
                serial=event.udi.serial,
            )
            await self._store.decision(
                unit_key=unit_key(udi),
                checkpoint=event.checkpoint,
                decision=event.decision,
                seq=event.seq,
                reasons=",".join(r.code for r in event.reasons),
            )
            self.counters.decisions += 1
        else:
            self.counters.ignored += 1
