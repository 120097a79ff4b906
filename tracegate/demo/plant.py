"""The demo's plant config: the example line's file with local paths and simulated devices.

`device-configs/line-1.yaml` describes the real line (files under /var/lib/tracegate, PLCs
and readers at the plant's addresses). The demo writes a copy into its working directory
in which every file lives under that directory, every scanner is a simulated reader on a
free TCP port, every PLC a simulated one on a free port, the camera is the simulated one,
and the broker is the demo's. Only the checkpoints the demo runs are kept. The copy is
validated like any plant file.
"""

from __future__ import annotations

import copy
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from protocols.config import PlantConfig, load_plant_text

EXAMPLE_PLANT = Path(__file__).absolute().parents[2] / "device-configs" / "line-1.yaml"
"""The example plant in the source tree."""

SIMULATED_CAMERA = "simulated"
"""The camera source written into the demo's config: the agent's grabber is injected."""

# Trigger polls every 20 ms (not 5): the agents poll one simulated plant served by one
# Python process, and the simulated units block the photo-eye for 150 ms (plan.py), so an
# edge is still seen when a poll comes late on a busy host.
TRIGGER_POLL_MS = 20
# The engine judges the latest values polled when the unit's reads are in, which is
# `simplant.READ_DELAY_MS` after the photo-eye. Polled every 100 ms (the plant's setting),
# the latest value can predate the unit and belong to the one before it; every 10 ms it
# is the unit's own, so an excursion during one unit is always in that unit's snapshot.
SEALING_POLL_MS = 10
# Simulated devices answer over loopback from a busy process; a 100 ms Modbus timeout
# turns a scheduling hiccup of the demo host into a PLC link flap.
PLC_TIMEOUT_S = 0.25


# The camera's agent renders and decodes its frames in one Python process on a host shared
# with six other agents: 15 frames a second still put two or three frames of each unit in
# the 150 ms read window, at half the decoding work of 30.
CAMERA_FPS = 15.0


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoPlant:
    """The derived config, where it was written, and the simulated endpoints it names."""

    path: Path
    config: PlantConfig
    scanner_ports: dict[tuple[str, str], int]
    """(checkpoint, scanner name) -> TCP port of its simulated reader."""
    plc_ports: dict[str, int]
    """checkpoint -> TCP port of its simulated PLC."""


def derive_plant(
    source: Path,
    *,
    workdir: Path,
    broker_url: str,
    topic_prefix: str,
    checkpoints: Iterable[str],
) -> DemoPlant:
    """Write `workdir/plant/<name>` from `source`, keeping `checkpoints` (in the file's
    order), and load it back."""
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("checkpoints"), list):
        raise ValueError(f"{source}: expected a plant config with a list of checkpoints")
    wanted = list(checkpoints)
    known = [cp.get("id") for cp in data["checkpoints"] if isinstance(cp, dict)]
    missing = [c for c in wanted if c not in known]
    if missing:
        raise ValueError(
            f"{source}: no checkpoint {', '.join(missing)}"
            f" (checkpoints: {', '.join(map(str, known))})"
        )
    derived = copy.deepcopy(data)
    derived["mqtt"] = _mqtt(data.get("mqtt") or {}, broker_url=broker_url, prefix=topic_prefix)
    edge_dir = workdir / "edge"
    scanner_ports: dict[tuple[str, str], int] = {}
    plc_ports: dict[str, int] = {}
    kept = []
    for cp in data["checkpoints"]:
        if cp.get("id") not in wanted:
            continue
        cp = copy.deepcopy(cp)
        name = str(cp["id"])
        files = edge_dir / name
        files.mkdir(parents=True, exist_ok=True)
        cp["outbox"] = {**cp.get("outbox", {}), "path": str(files / "outbox.sqlite3")}
        cp["state_path"] = str(files / "state.sqlite3")
        cp["predecessors"] = [p for p in cp.get("predecessors", []) if p in wanted]
        for scanner in cp.get("scanners", []):
            port = free_port()
            scanner_ports[(name, str(scanner["name"]))] = port
            scanner["port"] = f"socket://127.0.0.1:{port}"
            # The restarted agent must find its readers again within a second.
            scanner["reconnect_backoff_min_s"] = 0.1
            scanner["reconnect_backoff_max_s"] = 0.5
        if cp.get("plc") is not None:
            plc_ports[name] = port = free_port()
            _plc(cp["plc"], port=port, sealing=cp.get("role") == "sealing")
        if cp.get("camera") is not None:
            camera = cp["camera"]
            camera["source"] = SIMULATED_CAMERA
            # The simulated camera renders 640x360 frames: no region to cut out.
            camera.pop("roi", None)
            camera["fps"] = min(float(camera.get("fps", CAMERA_FPS)), CAMERA_FPS)
        kept.append(cp)
    derived["checkpoints"] = kept
    path = workdir / "plant" / source.name
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# Derived by `tracegate demo` from {source}: local files, simulated devices,\n"
        f"# the demo's broker. Regenerated on every run.\n"
    )
    text = header + yaml.safe_dump(derived, sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    config = load_plant_text(text, source=str(path))
    return DemoPlant(path=path, config=config, scanner_ports=scanner_ports, plc_ports=plc_ports)


def _mqtt(mqtt: dict[str, Any], *, broker_url: str, prefix: str) -> dict[str, Any]:
    return {
        **mqtt,
        "broker_url": broker_url,
        "topic_prefix": prefix,
        # The live view reads the status files; the broker's status topic need not be chatty.
        "status_period_s": 5,
        # A restarted agent is back on the broker at once, and leaves no week-long
        # session behind on a broker it shares with others.
        "reconnect_backoff_min_s": 0.2,
        "reconnect_backoff_max_s": 2.0,
        "session_expiry_s": 600,
    }


def _plc(plc: dict[str, Any], *, port: int, sealing: bool) -> None:
    plc["host"] = "127.0.0.1"
    plc["port"] = port
    plc["timeout_s"] = PLC_TIMEOUT_S
    plc["reconnect_backoff_min_s"] = 0.05
    plc["reconnect_backoff_max_s"] = 0.5
    if plc.get("trigger") is not None:
        plc["trigger"]["poll_period_ms"] = TRIGGER_POLL_MS
    if sealing:
        for register in plc.get("registers", []):
            if "lo" in register or "hi" in register:
                register["poll_period_ms"] = SEALING_POLL_MS
