"""Settings of the cloud service, read once in `main()` and passed down.

Precedence: defaults < settings file (TOML or YAML) < environment (`TRACEGATE_*`).
Nothing here runs at import time.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENV_PREFIX = "TRACEGATE_"
CONFIG_ENV = "TRACEGATE_CONFIG"


class SettingsError(ValueError):
    """Settings that cannot be used; the message names the source and the key."""


class BrokerAddress(BaseModel):
    """Where the MQTT broker listens, parsed from `mqtt://user:pass@host:port`."""

    model_config = ConfigDict(frozen=True)

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None
    ca_file: Path | None = None
    """CA bundle the broker's certificate must chain to (`mqtts://`); the system's CAs if None."""
    cert_file: Path | None = None
    """Client certificate (PEM) for a broker that requires one."""
    key_file: Path | None = None
    """Its private key, when not in `cert_file`."""


class Settings(BaseModel):
    """Everything the cloud service, the ingest and the CLI need to run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = "sqlite+aiosqlite:///./tracegate.sqlite3"
    """SQLAlchemy async URL: `sqlite+aiosqlite:///path` or `postgresql+asyncpg://...`."""
    database_pool_size: int = Field(default=10, ge=1)
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    """Broker URL: `mqtt://` or `mqtts://`, with optional `user:password@`."""
    mqtt_ca_file: Path | None = None
    """`mqtts://` only: the plant CA that signed the broker's certificate."""
    mqtt_cert_file: Path | None = None
    """`mqtts://` only: client certificate, for a broker with `require_certificate true`."""
    mqtt_key_file: Path | None = None
    topic_prefix: str = "tracegate/v1"
    ingest_enabled: bool = False
    """Run the MQTT ingest inside `cloud serve` (it can also run as `cloud ingest`)."""
    ingest_group: str = "tracegate-ingest"
    """Shared-subscription group: workers in one group split the events."""
    ingest_client_id: str = "tracegate-ingest-1"
    """Stable per worker: the broker keeps this session's queue while it is away."""
    ingest_session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    ingest_batch_max: int = Field(default=500, ge=1, le=10_000)
    ingest_batch_wait_ms: int = Field(default=20, ge=0)
    ingest_concurrency: int = Field(default=2, ge=1, le=8)
    """Batches one worker stores at once on PostgreSQL (one decodes while one commits)."""
    ingest_receive_maximum: int = Field(default=2000, ge=1, le=65535)
    """MQTT 5 Receive Maximum: unacknowledged messages the broker may send us at once."""
    max_event_bytes: int = Field(default=256 * 1024, ge=1024)
    dead_letter_keep_bytes: int = Field(default=64 * 1024, ge=0)
    """Raw bytes kept of a dead-lettered payload (the full size is recorded)."""
    clock_skew_threshold_s: float = Field(default=300.0, gt=0)
    accept_unknown_devices: bool = True
    """Bind an unknown device to the checkpoint it first publishes on (else dead-letter it)."""
    status_period_s: float = Field(default=30.0, gt=0)
    """The edge agents' heartbeat period (their config's `mqtt.status_period_s`; the longest,
    if lines differ)."""
    status_silent_after_periods: float = Field(default=3.0, ge=1)
    """An agent that said it is online and then was not heard for this many periods is shown
    as silent."""
    command_timeout_s: float = Field(default=5.0, gt=0)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    device_configs_dir: Path | None = None
    """Plant files imported into sites, lines, checkpoints and devices on `cloud migrate`."""

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        scheme = value.split("://", 1)[0]
        if scheme not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ValueError(
                f"expected a sqlite+aiosqlite:// or postgresql+asyncpg:// URL, got {scheme!r}"
            )
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _known_broker_scheme(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"expected mqtt://host:port or mqtts://host:port, got {value!r}")
        return value

    @field_validator("topic_prefix")
    @classmethod
    def _plain_prefix(cls, value: str) -> str:
        if not value or value.startswith("/") or value.endswith("/") or set("#+") & set(value):
            raise ValueError(
                f"expected topic levels without wildcards or outer slashes, got {value!r}"
            )
        return value

    @property
    def broker(self) -> BrokerAddress:
        parts = urlsplit(self.mqtt_url)
        tls = parts.scheme == "mqtts"
        return BrokerAddress(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            ca_file=self.mqtt_ca_file,
            cert_file=self.mqtt_cert_file,
            key_file=self.mqtt_key_file,
        )

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")


def read_settings_file(path: Path) -> dict[str, Any]:
    """The top-level mapping of a `.toml`, `.yaml` or `.yml` settings file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        try:
            data: object = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: not valid TOML: {exc}") from exc
    elif path.suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise SettingsError(f"{path}: not valid YAML: {exc}") from exc
    else:
        raise SettingsError(f"{path}: expected a .toml, .yaml or .yml file, got {path.suffix!r}")
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return data


def env_overrides(env: Mapping[str, str]) -> dict[str, str]:
    """`TRACEGATE_DATABASE_URL=...` -> `{"database_url": "..."}` for every known field."""
    known = set(Settings.model_fields)
    found: dict[str, str] = {}
    for key, value in env.items():
        if key.startswith(ENV_PREFIX) and key != CONFIG_ENV:
            name = key[len(ENV_PREFIX) :].lower()
            if name in known:
                found[name] = value
    return found


def load_settings(
    *, env: Mapping[str, str] | None = None, file: Path | None = None, **overrides: Any
) -> Settings:
    """Settings from defaults, then `file` (or `$TRACEGATE_CONFIG`), then `env`, then overrides.

    >>> load_settings(env={"TRACEGATE_TOPIC_PREFIX": "plant/v1"}).topic_prefix
    'plant/v1'
    """
    environ = os.environ if env is None else env
    values: dict[str, Any] = {}
    source = "defaults"
    path = file or (Path(environ[CONFIG_ENV]) if environ.get(CONFIG_ENV) else None)
    if path is not None:
        values.update(read_settings_file(path))
        source = str(path)
    from_env = env_overrides(environ)
    values.update(from_env)
    values.update(overrides)
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"])
            origin = f"${ENV_PREFIX}{key.upper()}" if key in from_env else source
            problems.append(f"{origin}: {key}: {error['msg']} (got {error.get('input')!r})")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from exc
