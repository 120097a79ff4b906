"""systemd's notify protocol (sd_notify), for the agent's ``Type=notify`` unit with
``WatchdogSec=``: READY=1 once the agent runs, WATCHDOG=1 while it is alive, STOPPING=1
on an orderly stop. Standard library only: a Pi installs no systemd bindings.

Outside systemd (no ``$NOTIFY_SOCKET``) every call is a no-op that returns False.

>>> SystemdNotifier.from_environment({}).ready()
False
>>> watchdog_period_s({"WATCHDOG_USEC": "30000000"}, pid=1)
15.0
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

__all__ = ["SystemdNotifier", "watchdog_period_s"]


class SystemdNotifier:
    """Sends state changes to systemd's notify socket."""

    def __init__(self, socket_path: str | None) -> None:
        self.socket_path = socket_path
        """``$NOTIFY_SOCKET``: a path, or ``@name`` in the abstract namespace; None outside
        systemd."""
        self._socket: socket.socket | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SystemdNotifier:
        """A notifier for ``$NOTIFY_SOCKET`` of ``environ`` (the process's by default)."""
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET") or None)

    @property
    def enabled(self) -> bool:
        """True when systemd asked to be notified."""
        return self.socket_path is not None

    def ready(self, status: str | None = None) -> bool:
        """The agent is up: systemd ends the start-up phase of the unit."""
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        """The agent is alive: systemd restarts the timer of ``WatchdogSec=``."""
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        """The agent is shutting down on purpose."""
        return self.notify("STOPPING=1")

    def status(self, text: str) -> bool:
        """A one-line status shown by ``systemctl status``."""
        return self.notify(f"STATUS={text}")

    def notify(self, *assignments: str) -> bool:
        """Send ``KEY=value`` lines; True if systemd's socket took them, False outside
        systemd. Raises OSError when the socket refuses them (a missing or full socket)."""
        if self.socket_path is None:
            return False
        address = self.socket_path
        if address.startswith("@"):
            address = "\0" + address[1:]
        if self._socket is None:
            # Non-blocking: the agent notifies from its event loop, and a notify socket whose
            # queue is full (systemd busy) must raise, not stall the line's decisions.
            kind = socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
            self._socket = socket.socket(socket.AF_UNIX, kind)
        self._socket.sendto("\n".join(assignments).encode("utf-8"), address)
        return True

    def close(self) -> None:
        """Close the socket (a later call opens it again)."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def watchdog_period_s(
    environ: Mapping[str, str] | None = None, *, pid: int | None = None
) -> float | None:
    """How often to send WATCHDOG=1: half of ``$WATCHDOG_USEC`` (as systemd recommends), or
    None when no watchdog is set for this process (``$WATCHDOG_PID`` names another)."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    target = env.get("WATCHDOG_PID", "")
    if target and target != str(os.getpid() if pid is None else pid):
        return None
    return int(usec) / 2_000_000
