"""The broker credentials file: `username=` and `password=` lines.

Format (UTF-8; blank lines and lines starting with '#' are ignored; no quoting, the value is
everything after the first '=' with surrounding whitespace stripped)::

    # /etc/tracegate/mqtt-credentials, mode 0600, owned by the agent's user
    username=line1-sealing
    password=s3cret=with=equals

Both keys are required, each once. The file is kept out of the device config so the config
can be versioned and shared while the secret stays on the device.
"""

from __future__ import annotations

import logging
import stat
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CredentialsError", "MqttCredentials", "load_credentials"]

log = logging.getLogger("edge.publish")

_KEYS = ("username", "password")


class CredentialsError(ValueError):
    """A credentials file that cannot be read or does not follow the format."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True, slots=True)
class MqttCredentials:
    username: str
    password: str = field(repr=False)


def load_credentials(path: Path) -> MqttCredentials:
    """Read and check a credentials file; warn when others may read it."""
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialsError(path, None, f"cannot read the credentials file: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("MQTT credentials file %s is readable by others (mode %o)", path, mode & 0o777)
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep:
            # Never echo what may be a bare password into a log: give only the line's length.
            raise CredentialsError(
                path, number, f"expected 'key=value', got a line of {len(line)} characters"
            )
        if key not in _KEYS:
            raise CredentialsError(
                path, number, f"unknown key {key!r}, expected 'username' or 'password'"
            )
        if key in values:
            raise CredentialsError(path, number, f"{key!r} given twice")
        values[key] = value.strip()
    for key in _KEYS:
        if key not in values:
            raise CredentialsError(path, None, f"missing '{key}=' line")
    if not values["username"]:
        raise CredentialsError(path, None, "username is empty")
    return MqttCredentials(username=values["username"], password=values["password"])
