"""Route knowledge without the cloud: the predecessors' decisions, heard on the broker.

Each predecessor's agent publishes its unit.inspected events; this feed records their
decisions in the local route index, so a unit that skipped a checkpoint (or was held there)
is held here even while the cloud is unreachable. A correction arrives as a later event
for the same unit and replaces the earlier decision.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from edge.checkpoint.state import LocalState
from protocols.codec import WireError, decode_event
from protocols.events import UnitInspected
from protocols.topics import event_topic
from protocols.udi import Udi

log = logging.getLogger("edge.checkpoint.route")


@dataclass(slots=True)
class RouteFeedCounters:
    recorded: int = 0
    ignored: int = 0
    """Events of other kinds, or without a UDI."""
    invalid: int = 0


class RouteFeed:
    """Records the decisions of a checkpoint's predecessors in the local state."""

    def __init__(
        self,
        state: LocalState,
        *,
        site: str,
        line: str,
        predecessors: tuple[str, ...],
        topic_prefix: str,
    ) -> None:
        self._state = state
        self._predecessors = frozenset(predecessors)
        self.topics = tuple(
            event_topic(site, line, checkpoint, prefix=topic_prefix) for checkpoint in predecessors
        )
        self.counters = RouteFeedCounters()

    async def on_event(self, topic: str, payload: bytes) -> None:
        """Handle one message from a predecessor's event topic."""
        try:
            event = decode_event(payload)
        except WireError as exc:
            self.counters.invalid += 1
            log.warning("unreadable event on %s: %s", topic, exc)
            return
        if (
            not isinstance(event, UnitInspected)
            or event.udi is None
            or event.checkpoint not in self._predecessors
        ):
            self.counters.ignored += 1
            return
        udi = Udi(
            issuer=event.udi.issuer, di=event.udi.di, lot=event.udi.lot, serial=event.udi.serial
        )
        await self._state.record_decision(
            checkpoint=event.checkpoint, udi=udi, decision=event.decision, seq=event.seq
        )
        self.counters.recorded += 1
