"""What a role is built from: the plant, its checkpoint, and the agent's parts it may use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edge.checkpoint.record import Station
from edge.checkpoint.roles.base import EventSink
from edge.checkpoint.state import LocalState
from protocols.config import Checkpoint, PlantConfig

if TYPE_CHECKING:
    from edge.adapters.plc import ModbusPlc
    from edge.checkpoint.interlock import Interlock


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleContext:
    plant: PlantConfig
    checkpoint: Checkpoint
    station: Station
    state: LocalState
    """The agent's local store: work order, holds, shipments, route index."""
    outbox: EventSink
    """For records made outside a unit's path (a case closed by a PLC signal)."""
    alarm: Callable[[str, str], None]
    plc: ModbusPlc | None = None
    interlock: Interlock | None = None
