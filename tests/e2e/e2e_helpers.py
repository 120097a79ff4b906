"""Helpers of the end-to-end tests (loaded by path from conftest.py)."""

from __future__ import annotations

from pathlib import Path


def children_in(workdir: Path) -> list[str]:
    """Command lines of live processes that name `workdir` (stray children of a demo)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(workdir) in cmdline:
            found.append(f"{proc.name}: {cmdline.strip()}")
    return found
