"""The small JSON file a running agent rewrites every second, for `tracegate edge status`.

It holds what only the running process knows (links, task health, counters, the last
decisions, alarms); what is durable (work order, holds, outbox depth) is read from the
state and outbox files themselves, so the status works when the agent is not running.
Written to a temporary file and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import msgspec

STATUS_SUFFIX = ".status.json"


class LinkStatus(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    kind: str
    state: str
    since: dt.datetime
    detail: str | None = None


class TaskStatus(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    critical: bool
    up: bool
    restarts: int
    last_error: str | None = None


class DecisionStatus(msgspec.Struct, frozen=True, kw_only=True):
    at: dt.datetime
    unit: str | None
    decision: str
    reasons: tuple[str, ...]
    seq: int | None
    latency_ms: float | None
    """From the trigger to the PLC's acknowledgement of the output."""
    corrected: bool = False


class AlarmStatus(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    message: str
    at: dt.datetime


class AgentStatus(msgspec.Struct, frozen=True, kw_only=True):
    device_id: str
    checkpoint: str
    pid: int
    running: bool
    started_at: dt.datetime
    updated_at: dt.datetime
    period_s: float
    links: tuple[LinkStatus, ...] = ()
    tasks: tuple[TaskStatus, ...] = ()
    counters: dict[str, int] = msgspec.field(default_factory=dict)
    reasons: dict[str, int] = msgspec.field(default_factory=dict)
    publisher: dict[str, str | int | None] = msgspec.field(default_factory=dict)
    outbox_depth: int | None = None
    last_seq: int | None = None
    work_order: str | None = None
    line_stop_requested: str | None = None
    last_decisions: tuple[DecisionStatus, ...] = ()
    alarms: tuple[AlarmStatus, ...] = ()


def status_path(state_path: Path) -> Path:
    """Where the agent whose state lives at `state_path` writes its status."""
    return state_path.with_name(state_path.stem + STATUS_SUFFIX)


def write_status(path: Path, status: AgentStatus) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(msgspec.json.encode(status))
    tmp.replace(path)


def read_status(path: Path) -> AgentStatus | None:
    """The last status written, or None when there is none (or it cannot be read)."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=AgentStatus)
    except (OSError, msgspec.DecodeError):
        return None


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
