"""What /proc says of a process: resident memory and CPU time per thread (Linux only)."""

from __future__ import annotations

import os
from pathlib import Path

_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int | str = "self") -> dict[str, float]:
    """`VmRSS` (resident now), `VmHWM` (resident at most so far), `RssAnon` (heap, not
    file-backed) of process `pid`, in MiB."""
    figures: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            figures[key] = int(rest.split()[0]) / 1024
    return figures


def rss_mb(pid: int | str = "self") -> float:
    return memory_mb(pid)["VmRSS"]


def thread_cpu_s(pid: int | str = "self") -> dict[int, tuple[str, float]]:
    """Thread id -> (thread name, CPU seconds so far), for every live thread of `pid`."""
    threads: dict[int, tuple[str, float]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        threads[int(task.name)] = (name, (int(fields[11]) + int(fields[12])) * _TICK_S)
    return threads


def process_cpu_s(pid: int | str = "self") -> float:
    """User + system CPU seconds of process `pid` (all its threads, ended ones included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * _TICK_S
