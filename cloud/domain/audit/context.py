"""Who is acting: set per request by the auth middleware, read by the audit capture.

A context variable, so every session a service opens while serving the request
writes its audit rows in the caller's name without the services passing it on.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

ActorKind = Literal["user", "device", "system"]


@dataclass(frozen=True, slots=True)
class Actor:
    """The person, device or system process on whose behalf records change."""

    name: str
    """A username, a device id, or `system:<process>`."""
    kind: ActorKind
    request: str = ""
    """`METHOD /path` of the API call, or the CLI command, that made the change."""
    reason: str = ""
    """Why, when the caller said so (the `X-Reason` header)."""


_current: contextvars.ContextVar[Actor | None] = contextvars.ContextVar(
    "tracegate_actor", default=None
)


def current_actor() -> Actor | None:
    return _current.get()


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Record every audited change inside the block in `actor`'s name."""
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)
