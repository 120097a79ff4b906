"""The systemd notify protocol over a real AF_UNIX datagram socket, as systemd listens."""

from __future__ import annotations

import doctest
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import edge.checkpoint.sd_notify
from edge.checkpoint.sd_notify import SystemdNotifier, watchdog_period_s


@pytest.fixture
def systemd_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify")
    listener.bind(path)
    listener.settimeout(2)
    yield listener, path
    listener.close()


def test_ready_watchdog_and_stopping_reach_the_socket(
    systemd_socket: tuple[socket.socket, str],
) -> None:
    listener, path = systemd_socket
    notifier = SystemdNotifier.from_environment({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready(status="sealing: links up")
    assert notifier.watchdog()
    assert notifier.stopping()
    notifier.close()
    got = [listener.recv(4096) for _ in range(3)]
    assert got == [b"READY=1\nSTATUS=sealing: links up", b"WATCHDOG=1", b"STOPPING=1"]


def test_abstract_socket_names_start_with_at() -> None:
    name = f"tracegate-test-{uuid.uuid4().hex}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind("\0" + name)
    listener.settimeout(2)
    try:
        notifier = SystemdNotifier(f"@{name}")
        assert notifier.watchdog()
        assert listener.recv(64) == b"WATCHDOG=1"
        notifier.close()
    finally:
        listener.close()


def test_outside_systemd_nothing_is_sent() -> None:
    notifier = SystemdNotifier.from_environment({"NOTIFY_SOCKET": ""})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog() is False


def test_a_missing_socket_raises(tmp_path: Path) -> None:
    notifier = SystemdNotifier(str(tmp_path / "gone"))
    with pytest.raises(FileNotFoundError):
        notifier.ready()


def test_watchdog_period_is_half_the_timeout_for_this_process() -> None:
    assert watchdog_period_s({"WATCHDOG_USEC": "30000000"}) == 15.0
    own = {"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": str(os.getpid())}
    assert watchdog_period_s(own) == 5.0
    assert watchdog_period_s({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "1"}, pid=2) is None
    assert watchdog_period_s({}) is None
    assert watchdog_period_s({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_period_s({"WATCHDOG_USEC": "soon"}) is None


def test_doctests() -> None:
    assert doctest.testmod(edge.checkpoint.sd_notify).failed == 0
