"""UUIDv7 ids: RFC 9562 layout, strictly increasing within a process, readable timestamps."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import pytest

from protocols import ids
from protocols.ids import Uuid7Generator, uuid7, uuid7_time

# 2024-05-01T12:00:00Z
T0_NS = 1_714_564_800_000_000_000


class FakeClock:
    """A clock the test moves by hand, in nanoseconds since the epoch."""

    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns

    def __call__(self) -> int:
        return self.now_ns


def test_version_and_variant_bits() -> None:
    for _ in range(1000):
        value = uuid7()
        assert value.version == 7
        assert value.variant == uuid.RFC_4122
        assert (value.int >> 76) & 0xF == 7
        assert (value.int >> 62) & 0b11 == 0b10


def test_ten_thousand_ids_strictly_increase() -> None:
    values = [uuid7() for _ in range(10_000)]
    assert values == sorted(values)
    assert len(set(values)) == len(values)
    # Text and bytes sort the same way, so databases indexing either keep the order.
    assert [str(v) for v in values] == sorted(str(v) for v in values)
    assert [v.bytes for v in values] == sorted(v.bytes for v in values)


def test_time_extraction_matches_the_clock() -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(milliseconds=1)
    value = uuid7()
    after = dt.datetime.now(dt.UTC) + dt.timedelta(milliseconds=1)
    assert before <= uuid7_time(value) <= after
    assert uuid7_time(value).tzinfo is dt.UTC


def test_time_extraction_with_a_pinned_clock() -> None:
    generate = Uuid7Generator(clock_ns=FakeClock(T0_NS + 123_456_789))
    assert uuid7_time(generate()) == dt.datetime(2024, 5, 1, 12, 0, 0, 123_000, tzinfo=dt.UTC)


def test_rfc_9562_test_vector() -> None:
    value = uuid.UUID("017F22E2-79B0-7CC3-98C4-DC0C0C07398F")
    assert uuid7_time(value) == dt.datetime(2022, 2, 22, 19, 22, 22, tzinfo=dt.UTC)


def test_clock_standing_still_still_increases() -> None:
    generate = Uuid7Generator(clock_ns=FakeClock(T0_NS))
    values = [generate() for _ in range(1000)]
    assert values == sorted(values) and len(set(values)) == 1000
    assert {uuid7_time(v) for v in values} == {dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)}


def test_clock_stepping_back_keeps_order_and_time() -> None:
    clock = FakeClock(T0_NS)
    generate = Uuid7Generator(clock_ns=clock)
    first = generate()
    clock.now_ns -= 5_000_000_000  # an NTP step back by 5 s
    second = generate()
    assert second > first
    assert uuid7_time(second) == uuid7_time(first)
    clock.now_ns = T0_NS + 1_000_000
    third = generate()
    assert third > second
    assert uuid7_time(third) == uuid7_time(first) + dt.timedelta(milliseconds=1)


def test_counter_overflow_moves_to_the_next_millisecond(monkeypatch: pytest.MonkeyPatch) -> None:
    # A fresh counter leaves 2**41 increments; start it at the top to reach the overflow.
    monkeypatch.setattr(ids, "_fresh_counter", lambda: ids._MAX_COUNTER)
    generate = Uuid7Generator(clock_ns=FakeClock(T0_NS))
    first, second = generate(), generate()
    assert second > first
    assert uuid7_time(second) - uuid7_time(first) == dt.timedelta(milliseconds=1)


def test_threads_never_share_an_id() -> None:
    results: list[list[uuid.UUID]] = [[] for _ in range(4)]

    def work(out: list[uuid.UUID]) -> None:
        out.extend(uuid7() for _ in range(2500))

    threads = [threading.Thread(target=work, args=(out,)) for out in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    merged = [value for out in results for value in out]
    assert len(set(merged)) == 10_000
    for out in results:
        assert out == sorted(out)


def test_uuid7_time_rejects_other_versions() -> None:
    value = uuid.UUID("6f1c5d0e-2b4a-4c59-9f57-3b1f8e2d7a10")
    with pytest.raises(ValueError) as caught:
        uuid7_time(value)
    assert str(caught.value) == (
        "Invalid UUIDv7 6f1c5d0e-2b4a-4c59-9f57-3b1f8e2d7a10: expected version 7 with the "
        "RFC 9562 variant, got version 4 (specified in RFC 4122)"
    )


def test_the_default_generator_follows_the_wall_clock() -> None:
    now_ms = time.time_ns() // 1_000_000
    assert abs((uuid7().int >> 80) - now_ms) < 1000
