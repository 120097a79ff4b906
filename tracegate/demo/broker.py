"""The demo's own MQTT broker: a Mosquitto on a free port, its files in the working directory.

Why not the pure-Python amqtt: every Tracegate client speaks MQTT 5 (session expiry,
Receive Maximum, the ingest's shared subscription), and amqtt 0.12 accepts only MQTT 3.1.1
connections (protocol level 4). Mosquitto is the broker the plant runs; it is configured
here as docs/mqtt.md asks for the ingest's persistent session (no queue limits), without
persistence (the demo's broker lives as long as the demo).
"""

from __future__ import annotations

import getpass
import shutil
import signal
from pathlib import Path

from tracegate.demo.plant import free_port
from tracegate.demo.procs import ChildProcess, wait_for_port

MOSQUITTO_PATHS = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


class BrokerUnavailableError(RuntimeError):
    """No Mosquitto to start."""


def find_mosquitto() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in MOSQUITTO_PATHS if Path(p).is_file()), None
    )
    if found is None:
        raise BrokerUnavailableError(
            "the demo's broker is Mosquitto, and no `mosquitto` was found on PATH or in"
            f" {', '.join(MOSQUITTO_PATHS)}: install it (apt-get install mosquitto) or give"
            " --broker mqtt://HOST:PORT"
        )
    return found


class DemoBroker:
    """`await broker.start()` ... `await broker.stop()`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: ChildProcess | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    async def start(self) -> None:
        binary = find_mosquitto()
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "mosquitto.conf"
        config.write_text(
            "# Written by `tracegate demo`: the demo's own broker (docs/mqtt.md settings).\n"
            "persistence false\n"
            "max_queued_messages 0\n"
            "max_queued_bytes 0\n"
            "max_inflight_messages 100\n"
            "persistent_client_expiration 1h\n"
            "allow_anonymous true\n"
            # Mosquitto started as root drops to the `mosquitto` user unless told otherwise,
            # and then cannot write its log here.
            f"user {getpass.getuser()}\n"
            f"log_dest file {self.directory / 'mosquitto.log'}\n"
            f"listener {self.port} 127.0.0.1\n",
            encoding="utf-8",
        )
        self.process = await ChildProcess.start(
            "broker", [binary, "-c", str(config)], log=self.directory / "mosquitto.out"
        )
        await wait_for_port(self.port, timeout_s=10.0, process=self.process)

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop(signal.SIGTERM, timeout_s=5.0)
            self.process = None
