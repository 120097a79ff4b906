"""A small synchronous MQTT 5 client over TLS for the broker tests: connects, subscribes,
publishes at QoS 1 and reports each PUBACK's reason code and every message received."""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

TIMEOUT_S = 5.0


class MqttProbe:
    """One client; ``connect`` returns the CONNACK reason code's value."""

    def __init__(self, *, port: int, ca_file: Path, username: str | None, password: str) -> None:
        self.port = port
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"probe-{username}-{threading.get_ident()}-{id(self)}",
            protocol=mqtt.MQTTv5,
        )
        self.client.tls_set(ca_certs=str(ca_file))
        if username is not None:
            self.client.username_pw_set(username, password)
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._connack: queue.Queue[int] = queue.Queue()
        self._subacks: queue.Queue[list[int]] = queue.Queue()
        self._pubacks: dict[int, int] = {}
        self._acked = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish

    def connect(self) -> int:
        self.client.connect("localhost", self.port, keepalive=30)
        self.client.loop_start()
        return self._connack.get(timeout=TIMEOUT_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def subscribe(self, *topic_filters: str) -> list[int]:
        self.client.subscribe([(topic, 1) for topic in topic_filters])
        return self._subacks.get(timeout=TIMEOUT_S)

    def publish(self, topic: str, payload: bytes) -> int:
        """Publish at QoS 1 and return the PUBACK's reason code value."""
        info = self.client.publish(topic, payload, qos=1)
        with self._acked:
            if not self._acked.wait_for(lambda: info.mid in self._pubacks, timeout=TIMEOUT_S):
                raise TimeoutError(f"no PUBACK for {topic!r} within {TIMEOUT_S} s")
            return self._pubacks.pop(info.mid)

    def receive_until(self, topic: str, payload: bytes) -> list[tuple[str, bytes]]:
        """Every message received up to and including (topic, payload)."""
        got: list[tuple[str, bytes]] = []
        while (topic, payload) not in got:
            got.append(self.messages.get(timeout=TIMEOUT_S))
        return got

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        self._connack.put(reason.value)

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        self.messages.put((message.topic, bytes(message.payload)))

    def _on_subscribe(
        self, _c: Any, _u: Any, _mid: int, reasons: list[ReasonCode], _p: Any
    ) -> None:
        self._subacks.put([reason.value for reason in reasons])

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: ReasonCode, _p: Any) -> None:
        with self._acked:
            self._pubacks[mid] = reason.value
            self._acked.notify_all()
