"""Helpers of the cloud integration tests: event chains, an own Mosquitto, a subscriber.

Loaded by path from conftest.py (tests are not a package).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from protocols.codec import encode_event, event_hash
from protocols.events import (
    ContainerShipped,
    Event,
    LotReceived,
    LotTransformed,
    UnitAssembled,
    UnitInspected,
    UnitPacked,
    UnitReceived,
    UnitUnpacked,
)
from protocols.ids import uuid7
from protocols.parts import (
    ContainerRef,
    LotQuantity,
    ParameterSample,
    ParsedUdi,
    Party,
    Read,
    Reason,
    UnitRef,
)
from protocols.sscc import sscc_check_digit
from protocols.topics import event_topic

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
GTIN = "09506000134352"
COMPONENT_GTIN = "09506000134369"


def sscc(n: int) -> str:
    body = f"0539123{n:010d}"
    return body + str(sscc_check_digit(body))


@dataclass
class Device:
    """An edge device's event chain: seq from 1, each event naming its predecessor's hash."""

    device_id: str
    site: str
    line: str
    checkpoint: str
    seq: int = 0
    prev_hash: str = ""
    clock_offset: dt.timedelta = dt.timedelta(0)

    def seal(self, build: Callable[..., Event], **fields: Any) -> tuple[Event, bytes]:
        """Number and encode the next event of this device."""
        self.seq += 1
        event = build(
            event_id=uuid7(),
            device_id=self.device_id,
            seq=self.seq,
            prev_hash=self.prev_hash if self.seq > 1 else "",
            occurred_at=dt.datetime.now(dt.UTC) + self.clock_offset,
            site=self.site,
            line=self.line,
            checkpoint=self.checkpoint,
            **fields,
        )
        data = encode_event(event)
        self.prev_hash = event_hash(data)
        return event, data

    @property
    def topic_path(self) -> tuple[str, str, str]:
        return self.site, self.line, self.checkpoint

    def topic(self, prefix: str) -> str:
        return event_topic(self.site, self.line, self.checkpoint, prefix=prefix)

    def inspected(
        self,
        serial: str,
        *,
        decision: str = "pass",
        seal_temp: float = 182.5,
        lot: str = "A1B2C3",
        di: str = GTIN,
        work_order: str | None = "WO-1",
    ) -> tuple[Event, bytes]:
        now = dt.datetime.now(dt.UTC)
        reasons = (Reason(code="param.out_of_limits", text="seal_temp 195 > 190"),)
        return self.seal(
            UnitInspected,
            reads=(
                Read(
                    text=f"01{di}10{lot}\x1d21{serial}",
                    symbology_id="]d2",
                    source="scanner",
                    source_name="scanner-1",
                    read_at=now,
                ),
            ),
            udi=ParsedUdi(
                issuer="GS1", di=di, lot=lot, serial=serial, expiry=dt.date(2028, 12, 31)
            ),
            parameters=(
                ParameterSample(
                    name="seal_temp",
                    value=seal_temp,
                    unit="degC",
                    lo=170,
                    hi=190,
                    age_ms=12,
                    in_limits=170 <= seal_temp <= 190,
                ),
                ParameterSample(
                    name="seal_pressure",
                    value=4.1,
                    unit="bar",
                    lo=3.5,
                    hi=4.5,
                    age_ms=8,
                    in_limits=True,
                ),
            ),
            decision=decision,
            reasons=reasons if decision == "hold" else (),
            work_order=work_order,
            ruleset_version="r1",
        )

    def lot_received(
        self, lot: str, *, di: str = COMPONENT_GTIN, quantity: float = 1000
    ) -> tuple[Event, bytes]:
        return self.seal(
            LotReceived,
            di=di,
            lot=lot,
            quantity=quantity,
            supplier="Tubing Ltd",
            inspection_state="accepted",
        )

    def assembled(
        self, parent: UnitRef, components: tuple[UnitRef | LotQuantity, ...]
    ) -> tuple[Event, bytes]:
        return self.seal(UnitAssembled, parent=parent, components=components, work_order="WO-1")

    def transformed(
        self, inputs: tuple[LotQuantity, ...], outputs: tuple[LotQuantity, ...]
    ) -> tuple[Event, bytes]:
        kind = "split" if len(outputs) > 1 else "merge"
        return self.seal(LotTransformed, transformation=kind, inputs=inputs, outputs=outputs)

    def packed(
        self,
        container: str,
        children: tuple[UnitRef | ContainerRef, ...],
        *,
        parent: str | None = None,
    ) -> tuple[Event, bytes]:
        return self.seal(
            UnitPacked, container=container, children=children, parent_container=parent
        )

    def unpacked(
        self,
        container: str,
        children: tuple[UnitRef | ContainerRef, ...],
        *,
        parent: str | None = None,
    ) -> tuple[Event, bytes]:
        return self.seal(
            UnitUnpacked, container=container, children=children, parent_container=parent
        )

    def shipped(self, shipment: str, containers: tuple[str, ...]) -> tuple[Event, bytes]:
        return self.seal(
            ContainerShipped,
            shipment_id=shipment,
            order="SO-1",
            recipient=Party(
                name="St. Elsewhere Hospital",
                address_lines=("1 Main St", "Boston MA 02118"),
                country_code="US",
                region="MA",
            ),
            containers=containers,
        )

    def received(self, items: tuple[UnitRef | ContainerRef, ...]) -> tuple[Event, bytes]:
        return self.seal(
            UnitReceived,
            items=items,
            returned_by=Party(name="St. Elsewhere Hospital", country_code="US"),
            reason=Reason(code="return.damaged", text="pouch torn"),
        )


def with_field(data: bytes, **changes: Any) -> bytes:
    """The encoded event with some top-level JSON fields replaced (to build bad payloads)."""
    document = msgspec.json.decode(data)
    document.update(changes)
    return msgspec.json.encode(document)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.2),
        ):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout_s} s")


# The settings cloud/ingest/consumer.py documents for the ingest's persistent session.
INGEST_BROKER_CONFIG = """\
persistence false
max_queued_messages 0
max_queued_bytes 0
max_inflight_messages 0
persistent_client_expiration 7d
"""


@dataclass
class OwnMosquitto:
    """A Mosquitto of the tests' own on a free port, configured as the ingest needs it."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "mosquitto.conf"
        config.write_text(
            f"{INGEST_BROKER_CONFIG}allow_anonymous true\nuser root\n"
            f"log_dest file {self.directory}/mosquitto.log\n"
            f"listener {self.port} 127.0.0.1\n"
        )
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port, timeout_s=5.0)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class Publisher:
    """A plain paho QoS 1 publisher, like an edge's (which publishes raw bytes it stored)."""

    def __init__(self, port: int, *, client_id: str) -> None:
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.max_inflight_messages_set(1000)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes, *, wait: bool = True) -> mqtt.MQTTMessageInfo:
        info = self.client.publish(topic, payload, qos=1)
        if wait:
            info.wait_for_publish(timeout=5)
        return info

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Collector:
    """Subscribes to a filter and keeps every message (topic, payload, retain)."""

    def __init__(self, port: int, topic_filter: str, *, client_id: str) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_connect = lambda client, *args: client.subscribe(topic_filter, qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self._subscribed.wait(5):
            raise TimeoutError(f"no SUBACK for {topic_filter!r} within 5 s")

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))

    def snapshot(self) -> list[tuple[str, bytes, bool]]:
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def wait_until(
    predicate: Callable[[], Any], *, timeout_s: float = 10.0, what: str = "condition"
) -> Any:
    """Poll an async or sync predicate until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout_s} s (last: {value!r})")
        await asyncio.sleep(0.02)


def unit(serial: str, *, di: str = GTIN, lot: str | None = "A1B2C3") -> UnitRef:
    return UnitRef(di=di, serial=serial, lot=lot)


def lot_qty(lot: str, quantity: float, *, di: str = COMPONENT_GTIN) -> LotQuantity:
    return LotQuantity(di=di, lot=lot, quantity=quantity, unit_of_measure="EA")


@contextlib.contextmanager
def publisher(port: int, client_id: str) -> Iterator[Publisher]:
    pub = Publisher(port, client_id=client_id)
    try:
        yield pub
    finally:
        pub.close()
