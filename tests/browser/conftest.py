"""Fixtures of the browser tests: the real service (uvicorn) on a fresh PostgreSQL and a
fresh SQLite database, seeded through its API, and Debian's Chromium driven by Playwright.
Screenshots and the page-load log go to `test-output/` at the repository root (ignored)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "integration" / "cloud"))
sys.path.insert(0, str(Path(__file__).parents[1] / "integration" / "cloud" / "issue8"))
sys.path.insert(0, str(Path(__file__).parent))

from live_service import LiveService, running
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    directory = tmp_path_factory.mktemp(f"console-{request.param}")
    yield from running(request.param, str(directory))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module-scoped on purpose: Playwright's sync API runs an event loop in this thread
    while it is open, and every asyncio test after it would find that loop running."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package (scripts/check does)"
        )
    with sync_playwright() as playwright:
        # --no-sandbox: the test machine runs as root, where Chromium's sandbox cannot start.
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Path:
    db = request.node.callspec.params.get("service", "db")
    folder = OUTPUT / "screenshots" / db
    folder.mkdir(parents=True, exist_ok=True)
    return folder
