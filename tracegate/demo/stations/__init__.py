"""What the demo does at checkpoints that are more than a photo-eye and a unit label: one
driver per role (goods receipt books lots in, assembly loads reels, packing closes the last
case and pallet, shipping ships them, returns takes a unit back).

A driver plugs into the run at fixed points, all optional: `before_line` (master data and
station scans before the conveyor starts), `on_write` (every PLC output, as it happens),
`during_line` (a task while the units run), `after_line` (once the last unit left), and
`checks` (what must be true of the cloud afterwards). A role whose agent-side role is not
built yet has no driver, and its checkpoint is left out of the demo line.
"""

from __future__ import annotations

from tracegate.demo.stations.base import StationCheck, StationContext, StationDriver
from tracegate.demo.stations.registry import drivers_for, station_roles

__all__ = ["StationCheck", "StationContext", "StationDriver", "drivers_for", "station_roles"]
