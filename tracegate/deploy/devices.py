"""Every edge device of the plant, with the topics it may use, from the device configs.

A device's broker username is its ``device_id``. The schema makes device ids unique within
a line; the broker needs them unique across every line of the plant, which is checked here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from protocols.config import load_plant_file
from protocols.topics import command_topic, event_topic, status_topic

__all__ = ["DeployError", "DeviceAccess", "collect_devices", "plant_files"]

_SUFFIXES = (".yaml", ".yml")


class DeployError(ValueError):
    """Deployment inputs that cannot be generated; the message names the file and the value."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceAccess:
    """One checkpoint's edge device and what it may do on the broker."""

    device_id: str
    """The device's id in its config, also its broker username."""
    source: str
    """The plant file that defines it, as named by the caller."""
    site: str
    """The site segment of its topics."""
    line: str
    """The line segment of its topics."""
    checkpoint: str
    """The checkpoint segment of its topics."""
    topic_prefix: str
    """The prefix of its topics (the line's or the checkpoint's own ``mqtt``)."""
    predecessors: tuple[str, ...]
    """Checkpoints of the line whose events it reads."""
    outbox_path: str
    """Its outbox file (must survive a reboot)."""
    state_path: str
    """Its local state file (must survive a reboot)."""

    @property
    def event_topic(self) -> str:
        """Where it publishes its events."""
        return event_topic(self.site, self.line, self.checkpoint, prefix=self.topic_prefix)

    @property
    def status_topic(self) -> str:
        """Where it publishes its retained status and its will."""
        return status_topic(self.site, self.line, self.checkpoint, prefix=self.topic_prefix)

    @property
    def command_filter(self) -> str:
        """Every command topic of its checkpoint (``.../cmd/#``)."""
        hold = command_topic(
            self.site, self.line, self.checkpoint, "hold", prefix=self.topic_prefix
        )
        return hold.rsplit("/", 1)[0] + "/#"

    @property
    def predecessor_event_topics(self) -> tuple[str, ...]:
        """The event topics of its route predecessors, which it reads."""
        return tuple(
            event_topic(self.site, self.line, pred, prefix=self.topic_prefix)
            for pred in self.predecessors
        )

    def as_json(self) -> dict[str, object]:
        """A plain mapping for Ansible: the fields and the topics."""
        return {
            "device_id": self.device_id,
            "source": self.source,
            "file_name": Path(self.source).name,
            "site": self.site,
            "line": self.line,
            "checkpoint": self.checkpoint,
            "topic_prefix": self.topic_prefix,
            "predecessors": list(self.predecessors),
            "outbox_path": self.outbox_path,
            "state_path": self.state_path,
            "event_topic": self.event_topic,
            "status_topic": self.status_topic,
            "command_filter": self.command_filter,
            "predecessor_event_topics": list(self.predecessor_event_topics),
        }


def plant_files(paths: Iterable[Path]) -> list[Path]:
    """The plant files named by ``paths``: files as given, directories searched for
    ``.yaml``/``.yml`` files recursively (sorted). DeployError for a path naming none."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in _SUFFIXES and p.is_file())
            if not found:
                raise DeployError(f"{path}: expected .yaml or .yml plant files, found none")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise DeployError(f"{path}: no such file or directory")
    return files


def collect_devices(paths: Sequence[Path]) -> list[DeviceAccess]:
    """Every checkpoint's device in the plant files under ``paths``, in file then line order.

    Raises ``ConfigError`` for an invalid file, and DeployError when two checkpoints of
    the plant share a device id (they would share a broker account).
    """
    devices: list[DeviceAccess] = []
    owner: dict[str, DeviceAccess] = {}
    for file in plant_files(paths):
        plant = load_plant_file(file)
        for cp in plant.checkpoints:
            device = DeviceAccess(
                device_id=cp.device_id,
                source=str(file),
                site=plant.site.id,
                line=plant.line.id,
                checkpoint=cp.id,
                topic_prefix=plant.mqtt_for(cp.id).topic_prefix,
                predecessors=cp.predecessors,
                outbox_path=str(cp.outbox.path),
                state_path=str(cp.state_path),
            )
            first = owner.get(device.device_id)
            if first is not None:
                raise DeployError(
                    f"{device.source} checkpoint '{device.checkpoint}': device_id"
                    f" '{device.device_id}' is already used by {first.source} checkpoint"
                    f" '{first.checkpoint}'; a device id is its broker username and must be"
                    " unique across the plant"
                )
            owner[device.device_id] = device
            devices.append(device)
    return devices
