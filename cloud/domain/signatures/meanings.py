"""What a signature may mean, per kind of act (21 CFR 11.50(a)(3): the meaning is recorded)."""

from __future__ import annotations

from collections.abc import Mapping

DISPOSITION_MEANINGS: Mapping[str, tuple[str, ...]] = {
    "release": ("approved for release",),
    "scrap": ("approved for scrap",),
    "rework": ("approved for rework",),
    "quarantine": ("quarantine confirmed",),
}
CLOSE_MEANINGS: tuple[str, ...] = ("reviewed and closed", "approved")
"""Closing a nonconformance or a CAPA."""
RECALL_CLOSE_MEANINGS: tuple[str, ...] = ("recall completed", "recall terminated")

ALL_MEANINGS = frozenset(
    {m for ms in DISPOSITION_MEANINGS.values() for m in ms}
    | set(CLOSE_MEANINGS)
    | set(RECALL_CLOSE_MEANINGS)
)
