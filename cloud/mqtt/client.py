"""paho-mqtt clients configured from settings: MQTT 5, VERSION2 callbacks, auto-reconnect."""

from __future__ import annotations

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cloud.settings import BrokerAddress


def make_client(broker: BrokerAddress, *, client_id: str, manual_ack: bool = False) -> mqtt.Client:
    # Without VERSION2 paho falls back to its deprecated callback signatures (DESIGN.md).
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=manual_ack,
    )
    if broker.username is not None:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set(
            ca_certs=str(broker.ca_file) if broker.ca_file else None,
            certfile=str(broker.cert_file) if broker.cert_file else None,
            keyfile=str(broker.key_file) if broker.key_file else None,
        )
    client.reconnect_delay_set(min_delay=1, max_delay=10)
    return client


def connect_properties(*, session_expiry_s: int, receive_maximum: int | None = None) -> Properties:
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho: untyped
    properties.SessionExpiryInterval = session_expiry_s
    if receive_maximum is not None:
        properties.ReceiveMaximum = receive_maximum
    return properties


def connect_clean(client: mqtt.Client, broker: BrokerAddress) -> None:
    """Connect in paho's background thread with a clean, non-persistent session (retained
    statuses and published commands need none), reconnecting by itself."""
    client.connect_async(
        broker.host,
        broker.port,
        keepalive=30,
        clean_start=True,
        properties=connect_properties(session_expiry_s=0),
    )
    client.loop_start()
