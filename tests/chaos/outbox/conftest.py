"""The chaos tests share the outbox tests' helpers (tests are not a package here)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "integration" / "outbox"))

import pytest
from outbox_helpers import unique_prefix


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    return unique_prefix(request.node.name[:20])
