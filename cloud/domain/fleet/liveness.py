"""How an agent's last status reads now, and whether the agents of a line run one config.

Pure functions of what was stored and the time: the rules are tested without a broker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Liveness = Literal["online", "silent", "offline", "unknown"]
"""`online`: said so and heard within the allowance; `silent`: said online, then nothing for
longer (the agent, its network or the cloud's own subscription is down, and no will reached
the cloud); `offline`: said so (orderly stop, or the broker's last will); `unknown`: no status
ever received."""


def liveness(
    *, online: bool | None, heard_at: datetime | None, now: datetime, silent_after: timedelta
) -> Liveness:
    """Classify a device from its last status (`online` None: it never sent one).

    >>> import datetime as dt
    >>> t = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)
    >>> late = t + dt.timedelta(seconds=91)
    >>> liveness(online=True, heard_at=t, now=late, silent_after=dt.timedelta(seconds=90))
    'silent'
    """
    if online is None or heard_at is None:
        return "unknown"
    if not online:
        return "offline"
    return "silent" if now - heard_at > silent_after else "online"


def silent_after(*, status_period_s: float, periods: float) -> timedelta:
    """How long an online agent may go unheard: `periods` heartbeat periods."""
    return timedelta(seconds=status_period_s * periods)


@dataclass(frozen=True, slots=True)
class LineConfigs:
    """The config hashes the agents of one line last reported."""

    site: str
    line: str
    hashes: dict[str, list[str]]
    """Each hash, with the devices reporting it, the most common first."""

    @property
    def consistent(self) -> bool:
        return len(self.hashes) <= 1

    def differs(self, device_id: str) -> bool:
        """This device's hash is not the one most agents of the line run (on a tie, every
        agent differs: nothing tells which config is the intended one). A device that
        reported no hash differs from nothing."""
        if self.consistent or not any(device_id in d for d in self.hashes.values()):
            return False
        counts = [len(devices) for devices in self.hashes.values()]
        top = max(counts)
        majority = [h for h, devices in self.hashes.items() if len(devices) == top]
        if len(majority) > 1:
            return True
        return device_id not in self.hashes[majority[0]]


def line_configs(reports: Iterable[tuple[str, str, str, str]]) -> list[LineConfigs]:
    """Group (site, line, device_id, config_hash) by line, lines in order of first mention.

    >>> lines = line_configs([("s", "l", "a", "h1"), ("s", "l", "b", "h1"), ("s", "l", "c", "h2")])
    >>> [(x.consistent, x.differs("a"), x.differs("c")) for x in lines]
    [(False, False, True)]
    """
    grouped: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for site, line, device_id, config_hash in reports:
        grouped.setdefault((site, line), []).append((config_hash, device_id))
    result = []
    for (site, line), items in grouped.items():
        counts = Counter(config_hash for config_hash, _ in items)
        hashes: dict[str, list[str]] = {
            h: sorted(d for c, d in items if c == h) for h, _ in counts.most_common()
        }
        result.append(LineConfigs(site=site, line=line, hashes=hashes))
    return result
