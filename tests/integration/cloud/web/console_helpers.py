"""Helpers of the console tests (loaded by path from conftest.py: tests are not a package)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]
HTML = {"Accept": "text/html,application/xhtml+xml"}
LogIn = Callable[[str], Awaitable[Client]]


def csrf_of(html: str) -> str:
    """The form token a page carries."""
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)
