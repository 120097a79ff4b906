"""Send a command to a checkpoint through the broker (`tracegate edge hold ... --broker`).

The command goes to the checkpoint's `cmd/{kind}` topic at QoS 1, as the cloud sends it;
the agent's persistent session keeps it while the agent is offline.
"""

from __future__ import annotations

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.publish import MqttTls, load_credentials
from protocols.codec import encode_command
from protocols.commands import Command
from protocols.config import MqttConfig
from protocols.topics import command_topic


class CommandPublishError(Exception):
    """The broker did not take the command."""


def publish_command(
    mqtt_config: MqttConfig,
    command: Command,
    *,
    site: str,
    line: str,
    checkpoint: str,
    timeout_s: float = 5.0,
) -> str:
    """Publish `command`; return the topic once the broker acknowledged it."""
    topic = command_topic(site, line, checkpoint, command.kind, prefix=mqtt_config.topic_prefix)
    where = f"{mqtt_config.host}:{mqtt_config.port}"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, transport=mqtt_config.transport
    )
    if mqtt_config.transport == "websockets":
        client.ws_set_options(path=mqtt_config.websocket_path)
    tls = mqtt_config.tls
    if tls is not None and tls.ca_file is not None:
        client.tls_set_context(
            MqttTls(ca_file=tls.ca_file, cert_file=tls.cert_file, key_file=tls.key_file).context()
        )
    if mqtt_config.credentials_file is not None:
        credentials = load_credentials(mqtt_config.credentials_file)
        client.username_pw_set(credentials.username, credentials.password)
    client.connect_timeout = timeout_s
    try:
        client.connect(mqtt_config.host, mqtt_config.port, keepalive=mqtt_config.keepalive_s)
    except OSError as exc:
        raise CommandPublishError(f"Cannot connect to MQTT broker {where}: {exc}") from exc
    client.loop_start()
    try:
        info = client.publish(topic, encode_command(command), qos=1)
        info.wait_for_publish(timeout=timeout_s)
        if not info.is_published():
            raise CommandPublishError(
                f"MQTT broker {where} did not acknowledge the command on {topic} within "
                f"{timeout_s:g} s"
            )
    finally:
        client.disconnect()
        client.loop_stop()
    return topic
