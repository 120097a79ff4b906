"""A small valid line config that the tests break one key at a time."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from protocols.config import ConfigError, load_plant_text

# Line numbers matter: the tests assert them. Keep this text as it is, and add to it
# only at the end.
MINIMAL = """\
site:
  id: plant
  name: Plant
  timezone: UTC
line:
  id: line-1
  name: Line 1
mqtt:
  broker_url: mqtt://127.0.0.1:1883
checkpoints:
  - id: sealing
    name: Sealer
    role: sealing
    device_id: edge-sealing
    scanners:
      - name: unit
        port: socket://127.0.0.1:17031
    plc:
      host: 127.0.0.1
      registers:
        - name: seal_temp
          address: 0
          type: int16
          scale: 0.1
          lo: 175
          hi: 185
        - name: seal_pressure
          address: 1
          type: uint16
          scale: 0.01
    outbox:
      path: /tmp/sealing/outbox.sqlite3
    state_path: /tmp/sealing/state.sqlite3
"""

SECOND = """\
  - id: inspection
    name: Final inspection
    role: inspection
    device_id: edge-inspection
    camera:
      source: 0
    predecessors: [sealing]
    outbox:
      path: /tmp/inspection/outbox.sqlite3
    state_path: /tmp/inspection/state.sqlite3
"""


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


@pytest.fixture
def minimal() -> str:
    """A valid one-checkpoint config."""
    return MINIMAL


@pytest.fixture
def two_checkpoints() -> str:
    """A valid config of sealing then inspection (its `- id:` at line 34)."""
    return MINIMAL + SECOND


@pytest.fixture
def edit() -> Callable[[str, str, str], str]:
    """``edit(text, old, new)``: ``text`` with its one ``old`` replaced by ``new``."""
    return _edit


@pytest.fixture
def problems_of() -> Callable[[str], list[str]]:
    """Load a config text as `line.yaml` and return its problems, rendered."""

    def load(text: str) -> list[str]:
        with pytest.raises(ConfigError) as info:
            load_plant_text(text, source="line.yaml")
        assert str(info.value) == "\n".join(str(p) for p in info.value.problems)
        return [str(p) for p in info.value.problems]

    return load
