"""Fixtures of the end-to-end tests: a Mosquitto of their own (configured as docs/mqtt.md
asks for the ingest's persistent session) and a fresh PostgreSQL database."""

from __future__ import annotations

import asyncio
import getpass
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import pytest

# Tests are not a package (pytest runs with --import-mode=importlib): put the helpers on the path.
sys.path.insert(0, str(Path(__file__).parent))

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout_s} s")


@pytest.fixture(scope="session")
def mosquitto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Mosquitto on a free port without queue limits (the ingest's persistent session must
    not lose a message, docs/mqtt.md)."""
    directory = tmp_path_factory.mktemp("mosquitto")
    port = _free_port()
    config = directory / "mosquitto.conf"
    config.write_text(
        "persistence false\nmax_queued_messages 0\nmax_queued_bytes 0\n"
        "max_inflight_messages 100\npersistent_client_expiration 1h\nallow_anonymous true\n"
        f"user {getpass.getuser()}\nlog_dest file {directory / 'mosquitto.log'}\n"
        f"listener {port} 127.0.0.1\n"
    )
    process = subprocess.Popen(
        [MOSQUITTO, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for_port(port, timeout_s=10.0)
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (the demo migrates it)."""
    name = f"tracegate_e2e_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
