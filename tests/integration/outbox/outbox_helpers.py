"""Shared by the outbox and publisher tests, the chaos tests and the producer script.

Loaded by path (see the conftests): tests are not a package here.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from protocols.codec import decode_event, event_hash
from protocols.events import (
    Event,
    InterlockResult,
    ParameterSample,
    ParsedUdi,
    Read,
    Reason,
    UnitInspected,
)
from protocols.ids import uuid7

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
SITE, LINE, CHECKPOINT = "plant-t", "line-1", "sealing"


def make_event(device_id: str, n: int = 0, *, hold: bool = False) -> UnitInspected:
    """A realistic unit.inspected (about 900 bytes encoded), seq not yet assigned."""
    now = dt.datetime.now(dt.UTC)
    serial = f"SN{n:08d}"
    return UnitInspected(
        event_id=uuid7(),
        device_id=device_id,
        occurred_at=now,
        site=SITE,
        line=LINE,
        checkpoint=CHECKPOINT,
        reads=(
            Read(
                text=f"0109506000134352172812311A1B2C3\x1d21{serial}",
                symbology_id="]d2",
                source="scanner",
                source_name="scanner-1",
                read_at=now,
            ),
        ),
        udi=ParsedUdi(
            issuer="GS1",
            di="09506000134352",
            lot="A1B2C3",
            serial=serial,
            expiry=dt.date(2028, 12, 31),
        ),
        parameters=(
            ParameterSample(
                name="seal_temp", value=182.5, unit="C", lo=170, hi=190, age_ms=12, in_limits=True
            ),
            ParameterSample(
                name="seal_pressure",
                value=4.1,
                unit="bar",
                lo=3.5,
                hi=4.5,
                age_ms=12,
                in_limits=True,
            ),
            ParameterSample(
                name="dwell_time", value=1.2, unit="s", lo=1.0, hi=1.5, age_ms=12, in_limits=True
            ),
        ),
        decision="hold" if hold else "pass",
        reasons=(Reason(code="seal_temp_high", text="seal_temp above limit"),) if hold else (),
        work_order="WO-2024-0001",
        ruleset_version="rules-7",
        interlock=InterlockResult(output="coil:12", written=True, verified=True),
    )


def unique_prefix(name: str) -> str:
    return f"test-{name}-{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


@dataclass
class OwnBroker:
    """A Mosquitto of the test's own, on a free port, with its config in a tmp dir."""

    directory: Path
    port: int = field(default_factory=free_port)
    extra_config: str = ""
    anonymous: bool = True
    process: subprocess.Popen[bytes] | None = None

    def config_text(self) -> str:
        return (
            f"allow_anonymous {'true' if self.anonymous else 'false'}\n"
            "persistence true\n"
            f"persistence_location {self.directory}/\n"
            f"log_dest file {self.directory}/mosquitto.log\n"
            "user root\n"
            # DESIGN.md: the stock queue limits drop QoS 1 messages for a slow subscriber.
            "max_queued_messages 1000000\n"
            "max_queued_bytes 0\n"
            # Listener options (the TLS files) must follow their listener line.
            f"listener {self.port} 127.0.0.1\n"
            f"{self.extra_config}"
        )

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "mosquitto.conf"
        config.write_text(self.config_text())
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port, timeout_s=5.0)

    def stop(self) -> None:
        """Orderly stop (SIGTERM): Mosquitto saves its persistent sessions first."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def reload(self) -> None:
        """SIGHUP: Mosquitto rereads its ACL and password files."""
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)
        time.sleep(0.3)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_text(self) -> str:
        path = self.directory / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def own_broker(directory: Path, *, extra_config: str = "") -> Iterator[OwnBroker]:
    broker = OwnBroker(directory, extra_config=extra_config)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


class Collector:
    """A plant-side subscriber: persistent session, QoS 1, keeps every message it gets."""

    def __init__(self, *, port: int, topic_filter: str, client_id: str | None = None) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._scanned = 0
        self._seen: set[uuid.UUID] = set()
        self._distinct: list[bytes] = []
        self._subscribed = threading.Event()
        self._filter = topic_filter
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"collector-{uuid.uuid4().hex[:10]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.reconnect_delay_set(0.05, 0.5)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", port, 30, clean_start=False, properties=properties)
        self.client.loop_start()
        if not self._subscribed.wait(5.0):
            raise TimeoutError(f"collector did not subscribe to {topic_filter}")

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        client.subscribe(self._filter, qos=1)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))

    def payloads(self, *, channel: str = "event") -> list[bytes]:
        with self._lock:
            return [p for t, p, _ in self.messages if t.endswith("/" + channel)]

    def wait_for_events(self, count: int, *, timeout_s: float) -> list[bytes]:
        """Distinct events (by event_id) in first-arrival order, once `count` have arrived."""
        deadline = time.monotonic() + timeout_s
        while True:
            distinct = self.distinct_events()
            if len(distinct) >= count or time.monotonic() > deadline:
                return distinct
            time.sleep(0.05)

    def distinct_events(self) -> list[bytes]:
        """Dedupe by event_id incrementally (decoding each message once)."""
        with self._lock:
            fresh = self.messages[self._scanned :]
            self._scanned = len(self.messages)
        for topic, payload, _ in fresh:
            if not topic.endswith("/event"):
                continue
            event_id = decode_event(payload).event_id
            if event_id not in self._seen:
                self._seen.add(event_id)
                self._distinct.append(payload)
        return list(self._distinct)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def dedupe(payloads: list[bytes]) -> list[bytes]:
    """First arrival of each event_id, in arrival order (what a plant subscriber does)."""
    seen: set[uuid.UUID] = set()
    out: list[bytes] = []
    for payload in payloads:
        event = decode_event(payload)
        if event.event_id not in seen:
            seen.add(event.event_id)
            out.append(payload)
    return out


def verify_chain(payloads: list[bytes], *, first_seq: int = 1) -> list[Event]:
    """Check seq runs first_seq.. with no gap, in order, and every prev_hash links up."""
    events = [decode_event(p) for p in payloads]
    for index, (event, payload) in enumerate(zip(events, payloads, strict=True)):
        expected_seq = first_seq + index
        assert event.seq == expected_seq, (
            f"event {index}: expected seq {expected_seq}, got {event.seq}"
        )
        if index > 0:
            expected_hash = event_hash(payloads[index - 1])
            assert event.prev_hash == expected_hash, (
                f"seq {event.seq}: prev_hash {event.prev_hash} != hash of seq "
                f"{event.seq - 1} {expected_hash}"
            )
        elif event.seq == 1:
            assert event.prev_hash == "", f"seq 1 has prev_hash {event.prev_hash!r}"
        del payload
    return events


def kill_quietly(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


def publisher_options(port: int, prefix: str) -> dict[str, Any]:
    """Keyword options for a test Publisher: fast reconnects, the test's topic prefix."""
    return {
        "host": "127.0.0.1",
        "port": port,
        "site": SITE,
        "line": LINE,
        "checkpoint": CHECKPOINT,
        "software_version": "0.1.0-test",
        "config_hash": "cfg-1234",
        "topic_prefix": prefix,
        "client_id": f"edge-{prefix}",
        "reconnect_initial_s": 0.05,
        "reconnect_max_s": 0.5,
        "connect_timeout_s": 2.0,
    }


async def wait_until(predicate: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)
