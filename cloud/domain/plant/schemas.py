"""Request and response bodies of the plant API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from protocols.scalars import Segment

Name = Annotated[str, msgspec.Meta(max_length=200)]


class SiteIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Segment
    name: Name = ""


class LineIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Segment
    name: Name = ""


class CheckpointIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Segment
    name: Name = ""


class DeviceIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    device_id: Segment
    site: Segment
    line: Segment
    checkpoint: Segment


class CheckpointOut(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    devices: list[str]


class LineOut(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    checkpoints: list[CheckpointOut]


class SiteOut(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    lines: list[LineOut]


class DeviceOut(msgspec.Struct, frozen=True, kw_only=True):
    device_id: str
    site: str
    line: str
    checkpoint: str
    registered_by: str
    registered_at: datetime
    last_seen_at: datetime | None


class PlantImport(msgspec.Struct, frozen=True, kw_only=True):
    """What importing plant files created (existing rows are left as they are)."""

    sites: int = 0
    lines: int = 0
    checkpoints: int = 0
    devices: int = 0
