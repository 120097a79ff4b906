"""Fixtures for the outbox and publisher tests; helpers live in outbox_helpers.py."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# Tests are not a package (pytest runs with --import-mode=importlib): put the helpers on the path.
sys.path.insert(0, str(Path(__file__).parent))

from outbox_helpers import unique_prefix

from edge.outbox import Outbox

DEVICE = "dev-test"


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    return unique_prefix(request.node.name[:20].replace("[", "-").replace("]", ""))


@pytest.fixture
async def outbox(tmp_path: Path, prefix: str) -> AsyncIterator[Outbox]:
    box = await Outbox.open(
        tmp_path / "outbox.db",
        device_id=DEVICE,
        max_bytes=1_000_000_000,
        max_age_s=3600,
        topic_prefix=prefix,
    )
    yield box
    await box.close()
