"""MQTT publishing for the edge agent: the outbox drained to the broker, and status messages.

The agent builds a `Publisher` from the device config's `mqtt` section and the open `Outbox`.
"""

from edge.publish.backoff import Backoff
from edge.publish.credentials import CredentialsError, MqttCredentials, load_credentials
from edge.publish.publisher import Publisher
from edge.publish.status import PublishAlarm, PublisherStatus
from edge.publish.tls import MqttTls, TlsConfigError

__all__ = [
    "Backoff",
    "CredentialsError",
    "MqttCredentials",
    "MqttTls",
    "PublishAlarm",
    "Publisher",
    "PublisherStatus",
    "TlsConfigError",
    "load_credentials",
]
