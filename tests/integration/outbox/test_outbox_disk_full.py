"""Disk full: a real ENOSPC from a small tmpfs, not a simulated error."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from outbox_helpers import make_event, verify_chain

from edge.outbox import Outbox, OutboxUnavailable

DEVICE = "dev-test"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs (needs root, as on the development machines and CI)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(directory: Path) -> Path:
    ballast = directory / "ballast"
    with ballast.open("wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    return ballast


async def test_disk_full_makes_commits_unavailable_loses_nothing_and_recovers(
    small_disk: Path,
) -> None:
    path = small_disk / "outbox.db"
    box = await Outbox.open(path, device_id=DEVICE, max_bytes=10**9, max_age_s=3600)
    try:
        for n in range(50):
            await box.commit(make_event(DEVICE, n))
        ballast = _fill(small_disk)

        with pytest.raises(OutboxUnavailable) as caught:
            await box.commit(make_event(DEVICE, 51))
        with pytest.raises(OutboxUnavailable):
            await box.commit(make_event(DEVICE, 52))

        assert caught.value.kind == "disk_full"
        assert caught.value.hold_reason == "outbox error"
        assert str(caught.value) == (
            f"Outbox {path} unavailable: disk full while writing 1 event and 0 acks "
            "(SQLITE_FULL: database or disk is full)"
        )
        assert box.metrics().state == "unavailable"
        assert [r.seq for r in await box.peek(100)] == list(range(1, 51))

        ballast.unlink()
        recovered = await box.commit(make_event(DEVICE, 53))

        assert recovered.seq == 51
        assert box.metrics().state == "ok"
        assert [a.code for a in box.alarms] == ["outbox_unavailable", "outbox_recovered"]
        verify_chain([r.payload for r in await box.peek(100)])
    finally:
        await box.close()
