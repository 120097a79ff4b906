"""Who made a request: a user (by token) or a device (by its credential)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cloud.domain.audit.context import Actor


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["user", "device"]
    name: str
    """The username, or the device id."""
    roles: frozenset[str]
    full_name: str = ""
    user_id: int | None = None
    token_id: int | None = None
    """The API token (users) or credential (devices) the request came with."""

    def actor(self, *, request: str = "", reason: str = "") -> Actor:
        return Actor(name=self.name, kind=self.kind, request=request, reason=reason)
