"""UUIDv7 identifiers (RFC 9562), monotonic within a process.

Python 3.11 has no `uuid.uuid7`. The layout follows RFC 9562 section 6.2, method 1 (a dedicated
counter), as CPython 3.14 does: 48 bits of Unix milliseconds, then a 42-bit counter spread over
`rand_a` (12 bits) and the top of `rand_b` (30 bits), then 32 random bits. The counter starts at a
random value with its top bit clear each new millisecond, so ids from one process sort in the
order they were made, and ids from different devices still collide only by chance (74 random
bits per millisecond).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid
from collections.abc import Callable

__all__ = ["Uuid7Generator", "uuid7", "uuid7_time"]

_MAX_COUNTER = (1 << 42) - 1
_MAX_TIMESTAMP_MS = (1 << 48) - 1
_VERSION_7_FLAGS = (7 << 76) | (0b10 << 62)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class Uuid7Generator:
    """Makes UUIDv7 values that strictly increase, even when the clock stands still or steps back.

    `clock_ns` returns nanoseconds since the Unix epoch (`time.time_ns` by default); tests pass
    their own clock to pin the time.
    """

    def __init__(self, *, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._clock_ns = clock_ns
        self._lock = threading.Lock()
        self._last_ms = -1
        self._counter = 0

    def __call__(self) -> uuid.UUID:
        """Return the next UUIDv7."""
        with self._lock:
            now_ms = self._clock_ns() // 1_000_000
            if now_ms > self._last_ms:
                self._last_ms = now_ms
                self._counter = _fresh_counter()
            else:
                # The clock stood still or went back (NTP step): keep counting from the last
                # millisecond handed out, so ids keep sorting in the order they were made.
                self._counter += 1
                if self._counter > _MAX_COUNTER:
                    self._last_ms += 1
                    self._counter = _fresh_counter()
            if self._last_ms > _MAX_TIMESTAMP_MS:
                raise OverflowError(f"UUIDv7 timestamp {self._last_ms} ms does not fit in 48 bits")
            timestamp_ms = self._last_ms
            counter = self._counter
        tail = int.from_bytes(os.urandom(4), "big")
        value = (
            (timestamp_ms << 80)
            | ((counter >> 30) << 64)
            | ((counter & 0x3FFF_FFFF) << 32)
            | tail
            | _VERSION_7_FLAGS
        )
        return uuid.UUID(int=value)


def _fresh_counter() -> int:
    # Top bit clear leaves at least 2**41 increments before the counter overflows.
    return int.from_bytes(os.urandom(6), "big") & ((1 << 41) - 1)


_default_generator = Uuid7Generator()


def uuid7() -> uuid.UUID:
    """Return a new UUIDv7, greater than every UUIDv7 this process returned before.

    >>> u = uuid7()
    >>> (u.version, u.variant == uuid.RFC_4122)
    (7, True)
    >>> uuid7() > u
    True
    """
    return _default_generator()


def uuid7_time(value: uuid.UUID) -> dt.datetime:
    """The UTC millisecond timestamp embedded in a UUIDv7.

    The example is RFC 9562's test vector (2022-02-22 14:22:22 at UTC-5):

    >>> uuid7_time(uuid.UUID("017f22e2-79b0-7cc3-98c4-dc0c0c07398f"))
    datetime.datetime(2022, 2, 22, 19, 22, 22, tzinfo=datetime.timezone.utc)
    """
    if value.version != 7 or value.variant != uuid.RFC_4122:
        raise ValueError(
            f"Invalid UUIDv7 {value}: expected version 7 with the RFC 9562 variant, "
            f"got version {value.version} ({value.variant})"
        )
    timestamp_ms = value.int >> 80
    return _EPOCH + dt.timedelta(milliseconds=timestamp_ms)
