"""The console's vendored files: a fixed list, read once (no path from a request reaches disk)."""

from __future__ import annotations

import functools
from pathlib import Path

STATIC = Path(__file__).parent / "static"
FILES = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}


@functools.cache
def static_file(name: str) -> tuple[bytes, str] | None:
    """(content, media type) of a vendored file, or None for any other name."""
    media_type = FILES.get(name)
    if media_type is None:
        return None
    return (STATIC / name).read_bytes(), media_type
