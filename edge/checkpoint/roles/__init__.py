"""Checkpoint roles: what each kind of checkpoint adds to the pass/hold path."""

from edge.checkpoint.roles.base import EventSink, StationRole, StationScan

__all__ = ["EventSink", "StationRole", "StationScan"]
