"""The broker credentials file, in one of two forms.

Key-value form (blank lines and lines starting with '#' ignored; the value is everything after
the first '=', surrounding whitespace stripped; both keys required, each once)::

    # /etc/tracegate/mqtt-credentials, mode 0600, owned by the agent's user
    username=line1-sealing
    password=s3cret=with=equals

Two-line form (as the device config documents it): the first line is the username, the second
the password, taken exactly (only the line ending removed), nothing else in the file::

    line1-sealing
    s3cret=with=equals

A file whose lines start with `username=` / `password=` is read in the key-value form. The file
is kept out of the device config so the config can be versioned and shared while the secret
stays on the device.
"""

from __future__ import annotations

import logging
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CredentialsError", "MqttCredentials", "load_credentials"]

log = logging.getLogger("edge.publish")

_KEYS = ("username", "password")
_KEY_VALUE = re.compile(r"^\s*(username|password)\s*=")


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
    lines = text.splitlines()
    if any(_KEY_VALUE.match(line) for line in lines):
        return _key_value_form(path, lines)
    return _two_line_form(path, lines)


def _key_value_form(path: Path, lines: list[str]) -> MqttCredentials:
    values: dict[str, str] = {}
    for number, raw in enumerate(lines, start=1):
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


def _two_line_form(path: Path, lines: list[str]) -> MqttCredentials:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if len(lines) != 2:
        raise CredentialsError(
            path,
            None,
            "expected 'username=' and 'password=' lines, or exactly two lines (username, "
            f"then password), got {len(lines)} line{'' if len(lines) == 1 else 's'}",
        )
    username, password = lines
    if not username.strip():
        raise CredentialsError(path, 1, "username is empty")
    return MqttCredentials(username=username.strip(), password=password)
