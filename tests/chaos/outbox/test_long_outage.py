"""The broker unreachable while 100,000 events are buffered, then back: all delivered.

TRACEGATE_OUTAGE_EVENTS sets another count (the figure of record is 100,000; bench/outbox.py
measures the commit cost at 1k and 1M stored events).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from outbox_helpers import (
    Collector,
    OwnBroker,
    make_event,
    publisher_options,
    verify_chain,
    wait_until,
)

from edge.outbox import Outbox
from edge.publish import Publisher

pytestmark = pytest.mark.mosquitto

DEVICE = "dev-outage"
CHUNK = 1000


async def test_100k_events_buffered_during_an_outage_are_all_delivered(
    tmp_path: Path, prefix: str
) -> None:
    count = int(os.environ.get("TRACEGATE_OUTAGE_EVENTS", "100000"))
    broker = OwnBroker(tmp_path / "broker")
    broker.start()
    collector = Collector(port=broker.port, topic_filter=f"{prefix}/#")  # session kept
    broker.stop()
    outbox = await Outbox.open(
        tmp_path / "outbox.db",
        device_id=DEVICE,
        max_bytes=2_000_000_000,
        max_age_s=24 * 3600,
        topic_prefix=prefix,
    )
    chunk_s: list[float] = []
    try:
        async with Publisher(outbox, **publisher_options(broker.port, prefix)) as publisher:
            for start in range(0, count, CHUNK):
                began = time.perf_counter()
                await asyncio.gather(
                    *(outbox.commit(make_event(DEVICE, n)) for n in range(start, start + CHUNK))
                )
                chunk_s.append(time.perf_counter() - began)
            buffered = outbox.metrics()
            down = publisher.status()
            broker.start()
            await wait_until(lambda: outbox.metrics().depth == 0, timeout_s=120, what="drain")
        received = await asyncio.to_thread(collector.wait_for_events, count, timeout_s=60)
    finally:
        collector.close()
        await outbox.close()
        broker.stop()

    assert down.state == "disconnected" and down.published_total == 0
    assert buffered.depth == count and buffered.last_seq == count
    verify_chain(received)
    # Reported, not asserted (timing belongs in bench/): the cost of a chunk of commits
    # at the start and at the end of the outage.
    print(
        f"\n{count} events buffered; {CHUNK} concurrent commits took "
        f"{chunk_s[0] * 1000:.0f} ms first, {chunk_s[-1] * 1000:.0f} ms last"
    )
