"""How an agent reaches the broker, and where it keeps what the broker has not yet
acknowledged."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from protocols.config._base import ConfigModel, Float, Int, Problems, describe_value, invalid

_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883, "ws": 80, "wss": 443}


class TlsFiles(ConfigModel):
    """PEM files for a TLS connection to the broker."""

    ca_file: Path | None = None
    """CA bundle that signed the broker's certificate; none: the system's CAs."""
    cert_file: Path | None = None
    """Client certificate, when the broker authenticates devices by certificate."""
    key_file: Path | None = None
    """Private key of the client certificate."""

    @model_validator(mode="after")
    def _cross_field(self) -> TlsFiles:
        problems = Problems()
        if self.cert_file is not None and self.key_file is None:
            problems.add(("key_file",), "required when cert_file is given")
        if self.key_file is not None and self.cert_file is None:
            problems.add(("cert_file",), "required when key_file is given")
        problems.raise_if_any()
        return self


class MqttConfig(ConfigModel):
    """The broker connection. Events go out at QoS 1 on a persistent session."""

    broker_url: str
    """``mqtt://HOST[:PORT]``, ``mqtts://...`` (TLS), ``ws://HOST[:PORT]/PATH`` or
    ``wss://...``. Credentials never go here: see ``credentials_file``."""
    topic_prefix: str = "tracegate/v1"
    """Topics are ``{topic_prefix}/{site}/{line}/{checkpoint}/...``."""
    tls: TlsFiles | None = None
    """TLS files; allowed only with ``mqtts://`` or ``wss://``."""
    credentials_file: Path | None = None
    """File with the username on its first line and the password on its second, kept
    out of the config so that configs can be committed and shared."""
    keepalive_s: Int = Field(30, ge=5, le=65535)
    """MQTT keepalive; the broker declares the agent offline after 1.5 of these."""
    session_expiry_s: Int = Field(7 * 24 * 3600, ge=0)
    """How long the broker keeps the session (and queued commands) while disconnected."""
    max_inflight: Int = Field(64, ge=1, le=65535)
    """Messages published and not yet acknowledged at any time."""
    status_period_s: Float = Field(30.0, gt=0)
    """Period of the ``device.status`` heartbeat."""
    reconnect_backoff_min_s: Float = Field(1.0, gt=0)
    """First wait before reconnecting; doubled (with jitter) up to the maximum."""
    reconnect_backoff_max_s: Float = Field(60.0, gt=0)
    """Longest wait between reconnection attempts."""

    @field_validator("broker_url")
    @classmethod
    def _url_form(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in _DEFAULT_PORTS:
            raise invalid(
                "expected a URL starting mqtt://, mqtts://, ws:// or wss://,"
                f" got {describe_value(value)}"
            )
        try:
            parts.port  # noqa: B018  (urlsplit checks the port only when asked)
        except ValueError:
            raise invalid(f"expected a port from 1 to 65535 in {describe_value(value)}") from None
        if not parts.hostname:
            raise invalid(f"expected a host name in {describe_value(value)}")
        if parts.username is not None or parts.password is not None:
            raise invalid("credentials do not belong in broker_url; use credentials_file")
        return value

    @field_validator("topic_prefix")
    @classmethod
    def _prefix_form(cls, value: str) -> str:
        levels = value.split("/")
        if not value or any(not level for level in levels):
            raise invalid(
                f"expected topic levels separated by single '/', got {describe_value(value)}"
            )
        if any(char in value for char in "+#\x00"):
            raise invalid(f"wildcards '+' and '#' are not allowed, got {describe_value(value)}")
        return value

    @model_validator(mode="after")
    def _cross_field(self) -> MqttConfig:
        problems = Problems()
        if self.tls is not None and not self.uses_tls:
            problems.add(
                ("tls",), f"given, but broker_url uses {self.scheme}:// (use mqtts:// or wss://)"
            )
        if self.reconnect_backoff_min_s > self.reconnect_backoff_max_s:
            problems.add(
                ("reconnect_backoff_min_s",),
                f"must not exceed reconnect_backoff_max_s ({self.reconnect_backoff_max_s:g}),"
                f" got {self.reconnect_backoff_min_s:g}",
            )
        problems.raise_if_any()
        return self

    @property
    def scheme(self) -> str:
        """``mqtt``, ``mqtts``, ``ws`` or ``wss``."""
        return urlsplit(self.broker_url).scheme

    @property
    def host(self) -> str:
        """The broker's host name or address."""
        return urlsplit(self.broker_url).hostname or ""

    @property
    def port(self) -> int:
        """The broker's port, the scheme's default when the URL names none."""
        return urlsplit(self.broker_url).port or _DEFAULT_PORTS[self.scheme]

    @property
    def uses_tls(self) -> bool:
        """True for ``mqtts://`` and ``wss://``."""
        return self.scheme in ("mqtts", "wss")

    @property
    def transport(self) -> Literal["tcp", "websockets"]:
        """paho-mqtt's transport for the scheme."""
        return "websockets" if self.scheme in ("ws", "wss") else "tcp"

    @property
    def websocket_path(self) -> str:
        """The path of a ``ws://`` URL; ``/mqtt`` (paho's default) when it has none."""
        return urlsplit(self.broker_url).path or "/mqtt"


class OutboxConfig(ConfigModel):
    """The edge's store-and-forward outbox (SQLite). When a bound is reached, new units
    are held ("outbox full"): records are never dropped to make room."""

    path: Path
    """The SQLite file; one per agent, on storage that survives a reboot."""
    max_bytes: Int = Field(8 * 1024**3, gt=0)
    """Largest size of unsent events, in bytes."""
    max_age_h: Float = Field(168.0, gt=0)
    """Oldest an unsent event may get, in hours, before new units are held."""
