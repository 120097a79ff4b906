"""TLS settings for the broker connection: a CA to trust and an optional client certificate."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MqttTls", "TlsConfigError"]


class TlsConfigError(ValueError):
    """A CA, certificate or key file that cannot be loaded."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttTls:
    """Server verification against `ca_file` (the system's CAs when None); client
    authentication with `cert_file`/`key_file`.

    The broker's certificate must name the host the agent connects to (hostname check on).
    """

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    def context(self) -> ssl.SSLContext:
        """Build the SSL context, naming the file that failed to load."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.ca_file is not None:
            try:
                context.load_verify_locations(cafile=self.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise TlsConfigError(f"Cannot load the MQTT CA file {self.ca_file}: {exc}") from exc
        if self.cert_file is not None:
            try:
                context.load_cert_chain(self.cert_file, self.key_file)
            except (OSError, ssl.SSLError) as exc:
                key = f" with key {self.key_file}" if self.key_file else ""
                raise TlsConfigError(
                    f"Cannot load the MQTT client certificate {self.cert_file}{key}: {exc}"
                ) from exc
        elif self.key_file is not None:
            raise TlsConfigError(f"MQTT key_file {self.key_file} given without a cert_file")
        return context
