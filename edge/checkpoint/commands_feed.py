"""Commands from the cloud (or `tracegate edge ... --broker`): work orders, holds, releases,
shipments, applied to the local state once each.

A command is applied when its message arrives on the checkpoint's `cmd/{kind}` topic; its
`command_id` is remembered, so a command the broker delivers twice is applied once. A
shipment is stored for the shipping role.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from edge.checkpoint.state import LocalState
from protocols.codec import WireError, decode_command
from protocols.commands import COMMAND_KINDS, Hold, LotInspection, Release, WorkOrder
from protocols.topics import command_topic

log = logging.getLogger("edge.checkpoint.commands")

ROLE_COMMAND_KINDS = frozenset({LotInspection.kind})
"""Commands a role applies to its own store, not the local state: lot inspections go to the
assembly role's feed (edge/checkpoint/roles/assembly_feed.py)."""


@dataclass(slots=True)
class CommandCounters:
    applied: int = 0
    repeated: int = 0
    """Commands whose id had been applied before."""
    invalid: int = 0


class CommandsFeed:
    """Applies the commands sent to one checkpoint."""

    def __init__(
        self, state: LocalState, *, site: str, line: str, checkpoint: str, topic_prefix: str
    ) -> None:
        self._state = state
        self.topics = {
            command_topic(site, line, checkpoint, kind, prefix=topic_prefix): kind
            for kind in COMMAND_KINDS
            if kind not in ROLE_COMMAND_KINDS
        }
        self.counters = CommandCounters()

    async def on_command(self, topic: str, payload: bytes) -> None:
        """Handle one message from a command topic."""
        expected = self.topics.get(topic)
        try:
            command = decode_command(payload)
        except WireError as exc:
            self.counters.invalid += 1
            log.warning("unreadable command on %s: %s", topic, exc)
            return
        if command.kind != expected:
            self.counters.invalid += 1
            log.warning(
                "command on %s: expected kind %r, got %r; not applied",
                topic,
                expected,
                command.kind,
            )
            return
        if not await self._state.apply(command):
            self.counters.repeated += 1
            log.info("command %s already applied", command.command_id)
            return
        self.counters.applied += 1
        log.info(
            "applied %s: %s", command.kind, _describe(command), extra={"command": command.kind}
        )


def _describe(command: object) -> str:
    if isinstance(command, WorkOrder):
        return f"work order {command.work_order} ({', '.join(command.products)})"
    if isinstance(command, Hold):
        return f"hold {command.hold_id}: {command.reason}"
    if isinstance(command, Release):
        return f"release of {command.hold_id} signed by {command.signed_by}"
    return type(command).__name__
