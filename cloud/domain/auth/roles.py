"""Roles: what a person (or a device) may do through the API."""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["operator", "quality", "auditor", "admin", "device"]
HumanRole = Literal["operator", "quality", "auditor", "admin"]

HUMAN_ROLES: frozenset[str] = frozenset(get_args(HumanRole))
"""operator: runs the line (work orders, shipments, holds); quality: dispositions, recalls,
nonconformances, signatures; auditor: reads everything, changes nothing; admin: users,
devices and master data."""
DEVICE = "device"
"""Only an edge device's credential has it: `POST /api/events` and nothing else."""
ALL_ROLES: frozenset[str] = HUMAN_ROLES | {DEVICE}
